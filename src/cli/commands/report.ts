import type { Command } from 'commander';
import type pg from 'pg';
import { pgFailureToError } from '../../sink/errors.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom, positiveInt, SINK_KEYS } from '../options.js';
import { safeJson } from '../escape.js';
import { formatTable } from '../output.js';
import { formatCount } from '../../format.js';

export interface Report {
  totals: { rows: number; users: number; ips: number; devices: number };
  byDeviceType: Record<string, unknown>[];
  byLocale: Record<string, unknown>[];
  sharedIps: Record<string, unknown>[];
  sharedDevices: Record<string, unknown>[];
}

/** The analyst report: totals, then the duplicate views created by init-db. */
export async function buildReport(db: pg.Pool, limit: number): Promise<Report> {
  const q = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as Record<string, unknown>[];
  const [totals] = await q(
    `SELECT pg_catalog.count(*)::int AS rows, pg_catalog.count(DISTINCT user_id)::int AS users, pg_catalog.count(DISTINCT masked_ip)::int AS ips,
            pg_catalog.count(DISTINCT masked_device_id)::int AS devices FROM user_logins`,
  );
  return {
    totals: totals as Report['totals'],
    byDeviceType: await q(`SELECT coalesce(device_type, '(null)') AS device_type, pg_catalog.count(*)::int AS logins, pg_catalog.count(DISTINCT user_id)::int AS users
                             FROM user_logins GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1`, [limit]),
    byLocale: await q(`SELECT coalesce(locale, '(null)') AS locale, pg_catalog.count(*)::int AS logins, pg_catalog.count(DISTINCT user_id)::int AS users
                         FROM user_logins GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1`, [limit]),
    // Counts as numbers (the views' bigint would come back as strings), dates as the text PostgreSQL holds
    // (node-postgres would make a date midnight in the process's time zone: a day off east of UTC). Whatever the DateStyle.
    sharedIps: await q(`SELECT masked_ip, users::int, devices::int, logins::int, pg_catalog.to_char(first_seen, 'YYYY-MM-DD') AS first_seen, pg_catalog.to_char(last_seen, 'YYYY-MM-DD') AS last_seen, latest_app_version
                          FROM login_etl_shared_ips ORDER BY users DESC, logins DESC, masked_ip LIMIT $1`, [limit]),
    sharedDevices: await q(`SELECT masked_device_id, users::int, ips::int, logins::int, pg_catalog.to_char(first_seen, 'YYYY-MM-DD') AS first_seen, pg_catalog.to_char(last_seen, 'YYYY-MM-DD') AS last_seen, latest_app_version
                              FROM login_etl_shared_devices ORDER BY users DESC, ips DESC, masked_device_id LIMIT $1`, [limit]),
  };
}

export function formatReport(r: Report): string {
  const t = r.totals;
  const section = (title: string, rows: Record<string, unknown>[]) => `${title}\n${rows.length ? formatTable(rows) : '(none)'}\n`;
  return [
    `user_logins: ${formatCount(t.rows)} rows, ${formatCount(t.users)} users, ${formatCount(t.ips)} distinct masked ips, ${formatCount(t.devices)} distinct masked devices\n`,
    section('By device type', r.byDeviceType),
    section('By locale', r.byLocale),
    section('Masked IPs shared by several users (login_etl_shared_ips)', r.sharedIps),
    section('Devices with several users or ≥ 3 IPs (login_etl_shared_devices)', r.sharedDevices),
  ].join('\n');
}

export function reportCommand(program: Command): void {
  const cmd = program
    .command('report')
    .description('Print totals by device type and locale, and the groups of repeated masked ips and devices.')
    .option('--limit <n>', 'rows per table (up to 1,000)', positiveInt(1000), 20)
    .option('--json', 'print the report as JSON');
  addSettingOptions(cmd, [...SINK_KEYS, 'logLevel']);
  cmd.action(async (opts: { limit: number; json?: boolean }) => {
    const ctx = createContext(configFrom(cmd));
    try {
      const report = await buildReport(ctx.pool(1), opts.limit).catch((err: unknown) => {
        throw pgFailureToError(err, ctx.pgTarget);
      });
      process.stdout.write(opts.json ? `${safeJson(report)}\n` : formatReport(report));
    } finally {
      await ctx.close();
    }
  });
}
