import pg from 'pg';
import { parse, type ConnectionOptions } from 'pg-connection-string';
import type { Env } from '../config/load.js';
import { REFERENCE_DATABASE_URL } from '../config/spec.js';
import type { PgTarget } from './errors.js';

const PG_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'];

/** DATABASE_URL if set; else undefined when any PG* variable is set (pg reads them); else the reference URL. */
export function resolveDatabaseUrl(databaseUrl: string | undefined, env: Env = process.env): string | undefined {
  if (databaseUrl) return databaseUrl;
  return PG_VARS.some((v) => env[v]) ? undefined : REFERENCE_DATABASE_URL;
}

/** Who and where we connect to, for messages: never the password. */
export function pgTarget(url: string | undefined, env: Env = process.env): PgTarget {
  const p: Partial<ConnectionOptions> = url ? parse(url) : {};
  return {
    user: p.user ?? env.PGUSER ?? env.USER ?? 'postgres',
    host: p.host ?? env.PGHOST ?? 'localhost',
    port: Number(p.port ?? env.PGPORT ?? 5432),
    database: p.database ?? env.PGDATABASE ?? p.user ?? env.PGUSER ?? 'postgres',
  };
}

export interface PoolSettings {
  url: string | undefined;
  max: number;
  applicationName?: string;
}

export function createPool(s: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    ...(s.url ? { connectionString: s.url } : {}),
    max: s.max,
    application_name: s.applicationName ?? 'login-etl',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (e.g. a server restart) must not crash the process;
  // the next query reports the failure and the pipeline retries.
  pool.on('error', () => {});
  // A client in use whose socket is reset emits 'error' twice (the reset, then the unexpected end), and
  // pool.query listens once: the second would crash the process. The failure still reaches the query.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
