import type pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/load.js';
import { REFERENCE_DATABASE_URL } from '../config/spec.js';
import { readSecretFile } from '../masking/keyfile.js';
import { targetText, type PgTarget } from './errors.js';
import { lookupPgpass, pgpassFile, usablePgpass } from './pgpass.js';
import { decideTls, type TlsParams, type TlsPolicy } from './tls.js';

/** Everything needed to connect, decided once at start-up: pg's client config, who/where, TLS, warnings. */
export interface PgConnection {
  /** For pg.Pool / pg.Client (pool sizing aside). The password is never enumerable. */
  config: pg.ClientConfig;
  target: PgTarget;
  tls: TlsPolicy;
  /** How long a connection attempt may take: `connect_timeout` in the URL or PGCONNECT_TIMEOUT (seconds, as libpq reads them; 0: no limit), default 10 s. */
  connectTimeoutMs: number;
  /** Lines to log once at start-up. */
  warnings: string[];
}

export interface ConnectionSettings {
  databaseUrl?: string | undefined;
  databaseUrlFile?: string | undefined;
  allowUnverifiedTls?: boolean | undefined;
  /** PII_STRICT_KEY_FILES: refuse, rather than warn about, a DATABASE_URL_FILE others can read. */
  strictKeyFiles?: boolean | undefined;
}

const PG_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'];
const TLS_PARAMS = ['sslmode', 'ssl', 'uselibpqcompat', 'sslrootcert', 'sslcert', 'sslkey'] as const;
const TLS_VARS: Partial<Record<keyof TlsParams, string>> = { sslmode: 'PGSSLMODE', sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY' };
const ENCODE_HINT = "percent-encode special characters in the user name and password (@ as %40, % as %25, / as %2F, ? as %3F, # as %23, : in a user name as %3A), e.g. with node -p 'encodeURIComponent(process.argv[1])' 'the password'";

/** Reads DATABASE_URL_FILE (a mounted secret) under the key-file rule (src/masking/keyfile.ts). */
function readUrlFile(path: string, strict: boolean, warnings: string[]): string {
  const text = readSecretFile(path, 'DATABASE_URL_FILE', { strict, warn: (m) => warnings.push(m), maxBytes: 64 * 1024 }).trim();
  if (!/^postgres(ql)?:\/\//.test(text)) throw new ConfigError(`DATABASE_URL_FILE: ${path} must hold one postgres:// URL`, 'DATABASE_URL_FILE');
  return text;
}

interface ParsedUrl {
  /** pg-connection-string's view of the URL without credentials and TLS parameters. */
  rest: pg.ClientConfig;
  user?: string;
  password?: string;
  tls: TlsParams;
}

const decode = (s: string, what: string, setting: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ConfigError(`${setting}: the ${what} is not valid percent-encoding; ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
  }
};

/**
 * Parses a postgres:// URL, refusing one that is malformed in ways that would otherwise surface as a wrong
 * password or a strange host: an unencoded `@` or a `%` that is not an escape in the credentials.
 * Never puts the URL or the password into a message.
 */
export function parseDatabaseUrl(raw: string, setting: string): ParsedUrl {
  const m = /^(postgres(?:ql)?:\/\/)(.*)$/s.exec(raw);
  if (!m) throw new ConfigError(`${setting} must start with postgres:// or postgresql://`, setting, { code: 'ETL_ERR_PG_URL' });
  const [, scheme = '', afterScheme = ''] = m;
  // As URL parsers do: the authority runs to the first / ? or #, and its last @ ends the credentials.
  const authority = /^[^/?#]*/.exec(afterScheme)?.[0] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  let user: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    if (userinfo.includes('@')) throw new ConfigError(`${setting}: the user name or password contains an unencoded "@"; ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
    if (/%(?![0-9A-Fa-f]{2})/.test(userinfo)) throw new ConfigError(`${setting}: the user name or password contains a "%" that is not a percent-escape; ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
    const colon = userinfo.indexOf(':');
    user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name', setting) || undefined;
    password = colon >= 0 ? decode(userinfo.slice(colon + 1), 'password', setting) : undefined;
  }
  const hostAndRest = afterScheme.slice(at + 1);
  // Past the credentials these can only be the tail of a password that was not encoded (and may show in messages).
  if (/%(?![0-9A-Fa-f]{2})/.test(hostAndRest)) throw new ConfigError(`${setting} contains a "%" that is not a percent-escape; ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
  if (hostAndRest.includes('#')) throw new ConfigError(`${setting} contains "#", which a postgres:// URL never needs (a "#" in the password must be encoded); ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
  // An empty host (`postgres://u@/db?host=/run/postgresql`) is valid here, but not to the WHATWG parser.
  const emptyHost = /^[/?#]/.test(hostAndRest) || hostAndRest === '';
  let url: URL;
  try {
    url = new URL(`${scheme}${emptyHost ? '__EMPTY_HOST__' : ''}${hostAndRest}`);
  } catch {
    throw new ConfigError(`${setting} is not a valid URL (expected postgres://user:password@host:port/database?param=value); ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
  }
  // A database name with "@" or "/" is almost always the tail of a password with an unencoded "/".
  if (/[@/]/.test(url.pathname.slice(1))) {
    throw new ConfigError(`${setting}: the database name contains "@" or "/", which usually means the password contains an unencoded "/"; ${ENCODE_HINT}`, setting, { code: 'ETL_ERR_PG_URL' });
  }
  const tls: TlsParams = {};
  for (const k of TLS_PARAMS) {
    const v = url.searchParams.get(k);
    if (v !== null) tls[k] = v;
    url.searchParams.delete(k);
  }
  const rest = parseIntoClientConfig(url.toString().replace('__EMPTY_HOST__', ''));
  return { rest, tls, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) };
}

/** The URL in use and the setting it came from: DATABASE_URL (or --database-url), DATABASE_URL_FILE, the PG* variables, or the reference default. */
function chooseUrl(s: ConnectionSettings, env: Env, warnings: string[]): { url: string | undefined; setting: string } {
  if (s.databaseUrl) {
    if (s.databaseUrlFile) warnings.push('DATABASE_URL_FILE is ignored: DATABASE_URL (--database-url) is set too');
    return { url: s.databaseUrl, setting: 'DATABASE_URL' };
  }
  if (s.databaseUrlFile) return { url: readUrlFile(s.databaseUrlFile, s.strictKeyFiles === true, warnings), setting: 'DATABASE_URL_FILE' };
  if (PG_VARS.some((v) => env[v])) return { url: undefined, setting: 'PGHOST' };
  return { url: REFERENCE_DATABASE_URL, setting: 'DATABASE_URL' };
}

/**
 * Resolves where and how to connect, from DATABASE_URL / --database-url, DATABASE_URL_FILE, the libpq
 * variables (PGHOST, PGSSLMODE, PGPASSFILE, …) or the reference default, and applies the TLS policy
 * (src/sink/tls.ts). Throws a ConfigError for anything malformed or refused; never echoes the password.
 */
export function resolveConnection(s: ConnectionSettings, env: Env = process.env, argv: readonly string[] = process.argv): PgConnection {
  const warnings: string[] = [];
  const { url, setting } = chooseUrl(s, env, warnings);
  const parsed: ParsedUrl = url !== undefined ? parseDatabaseUrl(url, setting) : { rest: {}, tls: {} };
  const rest = parsed.rest as pg.ClientConfig & { host?: string; port?: number; database?: string };

  const user = parsed.user ?? env.PGUSER ?? env.USER ?? 'postgres';
  const host = rest.host || env.PGHOST || 'localhost';
  const portText = rest.port !== undefined ? String(rest.port) : env.PGPORT || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${rest.port !== undefined ? setting : 'PGPORT'}: the port must be a number from 1 to 65535`, setting, { code: 'ETL_ERR_PG_URL' });
  }
  const target: PgTarget = { user, host, port, database: rest.database || env.PGDATABASE || user };

  const tlsParams: TlsParams = { ...parsed.tls };
  const sources: Partial<Record<keyof TlsParams, string>> = {};
  for (const k of TLS_PARAMS) {
    if (tlsParams[k] !== undefined) sources[k] = setting;
    else if (TLS_VARS[k] && env[TLS_VARS[k]]) {
      tlsParams[k] = env[TLS_VARS[k]];
      sources[k] = TLS_VARS[k];
    }
  }
  const tls = decideTls({ host, params: tlsParams, sources, allowUnverified: s.allowUnverifiedTls === true });
  if (tls.warning) warnings.push(tls.warning);
  if (tls.mode !== 'off') target.tlsReason = tls.reason;
  if (tls.caFile) target.caFile = tls.caFile;
  if (tls.mode === 'off' && (rest as { sslnegotiation?: string }).sslnegotiation === 'direct') {
    throw new ConfigError(`${setting}: sslnegotiation=direct needs TLS; remove it or the setting that turns TLS off`, setting, { code: 'ETL_ERR_PG_TLS' });
  }

  const given = parsed.password ?? env.PGPASSWORD;
  const fromFlag = s.databaseUrl !== undefined && argv.some((a) => a === s.databaseUrl || a === `--database-url=${s.databaseUrl}`);
  // Messages say "check X" of what the user gave: the flag, the variable, the file, or the PG* variables.
  target.urlFrom = fromFlag ? '--database-url' : setting === 'PGHOST' ? 'the PG* variables' : setting;
  if (parsed.password && fromFlag) {
    warnings.push('--database-url carries a password, which any user of this machine can read in the process list (ps); use DATABASE_URL_FILE, PGPASSFILE or the DATABASE_URL variable instead');
  }
  const passFile = pgpassFile(env);
  if (!given && passFile.explicit) usablePgpass(passFile); // an explicit PGPASSFILE that cannot work fails at start-up
  target.passwordFrom = parsed.password ? target.urlFrom : given ? 'PGPASSWORD' : `the password file ${passFile.path}${passFile.explicit ? ' (PGPASSFILE)' : ''}`;
  const password: pg.ClientConfig['password'] = given
    ? given
    : async () => {
        const found = await lookupPgpass(passFile, target);
        if (found === undefined) {
          throw new ConfigError(
            `PostgreSQL at ${targetText(target)} asks for a password and none is configured: put it in DATABASE_URL (percent-encoded) or DATABASE_URL_FILE, set PGPASSWORD, or add a line host:port:database:user:password to ${passFile.path}${passFile.explicit ? ' (PGPASSFILE)' : ''} with mode 600`,
            'DATABASE_URL', { code: 'ETL_ERR_PG_PASSWORD' },
          );
        }
        return found;
      };

  const { connect_timeout: fromUrl, ...others } = rest as typeof rest & { connect_timeout?: unknown };
  const connectTimeoutMs = connectTimeout(fromUrl ?? env.PGCONNECT_TIMEOUT, fromUrl !== undefined ? setting : 'PGCONNECT_TIMEOUT');
  const config: pg.ClientConfig = { ...others, ssl: tls.ssl };
  if (url !== undefined) Object.assign(config, { user, host, port, database: target.database });
  return { config: withPassword(config, password), target, tls, connectTimeoutMs, warnings };
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** libpq's connect_timeout: whole seconds, 0 (or less) for no limit, 1 read as 2; unset: 10 s. */
function connectTimeout(value: unknown, setting: string): number {
  if (value === undefined || value === null || value === '') return DEFAULT_CONNECT_TIMEOUT_MS;
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text)) throw new ConfigError(`${setting}: connect_timeout must be whole seconds (0 for no limit)`, setting, { code: 'ETL_ERR_PG_URL' });
  const seconds = Number(text);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

/** A copy of `config` with `extra` and the password as a non-enumerable property (kept out of logs and inspection). */
export function withPassword(config: pg.ClientConfig, password: pg.ClientConfig['password'], extra: Record<string, unknown> = {}): pg.ClientConfig {
  const out: pg.ClientConfig = { ...config, ...extra };
  Object.defineProperty(out, 'password', { value: password, enumerable: false, writable: true, configurable: true });
  return out;
}

/** Options for a pg.Pool or pg.Client on this connection, e.g. `{ max: 3 }`. */
export const clientOptions = (c: PgConnection, extra: Record<string, unknown> = {}): pg.ClientConfig => withPassword(c.config, c.config.password, extra);
