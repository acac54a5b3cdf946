import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { clientOptions, resolveConnection } from '../../src/sink/connection.js';
import { createPool } from '../../src/sink/pool.js';
import { decideTls, isLocalHost, type TlsParams } from '../../src/sink/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'conn-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'ca.crt'), PEM);

const resolve = (databaseUrl: string, env: Record<string, string> = {}, more: { allowUnverifiedTls?: boolean; argv?: string[] } = {}) =>
  resolveConnection({ databaseUrl, allowUnverifiedTls: more.allowUnverifiedTls ?? false }, env, more.argv ?? []);

/** The ConfigError a call throws (fails the test if it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('database URLs', () => {
  it('defaults the port to 5432 (never host:0) and the database to the user', () => {
    expect(resolve('postgres://etl:pw@db.example.com/logins?sslmode=disable').target).toEqual({ user: 'etl', host: 'db.example.com', port: 5432, database: 'logins', passwordFrom: 'DATABASE_URL', urlFrom: 'DATABASE_URL' });
    expect(resolve('postgres://etl:pw@127.0.0.1').target).toEqual({ user: 'etl', host: '127.0.0.1', port: 5432, database: 'etl', passwordFrom: 'DATABASE_URL', urlFrom: 'DATABASE_URL' });
    expect(resolve('postgres://etl@127.0.0.1', { PGPORT: '6543' }).target.port).toBe(6543);
  });

  it('says where the address came from, for "check …" in messages: the flag, the variable, the file or the PG* variables', () => {
    const url = 'postgres://etl:pw@127.0.0.1/db';
    expect(resolveConnection({ databaseUrl: url }, {}, ['node', 'login-etl', 'report', '--database-url', url]).target).toMatchObject({ urlFrom: '--database-url', passwordFrom: '--database-url' });
    expect(resolveConnection({ databaseUrl: url }, {}, ['node', 'login-etl', 'report']).target.urlFrom).toBe('DATABASE_URL');
    expect(resolveConnection({}, { PGHOST: '127.0.0.1' }, []).target.urlFrom).toBe('the PG* variables');
  });

  it('decodes percent-encoded credentials exactly, including escapes node-postgres would double-encode', () => {
    const c = resolve('postgres://us%3Aer:p%40ss%2Fw%25rd%20x@127.0.0.1:5433/db?options=-c%20statement_timeout%3D5s');
    expect(c.target.user).toBe('us:er');
    expect(c.config.password).toBe('p@ss/w%rd x');
    expect(c.config.port).toBe(5433);
    expect((c.config as { options?: string }).options).toBe('-c statement_timeout=5s');
  });

  it.each([
    ['postgres://etl:p@ss@127.0.0.1:5432/db', 'unencoded "@"'],
    ['postgres://etl:100%@127.0.0.1:5432/db', '"%" that is not a percent-escape'],
    ['postgres://etl:a%zzb@127.0.0.1:5432/db', '"%" that is not a percent-escape'],
    ['postgres://etl:%ff%fe@127.0.0.1:5432/db', 'not valid percent-encoding'],
    ['postgres://etl:pa#ss@127.0.0.1:5432/db', 'contains "#"'],
    ['postgres://etl:p@ss/w%rd#1@127.0.0.1:5432/db', 'not a percent-escape'],
    ['postgres://etl:12:x@127.0.0.1:5432/db?sslmode=verify-full#frag', 'contains "#"'],
    ['postgres://etl:pa/ss@127.0.0.1:5432/db', 'not a valid URL'],
    ['postgres://etl:12/ss@127.0.0.1:5432/db', 'database name contains "@" or "/"'],
  ])('%s is refused with how to percent-encode, never the password', (url, why) => {
    const e = configError(() => resolve(url));
    expect(e.message).toContain(why);
    expect(e.message).toContain('percent-encode');
    expect(e.message).toContain('%40');
    expect(e.message).not.toMatch(/p@ss|100%|a%zzb|pa#ss|pa\/ss|12\/ss|w%rd|frag/);
    expect(e.setting).toBe('DATABASE_URL');
  });

  it('reads connect_timeout (the URL, else PGCONNECT_TIMEOUT) as libpq does: seconds, 0 for no limit, at least 2; default 10 s', () => {
    const ms = (url: string, env: Record<string, string> = {}) => resolveConnection({ databaseUrl: url }, env).connectTimeoutMs;
    expect(ms('postgres://u@127.0.0.1/db')).toBe(10_000);
    expect(ms('postgres://u@127.0.0.1/db?connect_timeout=3')).toBe(3_000);
    expect(ms('postgres://u@127.0.0.1/db?connect_timeout=1')).toBe(2_000);
    expect(ms('postgres://u@127.0.0.1/db?connect_timeout=0')).toBe(0);
    expect(ms('postgres://u@127.0.0.1/db', { PGCONNECT_TIMEOUT: '5' })).toBe(5_000);
    expect(ms('postgres://u@127.0.0.1/db?connect_timeout=4', { PGCONNECT_TIMEOUT: '5' })).toBe(4_000);
    expect(() => ms('postgres://u@127.0.0.1/db?connect_timeout=soon')).toThrow(new ConfigError('DATABASE_URL: connect_timeout must be whole seconds (0 for no limit)', 'DATABASE_URL', { code: 'ETL_ERR_PG_URL' }));
    expect(() => ms('postgres://u@127.0.0.1/db', { PGCONNECT_TIMEOUT: '2.5' })).toThrow(/^PGCONNECT_TIMEOUT: connect_timeout must be whole seconds/);
    // …and the pool uses it.
    const pool = createPool({ connection: resolveConnection({ databaseUrl: 'postgres://u@127.0.0.1/db?connect_timeout=3' }, {}), max: 1 });
    expect((pool as unknown as { options: { connectionTimeoutMillis: number } }).options.connectionTimeoutMillis).toBe(3_000);
    void pool.end();
  });

  it('accepts a Unix socket directory in ?host=', () => {
    const c = resolve('postgres://etl:pw@/logins?host=/var/run/postgresql');
    expect(c.target).toMatchObject({ host: '/var/run/postgresql', database: 'logins' });
    expect(c.tls.mode).toBe('off');
  });

  it('keeps the password out of enumeration and JSON, also in pool options', () => {
    const c = resolve('postgres://etl:hunter2@127.0.0.1:5432/db');
    expect(JSON.stringify(c)).not.toContain('hunter2');
    const o = clientOptions(c, { max: 3 });
    expect(o.password).toBe('hunter2');
    expect(Object.keys(o)).not.toContain('password');
  });

  it('warns when --database-url puts a password in the process list, not when the variable does', () => {
    const url = 'postgres://etl:hunter2@127.0.0.1:5432/db';
    expect(resolve(url, {}, { argv: ['node', 'login-etl', 'drain', '--database-url', url] }).warnings).toEqual([expect.stringContaining('process list')]);
    expect(resolve(url, {}, { argv: ['node', 'login-etl', 'drain', `--database-url=${url}`] }).warnings).toHaveLength(1);
    expect(resolve(url, {}, { argv: ['node', 'login-etl', 'drain'] }).warnings).toEqual([]);
    expect(resolve('postgres://etl@127.0.0.1:5432/db', {}, { argv: ['x', '--database-url', 'postgres://etl@127.0.0.1:5432/db'] }).warnings).toEqual([]);
  });

  it('reads DATABASE_URL_FILE, trimmed, and names it in errors', () => {
    const f = join(dir, 'url');
    writeFileSync(f, 'postgres://etl:from-file@127.0.0.1:5432/db\n', { mode: 0o600 });
    chmodSync(f, 0o600);
    const c = resolveConnection({ databaseUrlFile: f }, {}, []);
    expect(c.config.password).toBe('from-file');
    expect(c.warnings).toEqual([]);
    chmodSync(f, 0o644);
    expect(resolveConnection({ databaseUrlFile: f }, {}, []).warnings).toEqual([expect.stringMatching(/^DATABASE_URL_FILE: .* is not private: other users can access it/)]);
    expect(configError(() => resolveConnection({ databaseUrlFile: f, strictKeyFiles: true }, {}, [])).message).toMatch(/is not private/);
    expect(configError(() => resolveConnection({ databaseUrlFile: join(dir, 'nope') }, {}, [])).message).toBe(`DATABASE_URL_FILE: cannot read ${join(dir, 'nope')}: no such file (ENOENT); check the path and the volume mount`);
    writeFileSync(f, 'mysql://x');
    expect(configError(() => resolveConnection({ databaseUrlFile: f }, {}, [])).message).toContain('must hold one postgres:// URL');
    writeFileSync(f, 'postgres://etl:p@ss@127.0.0.1/db');
    expect(configError(() => resolveConnection({ databaseUrlFile: f }, {}, [])).message).toMatch(/^DATABASE_URL_FILE: .*unencoded "@"/);
  });

  it('an explicit PGPASSFILE that cannot be used fails at once; one that can supplies the password lazily', () => {
    const pass = join(dir, 'pgpass');
    writeFileSync(pass, '127.0.0.1:5432:db:etl:from-pgpass\n');
    chmodSync(pass, 0o644);
    expect(configError(() => resolve('postgres://etl@127.0.0.1:5432/db', { PGPASSFILE: pass })).message).toBe(`PGPASSFILE ${pass} can be read by group or others (mode 644), so PostgreSQL clients ignore it; run \`chmod 600 ${pass}\``);
    expect(configError(() => resolve('postgres://etl@127.0.0.1:5432/db', { PGPASSFILE: join(dir, 'none') })).message).toContain('PGPASSFILE: cannot read');
    chmodSync(pass, 0o600);
    expect(typeof resolve('postgres://etl@127.0.0.1:5432/db', { PGPASSFILE: pass }).config.password).toBe('function');
    // A password in the URL or PGPASSWORD wins, and the file is not consulted.
    expect(resolve('postgres://etl@127.0.0.1:5432/db', { PGPASSFILE: join(dir, 'none'), PGPASSWORD: 'env' }).config.password).toBe('env');
  });
});

describe('TLS policy', () => {
  const tls = (host: string, params: TlsParams, allowUnverified = false) => decideTls({ host, params, sources: {}, allowUnverified });
  const ca = join(dir, 'ca.crt');

  it('knows loopback hosts and sockets', () => {
    for (const h of ['localhost', '127.0.0.1', '127.3.2.1', '::1', '[::1]', '::ffff:127.0.0.1', '/var/run/postgresql']) expect(isLocalHost(h), h).toBe(true);
    for (const h of ['db.example.com', '10.0.0.5', '0.0.0.0', '192.0.2.2', '::ffff:10.0.0.1', 'localhost.example.com']) expect(isLocalHost(h), h).toBe(false);
  });

  it.each<[string, string, TlsParams, string]>([
    // host, what, params, mode
    ['db.example.com', 'no sslmode, remote: verified by default', {}, 'verify-full'],
    ['localhost', 'no sslmode, loopback: plain', {}, 'off'],
    ['db.example.com', 'disable', { sslmode: 'disable' }, 'off'],
    ['localhost', 'require on loopback is still checked', { sslmode: 'require' }, 'verify-full'],
    ['db.example.com', 'allow', { sslmode: 'allow' }, 'verify-full'],
    ['db.example.com', 'prefer', { sslmode: 'prefer' }, 'verify-full'],
    ['db.example.com', 'require', { sslmode: 'require' }, 'verify-full'],
    ['db.example.com', 'verify-ca (node-postgres 8 checks the name too)', { sslmode: 'verify-ca' }, 'verify-full'],
    ['db.example.com', 'verify-full', { sslmode: 'verify-full' }, 'verify-full'],
    ['db.example.com', 'ssl=true', { ssl: 'true' }, 'verify-full'],
    ['db.example.com', 'ssl=0', { ssl: '0' }, 'off'],
    ['db.example.com', 'libpq verify-ca', { uselibpqcompat: 'true', sslmode: 'verify-ca', sslrootcert: 'CA' }, 'verify-ca'],
    ['db.example.com', 'libpq require with a CA = verify-ca', { uselibpqcompat: 'true', sslmode: 'require', sslrootcert: 'CA' }, 'verify-ca'],
    ['db.example.com', 'libpq verify-full', { uselibpqcompat: 'true', sslmode: 'verify-full' }, 'verify-full'],
    ['db.example.com', 'libpq disable', { uselibpqcompat: 'true', sslmode: 'disable' }, 'off'],
    ['/var/run/postgresql', 'a socket never uses TLS', { sslmode: 'verify-full' }, 'off'],
  ])('%s, %s → %s', (host, _what, params, mode) => {
    const p = { ...params, ...(params.sslrootcert === 'CA' ? { sslrootcert: ca } : {}) };
    expect(tls(host, p).mode).toBe(mode);
  });

  it.each<[string, TlsParams]>([
    ['sslmode=no-verify', { sslmode: 'no-verify' }],
    ['ssl=no-verify', { ssl: 'no-verify' }],
    ['uselibpqcompat=true&sslmode=require', { uselibpqcompat: 'true', sslmode: 'require' }],
    ['uselibpqcompat=true&sslmode=prefer', { uselibpqcompat: 'true', sslmode: 'prefer' }],
    ['uselibpqcompat=true&sslmode=allow', { uselibpqcompat: 'true', sslmode: 'allow' }],
  ])('%s skips the certificate check: refused unless allowed, then warned about', (name, params) => {
    const e = configError(() => tls('db.example.com', params));
    expect(e.message).toContain(name);
    expect(e.message).toContain('DATABASE_ALLOW_UNVERIFIED_TLS=true');
    expect(e.setting).toBe('DATABASE_ALLOW_UNVERIFIED_TLS');
    const allowed = tls('db.example.com', params, true);
    expect(allowed.mode).toBe('unverified');
    expect(allowed.ssl).toMatchObject({ rejectUnauthorized: false });
    expect(allowed.warning).toContain('not verified');
  });

  it('warns once about clear text to a remote host, and not on loopback', () => {
    expect(tls('db.example.com', { sslmode: 'disable' }).warning).toMatch(/not encrypted; the password and every row cross the network in clear text/);
    expect(tls('localhost', { sslmode: 'disable' }).warning).toBeUndefined();
    expect(tls('db.example.com', {}).warning).toBeUndefined();
  });

  it('reads sslrootcert, and says which parameter names a missing or wrong file', () => {
    expect(tls('db.example.com', { sslmode: 'verify-full', sslrootcert: ca }).ssl).toMatchObject({ rejectUnauthorized: true, ca: PEM });
    expect(tls('db.example.com', { sslmode: 'verify-full', sslrootcert: 'system' }).ssl).toEqual({ rejectUnauthorized: true });
    const missing = join(dir, 'missing-ca.crt');
    expect(configError(() => tls('db.example.com', { sslrootcert: missing })).message).toBe(
      `sslrootcert=${missing} in DATABASE_URL: cannot read the file (ENOENT); point sslrootcert at the CA certificate (PEM) that signed the server's certificate`,
    );
    expect(configError(() => decideTls({ host: 'db', params: { sslrootcert: missing }, sources: { sslrootcert: 'PGSSLROOTCERT' }, allowUnverified: false })).message).toMatch(/^PGSSLROOTCERT=/);
    // A loopback host without sslmode stays on plain TCP, but a CA file it names must still exist (issue 10 §6).
    expect(configError(() => tls('localhost', { sslrootcert: missing })).message).toBe(
      `sslrootcert=${missing} in DATABASE_URL: cannot read the file (ENOENT); point sslrootcert at the CA certificate (PEM) that signed the server's certificate`,
    );
    writeFileSync(join(dir, 'garbage'), 'not a certificate');
    expect(configError(() => tls('db', { sslrootcert: join(dir, 'garbage') })).message).toContain('is not a PEM certificate');
    expect(configError(() => tls('db', { sslmode: 'verfy-full' })).message).toBe('sslmode=verfy-full in DATABASE_URL is not an sslmode; use one of disable, allow, prefer, require, verify-ca, verify-full, no-verify');
    expect(configError(() => tls('db', { uselibpqcompat: 'true', sslmode: 'verify-ca' })).message).toContain('needs sslrootcert');
  });

  it('takes PGSSLMODE and PGSSLROOTCERT when the URL does not say, and the URL when it does', () => {
    expect(resolve('postgres://etl:pw@db.example.com/x', { PGSSLMODE: 'disable' }).tls.mode).toBe('off');
    expect(resolve('postgres://etl:pw@db.example.com/x?sslmode=verify-full&sslrootcert=system', { PGSSLMODE: 'disable' }).tls.mode).toBe('verify-full');
    expect(configError(() => resolve('postgres://etl:pw@db.example.com/x', { PGSSLMODE: 'no-verify' })).message).toMatch(/^PGSSLMODE=no-verify turns off/);
    expect(resolve('postgres://etl:pw@db.example.com/x', { PGSSLROOTCERT: ca }).config.ssl).toMatchObject({ ca: PEM });
    expect(resolveConnection({}, { PGHOST: 'db.example.com', PGSSLMODE: 'require' }, []).tls.mode).toBe('verify-full');
  });

  it('does not pass sslmode to node-postgres, so its deprecation warning is never printed', () => {
    const c = resolve('postgres://etl:pw@db.example.com/x?sslmode=require');
    expect(Object.keys(c.config)).not.toContain('sslmode');
    expect(c.config.ssl).toEqual({ rejectUnauthorized: true });
  });
});
