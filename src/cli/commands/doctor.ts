import type { Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { openKeyring, type KeyringReport } from '../../masking/keyring.js';
import { createMasker } from '../../masking/masker.js';
import { describePgError } from '../../sink/errors.js';
import { checkSchema, LEDGER, TABLE } from '../../sink/schema.js';
import { describeSqsError } from '../../source/errors.js';
import { queueDepth } from '../../source/queue.js';
import { createContext, type AppContext } from '../context.js';
import { addSettingOptions, configFrom, PIPELINE_KEYS } from '../options.js';
import { formatTable } from '../output.js';

interface Check {
  check: string;
  result: 'pass' | 'FAIL' | 'skip';
  detail: string;
}

/**
 * The keyring: where it comes from and, for a KMS keyring, one row per version saying whether kms:Decrypt
 * unwrapped it, or why not. Never a key. File-mode warnings show in the detail.
 */
async function keyChecks(ctx: AppContext): Promise<Check[]> {
  const { config: c } = ctx;
  const warnings: string[] = [];
  let report: KeyringReport;
  try {
    report = await openKeyring(c, { warn: (w) => warnings.push(w), env: ctx.env });
  } catch (err) {
    return [{ check: 'masking key', result: 'FAIL', detail: err instanceof Error ? err.message : String(err) }];
  }
  const kms = report.kmsKeyId ? ` (KMS ${report.kmsKeyId})` : '';
  const rows: Check[] = report.kmsKeyId
    ? report.versions.map((v) => ({ check: `key version ${v.version}`, result: v.ok ? 'pass' : 'FAIL', detail: v.detail }))
    : [];
  const failed = report.versions.filter((v) => !v.ok).length;
  if (!report.keyring) {
    return [{ check: 'masking key', result: 'FAIL', detail: `${report.where}${kms}: ${failed} of ${report.versions.length} key versions could not be unwrapped` }, ...rows];
  }
  try {
    createMasker(report.keyring, c.piiMaskMode, { context: c.piiContext }).mask('ip', '192.0.2.1');
  } catch (err) {
    return [{ check: 'masking key', result: 'FAIL', detail: err instanceof Error ? err.message : String(err) }, ...rows];
  }
  const detail = `${report.where}${kms}: ${report.versions.length} key version(s), primary v${report.primary}, mode ${c.piiMaskMode}${c.piiContext ? `, PII_CONTEXT ${JSON.stringify(c.piiContext)}` : ''}`;
  return [{ check: 'masking key', result: 'pass', detail: `${detail}${warnings.length ? `; warning: ${warnings.join('; ')}` : ''}` }, ...rows];
}

async function runChecks(ctx: AppContext): Promise<Check[]> {
  const { config: c } = ctx;
  const checks: Check[] = [];
  const attempt = async (name: string, fn: () => Promise<string>, describe: (err: unknown) => string) => {
    try {
      checks.push({ check: name, result: 'pass', detail: await fn() });
      return true;
    } catch (err) {
      checks.push({ check: name, result: 'FAIL', detail: describe(err) });
      return false;
    }
  };
  checks.push(...(await keyChecks(ctx)));
  await attempt('SQS source queue', async () => {
    const d = await queueDepth(ctx.sqs(), c.queueUrl);
    return `${c.queueUrl}: ~${d.visible} visible, ~${d.inFlight} in flight`;
  }, (e) => describeSqsError(e, c.queueUrl));
  if (c.dlqUrl) {
    const dlq = c.dlqUrl;
    await attempt('SQS dead-letter queue', async () => `${dlq}: ~${(await queueDepth(ctx.sqs(), dlq)).visible} messages`, (e) => describeSqsError(e, dlq));
  } else {
    checks.push({ check: 'SQS dead-letter queue', result: 'skip', detail: 'SQS_DLQ_URL not set: rejects stay on the source queue' });
  }
  const pgOk = await attempt('PostgreSQL connection', async () => {
    const { rows } = await ctx.pool(1).query<{ v: string; ssl: boolean | null }>(
      `SELECT current_setting('server_version') AS v, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
    );
    return `${ctx.pgTarget.user}@${ctx.pgTarget.host}:${ctx.pgTarget.port}/${ctx.pgTarget.database}, PostgreSQL ${rows[0]?.v ?? '?'}, TLS ${rows[0]?.ssl ? 'on' : 'off'}`;
  }, (e) => describePgError(e, ctx.pgTarget));
  if (!pgOk) return checks;
  await attempt('schema', async () => {
    await checkSchema(ctx.pool(1));
    return `${TABLE} and ${LEDGER} have the expected columns`;
  }, (e) => (e instanceof ConfigError ? e.message : describePgError(e, ctx.pgTarget)));
  await attempt('privileges', async () => {
    const { rows } = await ctx.pool(1).query<{ ok: boolean; what: string }>(
      `SELECT has_table_privilege(to_regclass($1), p) AS ok, $1 || ' ' || p AS what FROM unnest(ARRAY['INSERT']) AS p
       UNION ALL
       SELECT has_table_privilege(to_regclass($2), p), $2 || ' ' || p FROM unnest(ARRAY['SELECT', 'INSERT', 'DELETE']) AS p`,
      [TABLE, LEDGER],
    );
    const missing = rows.filter((r) => !r.ok).map((r) => r.what);
    if (missing.length) throw new Error(`missing: ${missing.join(', ')} (see sql/roles.sql)`);
    return `INSERT on ${TABLE}; SELECT, INSERT, DELETE on ${LEDGER}`;
  }, (e) => (e instanceof Error && e.message.startsWith('missing') ? e.message : describePgError(e, ctx.pgTarget)));
  return checks;
}

export function doctorCommand(program: Command): void {
  const cmd = program
    .command('doctor')
    .description('Check configuration, key, SQS, PostgreSQL, schema and privileges; print a pass/fail table (exit 1 on any failure).');
  addSettingOptions(cmd, PIPELINE_KEYS);
  cmd.action(async () => {
    const ctx = createContext(configFrom(cmd));
    try {
      const checks = await runChecks(ctx);
      process.stdout.write(`${formatTable(checks as unknown as Record<string, unknown>[])}\n`);
      if (checks.some((c) => c.result === 'FAIL')) process.exitCode = 1;
    } finally {
      await ctx.close();
    }
  });
}
