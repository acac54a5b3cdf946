import { ConfigError } from '../config/errors.js';
import { LoginEtlError } from '../errors.js';

/**
 * How a Postgres failure is handled, decided by SQLSTATE class (never message text):
 * - transient: connection lost, server restarting, overloaded, read-only after a failover, deadlock → back off,
 *   reconnect and retry the batch (pg-pool discards a connection whose query failed);
 * - data: the server refused a value (classes 22, 23) → split the batch to isolate the row;
 * - config: bad credentials, missing database/table, missing privilege, a TLS certificate we cannot verify →
 *   the user must fix it;
 * - fatal: anything else (a bug) → stop.
 */
export type PgFailure = 'transient' | 'data' | 'config' | 'fatal';

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const SQLSTATE = /^[0-9A-Z]{5}$/;
/** Node's and OpenSSL's codes for a certificate that failed verification. */
const CERT_CODE = /CERT|ALTNAME|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export function sqlState(err: unknown): string | undefined {
  const code = codeOf(err);
  return code !== undefined && SQLSTATE.test(code) && !NET_CODES.has(code) ? code : undefined;
}

/** A network-level failure code (ECONNREFUSED, …) or a TLS verification code (SELF_SIGNED_CERT_IN_CHAIN, …). */
function errorCode(err: unknown): string | undefined {
  if (err instanceof LoginEtlError) return err.code;
  const code = codeOf(err);
  return code !== undefined && sqlState(err) === undefined && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined;
}

const isCertError = (err: unknown): boolean => CERT_CODE.test(codeOf(err) ?? '');

/**
 * The server answered our TLS request with "no". node-postgres gives this error no code, so this is the one
 * place that reads its message.
 */
const isTlsRefused = (err: unknown): boolean => err instanceof Error && err.message === 'The server does not support SSL connections';

/** SQLSTATEs of the transient kind outside the classes that are transient as a whole. */
// 55000 object_not_in_prerequisite_state: also what a connection gets while the database is closed to them (ALLOW_CONNECTIONS false, maintenance).
const TRANSIENT_STATES = new Set(['25006', '55000', '57P01', '57P02', '57P03', '57014', '55P03']);

export function classifyPgError(err: unknown): PgFailure {
  if (err instanceof LoginEtlError) return err.exitCode === 2 ? 'config' : 'fatal';
  const state = sqlState(err);
  if (state === undefined) {
    if (isCertError(err) || isTlsRefused(err)) return 'config';
    // No SQLSTATE: a socket error or a dropped connection, unless it is a programming error.
    return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError ? 'fatal' : 'transient';
  }
  const cls = state.slice(0, 2);
  // 25006 read_only_sql_transaction: a failover to a replica (or a primary demoted); 53300 too many connections.
  if (cls === '08' || cls === '53' || cls === '40' || cls === '58' || TRANSIENT_STATES.has(state)) return 'transient';
  if (cls === '22' || cls === '23') return 'data';
  if (cls === '28' || cls === '3D' || cls === '42' || cls === '3F') return 'config';
  return 'fatal';
}

/**
 * Log fields for a Postgres failure: `{ sqlstate }` when the server answered with one, else `{ errorCode }`
 * (a network or TLS code such as ECONNREFUSED), else nothing. A SQLSTATE field never holds anything else.
 */
export function pgErrorFields(err: unknown): { sqlstate: string } | { errorCode: string } | Record<string, never> {
  const state = sqlState(err);
  if (state !== undefined) return { sqlstate: state };
  const code = errorCode(err);
  return code !== undefined ? { errorCode: code } : {};
}

/**
 * A low-cardinality metric label for a Postgres failure: the SQLSTATE, else the network/TLS error code,
 * else `connection_lost` (node-postgres reports a dropped connection without a code), else `unknown`.
 */
export function pgErrorLabel(err: unknown): string {
  const state = sqlState(err);
  if (state !== undefined) return state;
  const code = errorCode(err);
  if (code !== undefined) return code;
  if (isTlsRefused(err)) return 'tls_refused';
  const msg = err instanceof Error ? err.message : '';
  // Labels only, never control flow: these pg/pg-pool errors carry no code.
  if (/timeout/i.test(msg)) return 'timeout';
  if (/terminated|ended|closed/i.test(msg)) return 'connection_lost';
  return 'unknown';
}

/** A key for the logger's repeated-warning summary (`repeat` field): `pg:<label>`. */
export const pgRepeatKey = (err: unknown): string => `pg:${pgErrorLabel(err)}`;

/**
 * What is wrong, in a few words and without the target, to fill "PostgreSQL unavailable (…)" in the pause line,
 * /readyz and the like: "read-only (SQLSTATE 25006: a failover to a replica, or DATABASE_URL names a standby)".
 */
export function pgProblem(err: unknown): string {
  const state = sqlState(err);
  switch (state) {
    case '25006':
      return 'read-only (SQLSTATE 25006: a failover to a replica, or DATABASE_URL names a standby)';
    case '53300':
      return 'no connection slot free (SQLSTATE 53300: max_connections or a CONNECTION LIMIT is reached)';
    case '57P01':
    case '57P02':
      return `connection closed by the server (SQLSTATE ${state}: shutting down or restarting)`;
    case '57P03':
      return 'not accepting connections yet (SQLSTATE 57P03: starting up or in recovery)';
    case '55000':
      return 'not in a state to serve this (SQLSTATE 55000: e.g. the database is closed to connections, ALLOW_CONNECTIONS false)';
    case undefined: {
      const code = errorCode(err);
      if (code && NET_CODES.has(code)) return `unreachable (${code})`;
      if (code) return `failed (${code})`;
      const label = pgErrorLabel(err);
      return label === 'connection_lost' ? 'connection lost' : label === 'timeout' ? 'timed out' : 'failed';
    }
    default:
      return `failed (SQLSTATE ${state})`;
  }
}

/** user@host:port/db, never the password. */
export interface PgTarget {
  user: string;
  host: string;
  port: number;
  database: string;
  /** What chose TLS for this connection (`sslmode=require in DATABASE_URL`, `no sslmode, host not loopback`), for messages. */
  tlsReason?: string | undefined;
  /** The CA file the server's certificate was checked against (sslrootcert), for messages. */
  caFile?: string | undefined;
  /** Where the password comes from (`DATABASE_URL`, `PGPASSWORD`, `the password file ~/.pgpass`), for messages. */
  passwordFrom?: string | undefined;
  /** Where the address comes from (`DATABASE_URL`, `--database-url`, `DATABASE_URL_FILE`, `the PG* variables`), for messages. */
  urlFrom?: string | undefined;
}
export const targetText = (t: PgTarget): string => `${t.user}@${t.host}:${t.port}/${t.database}`;

/** One user-facing line for a Postgres failure; never includes the password or row values. */
export function describePgError(err: unknown, target: PgTarget): string {
  if (err instanceof LoginEtlError) return err.message;
  const state = sqlState(err);
  const where = targetText(target);
  const urlFrom = target.urlFrom ?? 'DATABASE_URL';
  switch (state) {
    case '28P01':
      return `PostgreSQL rejected the password for user "${target.user}" at ${where}; check ${target.passwordFrom ?? 'DATABASE_URL or PGPASSWORD'}`;
    case '28000':
      return `PostgreSQL refused user "${target.user}" at ${where} (no such role, no pg_hba.conf entry, or a TLS requirement of the server)`;
    case '3D000':
      return `database "${target.database}" does not exist at ${where}; check ${urlFrom}`;
    case '42P01':
      return `a table or view is missing at ${where}; run \`login-etl init-db\``;
    case '42501': {
      // The server's own words name the object ("permission denied for table user_logins"), never a value.
      const said = (err as { message?: string }).message;
      return `user "${target.user}" lacks a privilege at ${where}${said ? ` (${said})` : ''}: drain and run need INSERT on user_logins and SELECT, INSERT, DELETE on login_etl_ledger, which sql/roles.sql grants to login_etl_writer (apply it again); report reads through login_etl_analyst, which is NOLOGIN: GRANT login_etl_analyst TO <role>; or use the table owner`;
    }
    case '25006':
      return `PostgreSQL at ${where} is read-only (SQLSTATE 25006): a failover to a replica is in progress, or DATABASE_URL names a standby`;
    case '53300':
      return `PostgreSQL at ${where} has no connection slot free (SQLSTATE 53300): the server's max_connections, or a CONNECTION LIMIT on user "${target.user}" or database "${target.database}", is reached`;
    case undefined: {
      const code = codeOf(err);
      if (code && NET_CODES.has(code)) return `cannot reach PostgreSQL at ${where} (${code}); is it running? Check ${urlFrom}`;
      if (isCertError(err)) {
        return code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? `the TLS certificate of PostgreSQL at ${where} does not name "${target.host}" (${code}); connect by a host name the certificate lists, or fix the certificate (docs/operations.md, TLS)`
          : target.caFile
            ? `the TLS certificate of PostgreSQL at ${where} could not be verified (${code}): it does not chain to the CA in sslrootcert ${target.caFile}; point sslrootcert at the CA certificate that signed the server's certificate (docs/operations.md, TLS)`
            : `the TLS certificate of PostgreSQL at ${where} could not be verified (${code}); set sslrootcert (in DATABASE_URL, or PGSSLROOTCERT) to the CA certificate that signed it (docs/operations.md, TLS)`;
      }
      if (isTlsRefused(err)) {
        return `PostgreSQL at ${where} does not accept TLS, which this connection uses (${target.tlsReason ?? 'verified TLS for any host that is not loopback'}); enable ssl on the server, or add sslmode=disable to DATABASE_URL on a network you trust`;
      }
      // A failure of the connection itself, without a SQLSTATE: node-postgres's connect timeout, a dropped connection.
      const msg = err instanceof Error ? err.message : String(err);
      return `PostgreSQL at ${where}: ${msg}; is the server up and reachable there? Check ${urlFrom} (host, port, sslmode)`;
    }
    default: {
      const e = err as { message?: string; constraint?: string };
      return `PostgreSQL at ${where} failed with SQLSTATE ${state}${e.constraint ? ` (constraint ${e.constraint})` : ''}: ${e.message ?? ''}`;
    }
  }
}

/** Wraps a failure the user can fix as a ConfigError (exit 2); others pass through as one-line Errors. */
export function pgFailureToError(err: unknown, target: PgTarget): Error {
  if (err instanceof LoginEtlError) return err;
  if (classifyPgError(err) === 'config') {
    return new ConfigError(describePgError(err, target), 'DATABASE_URL', { cause: err, code: isCertError(err) || isTlsRefused(err) ? 'ETL_ERR_PG_TLS' : 'ETL_ERR_CONFIG' });
  }
  return new Error(describePgError(err, target), { cause: err });
}
