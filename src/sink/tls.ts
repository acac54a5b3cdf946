import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../config/errors.js';

/**
 * What login-etl does about TLS to PostgreSQL (docs/operations.md, "TLS to PostgreSQL", has the table):
 * - off: plain TCP (or a Unix socket);
 * - verify-full: the certificate chain is checked against sslrootcert (else Node's CA bundle) and must name the host;
 * - verify-ca: the chain is checked, the host name is not (libpq's verify-ca, with uselibpqcompat=true);
 * - unverified: encrypted, but anyone on the path can pose as the server. Refused unless allowed.
 */
export type TlsMode = 'off' | 'verify-full' | 'verify-ca' | 'unverified';

/** The TLS-related connection parameters, from the URL or else the libpq variables. */
export interface TlsParams {
  sslmode?: string | undefined;
  ssl?: string | undefined;
  uselibpqcompat?: string | undefined;
  sslrootcert?: string | undefined;
  sslcert?: string | undefined;
  sslkey?: string | undefined;
}

export interface TlsPolicy {
  mode: TlsMode;
  /** What chose the mode, for messages: `sslmode=require`, `no sslmode, loopback host`, … */
  reason: string;
  /** Loopback or a Unix socket: the connection never leaves this machine. */
  local: boolean;
  /** For node-postgres's `ssl` option. */
  ssl: false | ConnectionOptions;
  /** One line to log at start-up, when the choice deserves one. */
  warning?: string;
  /** The sslrootcert file the server's certificate is checked against, if one is. */
  caFile?: string;
}

export interface TlsInput {
  host: string;
  params: TlsParams;
  /** Where each parameter came from, for messages: `DATABASE_URL`, `PGSSLMODE`, … */
  sources: Partial<Record<keyof TlsParams, string>>;
  allowUnverified: boolean;
}

export const ALLOW_UNVERIFIED_SETTING = 'DATABASE_ALLOW_UNVERIFIED_TLS';
const ALLOW_UNVERIFIED_SHOWN = `${ALLOW_UNVERIFIED_SETTING} (--allow-unverified-tls)`;
const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

export const isUnixSocket = (host: string): boolean => host.startsWith('/');

/** localhost, 127.0.0.0/8, ::1 (and IPv4-mapped loopback), or a Unix socket directory. */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (isUnixSocket(h) || h === 'localhost' || h === 'localhost.') return true;
  const v = isIP(h);
  if (v === 4) return LOOPBACK.check(h, 'ipv4');
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
    return mapped !== undefined ? LOOPBACK.check(mapped, 'ipv4') : LOOPBACK.check(h, 'ipv6');
  }
  return false;
}

/** Reads a PEM file named by a connection parameter; a missing or unreadable file is one clear line. */
function readPem(path: string, param: 'sslrootcert' | 'sslcert' | 'sslkey', source: string): string {
  const named = source.startsWith('PG') ? `${source}=${path}` : `${param}=${path} in ${source}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    const what = param === 'sslrootcert' ? "the CA certificate (PEM) that signed the server's certificate" : param === 'sslcert' ? 'the client certificate (PEM)' : 'the client key (PEM)';
    throw new ConfigError(`${named}: cannot read the file (${code}); point ${param} at ${what}`, source, { cause: err, code: 'ETL_ERR_PG_TLS' });
  }
  const want = param === 'sslkey' ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/ : /-----BEGIN CERTIFICATE-----/;
  if (!want.test(text)) throw new ConfigError(`${named}: the file is not a PEM ${param === 'sslkey' ? 'private key' : 'certificate'}`, source, { code: 'ETL_ERR_PG_TLS' });
  return text;
}

/** The mode a set of parameters asks for, with libpq's meaning under uselibpqcompat=true and node-postgres 8's otherwise. */
function modeFor(p: TlsParams, local: boolean, src: (k: keyof TlsParams) => string): { mode: TlsMode; reason: string; explicit: boolean } {
  const libpq = p.uselibpqcompat === 'true';
  const named = (k: keyof TlsParams, v: string) => (src(k).startsWith('PG') ? `${src(k)}=${v}` : `${libpq && k === 'sslmode' ? 'uselibpqcompat=true&' : ''}${k}=${v} in ${src(k)}`);
  if (p.sslmode === undefined) {
    if (p.ssl === undefined) return local ? { mode: 'off', reason: 'no sslmode, loopback host', explicit: false } : { mode: 'verify-full', reason: 'no sslmode, host not loopback', explicit: false };
    const reason = named('ssl', p.ssl);
    if (p.ssl === 'true' || p.ssl === '1') return { mode: 'verify-full', reason, explicit: true };
    if (p.ssl === 'false' || p.ssl === '0') return { mode: 'off', reason, explicit: true };
    if (p.ssl === 'no-verify') return { mode: 'unverified', reason, explicit: true };
    throw new ConfigError(`${reason} is not understood; use sslmode=verify-full (or disable)`, src('ssl'), { code: 'ETL_ERR_PG_TLS' });
  }
  const reason = named('sslmode', p.sslmode);
  switch (p.sslmode) {
    case 'disable':
      return { mode: 'off', reason, explicit: true };
    case 'allow':
    case 'prefer':
      return { mode: libpq ? 'unverified' : 'verify-full', reason, explicit: true };
    case 'require':
      return { mode: libpq ? (p.sslrootcert ? 'verify-ca' : 'unverified') : 'verify-full', reason, explicit: true };
    case 'verify-ca':
      if (libpq && !p.sslrootcert) {
        throw new ConfigError(`${reason} needs sslrootcert=/path/to/ca.crt (the CA that signed the server's certificate), or use sslmode=verify-full`, src('sslmode'), { code: 'ETL_ERR_PG_TLS' });
      }
      return { mode: libpq ? 'verify-ca' : 'verify-full', reason, explicit: true };
    case 'verify-full':
      return { mode: 'verify-full', reason, explicit: true };
    case 'no-verify':
      return { mode: 'unverified', reason, explicit: true };
    default:
      throw new ConfigError(`${reason} is not an sslmode; use one of ${SSLMODES.join(', ')}`, src('sslmode'), { code: 'ETL_ERR_PG_TLS' });
  }
}

/**
 * Decides TLS for one connection target. Verified TLS (verify-full) is the default for any host that is not
 * loopback; `sslmode=disable` turns TLS off with a start-up warning; settings that skip the certificate check
 * are refused unless DATABASE_ALLOW_UNVERIFIED_TLS allows them. Reads the certificate files named.
 */
export function decideTls(i: TlsInput): TlsPolicy {
  const src = (k: keyof TlsParams) => i.sources[k] ?? 'DATABASE_URL';
  const local = isLocalHost(i.host);
  if (isUnixSocket(i.host)) return { mode: 'off', reason: 'Unix socket', local, ssl: false };
  const { mode, reason, explicit } = modeFor(i.params, local, src);
  const where = `PostgreSQL at ${i.host}`;
  const { sslrootcert, sslcert, sslkey } = i.params;
  // libpq's sslrootcert=system: the platform's CAs, which for Node is its CA bundle (plus NODE_EXTRA_CA_CERTS).
  // A file that is named is read whatever the mode, so that a wrong path is one line at start-up, not a silent
  // plain-TCP connection (a loopback host without sslmode) that would only fail once TLS is turned on.
  const ca = sslrootcert && sslrootcert !== 'system' ? readPem(sslrootcert, 'sslrootcert', src('sslrootcert')) : undefined;
  if (mode === 'off') {
    return {
      mode, reason, local, ssl: false,
      ...(explicit && !local ? { warning: `${reason}: the connection to ${where} is not encrypted; the password and every row cross the network in clear text` } : {}),
    };
  }
  if (mode === 'unverified' && !i.allowUnverified) {
    throw new ConfigError(
      `${reason} turns off the check of the server's TLS certificate, so anyone on the network path can pose as the database; use sslmode=verify-full with sslrootcert=/path/to/ca.crt, or set ${ALLOW_UNVERIFIED_SETTING}=true (or --allow-unverified-tls) to accept that`,
      ALLOW_UNVERIFIED_SETTING, { code: 'ETL_ERR_PG_TLS' },
    );
  }
  if (mode === 'verify-ca' && ca === undefined) {
    throw new ConfigError(`${reason}: verify-ca needs a CA file in sslrootcert (not "system"); or use sslmode=verify-full`, src('sslrootcert'), { code: 'ETL_ERR_PG_TLS' });
  }
  const ssl: ConnectionOptions = {
    rejectUnauthorized: mode !== 'unverified',
    ...(ca !== undefined && mode !== 'unverified' ? { ca } : {}),
    ...(sslcert ? { cert: readPem(sslcert, 'sslcert', src('sslcert')) } : {}),
    ...(sslkey ? { key: readPem(sslkey, 'sslkey', src('sslkey')) } : {}),
    // verify-ca: the chain is checked, the name is not.
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
  if (ssl.key !== undefined) Object.defineProperty(ssl, 'key', { enumerable: false });
  return {
    mode, reason, local, ssl,
    ...(ssl.ca !== undefined && sslrootcert ? { caFile: sslrootcert } : {}),
    ...(mode === 'unverified' ? { warning: `TLS to ${where} is not verified (${reason}, allowed by ${ALLOW_UNVERIFIED_SHOWN}): anyone on the network path can pose as the database` } : {}),
  };
}

/** One phrase for doctor and logs. */
export function describeTls(t: Pick<TlsPolicy, 'mode' | 'reason' | 'local'>): string {
  switch (t.mode) {
    case 'verify-full':
      return `verify-full: certificate and host name checked (${t.reason})`;
    case 'verify-ca':
      return `verify-ca: certificate checked against sslrootcert, host name not (${t.reason})`;
    case 'unverified':
      return `encrypted, but the server's certificate is not checked (${t.reason})`;
    case 'off':
      return t.local ? `off (${t.reason}: the connection stays on this machine)` : `off (${t.reason}): password and rows cross the network in clear text`;
  }
}
