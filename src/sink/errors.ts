import { ConfigError } from '../config/errors.js';

/**
 * How a Postgres failure is handled, decided by SQLSTATE class (never message text):
 * - transient: connection lost, server restarting, overloaded, deadlock → back off and retry the batch;
 * - data: the server refused a value (classes 22, 23) → split the batch to isolate the row;
 * - config: bad credentials, missing database/table, missing privilege → the user must fix it;
 * - fatal: anything else (a bug) → stop.
 */
export type PgFailure = 'transient' | 'data' | 'config' | 'fatal';

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const SQLSTATE = /^[0-9A-Z]{5}$/;

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE.test(code) && !NET_CODES.has(code) ? code : undefined;
}

export function classifyPgError(err: unknown): PgFailure {
  const state = sqlState(err);
  if (state === undefined) {
    // No SQLSTATE: a socket error or a dropped connection, unless it is a programming error.
    return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError ? 'fatal' : 'transient';
  }
  const cls = state.slice(0, 2);
  if (cls === '08' || cls === '53' || cls === '40' || cls === '58' || state === '57P01' || state === '57P02' || state === '57P03' || state === '57014' || state === '55P03') return 'transient';
  if (cls === '22' || cls === '23') return 'data';
  if (cls === '28' || cls === '3D' || cls === '42' || cls === '3F') return 'config';
  return 'fatal';
}

/** user@host:port/db, never the password. */
export interface PgTarget { user: string; host: string; port: number; database: string }
export const targetText = (t: PgTarget): string => `${t.user}@${t.host}:${t.port}/${t.database}`;

/** One user-facing line for a Postgres failure; never includes the password or row values. */
export function describePgError(err: unknown, target: PgTarget): string {
  const state = sqlState(err);
  const where = targetText(target);
  switch (state) {
    case '28P01':
      return `PostgreSQL rejected the password for user "${target.user}" at ${where}; check DATABASE_URL or PGPASSWORD`;
    case '28000':
      return `PostgreSQL refused user "${target.user}" at ${where} (no such role or no pg_hba.conf entry)`;
    case '3D000':
      return `database "${target.database}" does not exist at ${where}; check DATABASE_URL`;
    case '42P01':
      return `a table or view is missing at ${where}; run \`login-etl init-db\``;
    case '42501':
      return `user "${target.user}" lacks a privilege at ${where}; apply sql/roles.sql or use the table owner`;
    case undefined: {
      const code = (err as { code?: string } | null)?.code;
      if (code && NET_CODES.has(code)) return `cannot reach PostgreSQL at ${where} (${code}); is it running? Check DATABASE_URL`;
      const msg = err instanceof Error ? err.message : String(err);
      return `PostgreSQL at ${where}: ${msg}`;
    }
    default: {
      const e = err as { message?: string; constraint?: string };
      return `PostgreSQL at ${where} failed with SQLSTATE ${state}${e.constraint ? ` (constraint ${e.constraint})` : ''}: ${e.message ?? ''}`;
    }
  }
}

/** Wraps a failure the user can fix as a ConfigError (exit 2); others pass through. */
export function pgFailureToError(err: unknown, target: PgTarget): Error {
  if (classifyPgError(err) === 'config') return new ConfigError(describePgError(err, target), 'DATABASE_URL', { cause: err });
  return new Error(describePgError(err, target), { cause: err });
}
