import type pg from 'pg';

/**
 * Why this application's sessions are waiting, when it is a lock: "waiting for a lock held by session pid 4242".
 * Asked only when a connection is free (it never queues behind the blocked writes) and given one second.
 * Our own sessions are visible to us in pg_stat_activity without extra privileges.
 */
export async function lockWaits(pool: pg.Pool): Promise<string | undefined> {
  const max = pool.options.max ?? 10;
  if (pool.idleCount === 0 && pool.totalCount >= max) return undefined;
  const { rows } = await pool.query<{ blockers: number[] | null }>({
    text: `SELECT pg_catalog.pg_blocking_pids(a.pid) AS blockers
             FROM pg_catalog.pg_stat_activity a
            WHERE a.application_name OPERATOR(pg_catalog.=) pg_catalog.current_setting('application_name')
              AND a.usename OPERATOR(pg_catalog.=) SESSION_USER
              AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
              AND a.wait_event_type OPERATOR(pg_catalog.=) 'Lock'`,
    query_timeout: 1000,
  } as pg.QueryConfig);
  const blockers = [...new Set(rows.flatMap((r) => r.blockers ?? []))].sort((a, b) => a - b);
  if (rows.length === 0) return undefined;
  const who = blockers.length === 0 ? 'another session' : `session${blockers.length === 1 ? '' : 's'} pid ${blockers.join(', ')}`;
  return `it waits for a lock held by ${who} (pg_stat_activity shows what it runs; a LOCK TABLE, a long transaction or a schema change)`;
}
