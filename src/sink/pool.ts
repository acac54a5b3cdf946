import pg from 'pg';
import { clientOptions, type PgConnection } from './connection.js';

export interface PoolSettings {
  connection: PgConnection;
  max: number;
  applicationName?: string;
}

export function createPool(s: PoolSettings): pg.Pool {
  const pool = new pg.Pool(
    clientOptions(s.connection, {
      max: s.max,
      application_name: s.applicationName ?? 'login-etl',
      connectionTimeoutMillis: s.connection.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      // TCP keep-alive: a server host that vanishes (a partition, a crashed node) fails the write in about
      // 20 s (10 s idle, then libuv's 10 probes 1 s apart), and the pipeline retries; without it a write
      // would wait forever. A live server that is merely slow or holds a lock answers the probes.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    }),
  );
  // An idle client losing its connection (e.g. a server restart) must not crash the process;
  // the next query reports the failure and the pipeline retries.
  pool.on('error', () => {});
  // A client in use whose socket is reset emits 'error' twice (the reset, then the unexpected end), and
  // pool.query listens once: the second would crash the process. The failure still reaches the query.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export interface PoolFit {
  /** Connections the pool may now open. */
  max: number;
  /** One line saying why the pool was made smaller, when it was. */
  note?: string;
}

interface Limits {
  super: boolean;
  role_limit: number;
  role_used: number;
  db_limit: number;
  db_used: number;
}

/**
 * Sizes the pool to the connections the server grants this role and database (CONNECTION LIMIT, counting
 * the connections already open elsewhere), so a pool larger than the grant does not wait on connections
 * that will never come. Uses one connection of the pool. Superusers are not limited.
 */
export async function fitPoolToServer(pool: pg.Pool, who: { user: string; database: string }): Promise<PoolFit> {
  const wanted = pool.options.max ?? 10;
  const { rows } = await pool.query<Limits>(
    `SELECT r.rolsuper AS super, r.rolconnlimit AS role_limit, d.datconnlimit AS db_limit,
            (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
              WHERE a.usename OPERATOR(pg_catalog.=) r.rolname AND a.backend_type OPERATOR(pg_catalog.=) 'client backend')::int AS role_used,
            (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
              WHERE a.datname OPERATOR(pg_catalog.=) d.datname AND a.backend_type OPERATOR(pg_catalog.=) 'client backend')::int AS db_used
       FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
      WHERE r.rolname OPERATOR(pg_catalog.=) SESSION_USER AND d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()`,
  );
  const l = rows[0];
  if (!l || l.super) return { max: wanted };
  // Our own connection is among those counted, and stays available to us.
  const room = (limit: number, used: number) => (limit < 0 ? Infinity : limit - used + 1);
  const roleRoom = room(l.role_limit, l.role_used);
  const dbRoom = room(l.db_limit, l.db_used);
  const fit = Math.max(1, Math.min(wanted, roleRoom, dbRoom));
  if (fit >= wanted) return { max: wanted };
  pool.options.max = fit;
  const why =
    roleRoom <= dbRoom
      ? `user "${who.user}" may open ${l.role_limit} connection${l.role_limit === 1 ? '' : 's'} (CONNECTION LIMIT ${l.role_limit}, ${l.role_used - 1} open elsewhere)`
      : `database "${who.database}" accepts ${l.db_limit} connection${l.db_limit === 1 ? '' : 's'} (CONNECTION LIMIT ${l.db_limit}, ${l.db_used - 1} open elsewhere)`;
  return { max: fit, note: `PostgreSQL: ${why}; using ${fit} connection${fit === 1 ? '' : 's'} instead of ${wanted}` };
}
