import { spawnSync } from 'node:child_process';
import type { SqsClient } from '../../src/source/client.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions, resolveConnection } from '../../src/sink/connection.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshQueues, sqsClient, TEST_KEY, validSampleBodies } from '../helpers/services.js';
import { startTlsPostgres, type TlsServer } from '../helpers/tlsServer.js';

/** What a connection attempt got: 'plain', 'tls' (encrypted, per pg_stat_ssl), or the error's code. */
async function outcome(config: pg.ClientConfig): Promise<string> {
  const c = new pg.Client(config);
  c.on('error', () => {});
  try {
    await c.connect();
    const { rows } = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0]?.ssl ? 'tls' : 'plain';
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

/** login-etl's resolution of a URL, connected for real; a refused setting gives the ConfigError's code. */
async function viaLoginEtl(url: string, env: Record<string, string> = {}, allowUnverifiedTls = false): Promise<string> {
  let config: pg.ClientConfig;
  try {
    config = clientOptions(resolveConnection({ databaseUrl: url, allowUnverifiedTls }, env, []), { connectionTimeoutMillis: 5000 });
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
  return outcome(config);
}

const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
const UNVERIFIED_CERT = /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT/;

describe('TLS to PostgreSQL, against a server with ssl=on', () => {
  let s: TlsServer;
  let sqs: SqsClient;
  /** A queue for doctor, so that its exit code is about PostgreSQL alone. */
  let queueUrl: string;

  beforeAll(async () => {
    sqs = sqsClient();
    s = await startTlsPostgres();
    ({ queueUrl } = await freshQueues(sqs));
  }, 120_000);
  afterAll(async () => {
    sqs.destroy();
    await s.close();
  });

  // Each row: URL host and parameters → what login-etl does, and what node-postgres does when handed the raw
  // URL. docs/operations.md ("TLS to PostgreSQL") documents the same table; a pg upgrade that changes a raw
  // result fails here. 0.0.0.0 stands for a remote host, 127.0.0.1 for a name the certificate does not list.
  const CASES: [string, string, Record<string, string>, RegExp | string, RegExp | string][] = [
    // what, host, params, login-etl, raw node-postgres
    ['no sslmode, loopback', 'localhost', {}, 'plain', 'plain'],
    ['no sslmode, remote host: verified (pg: plain text)', '0.0.0.0', {}, UNVERIFIED_CERT, 'plain'],
    ['no sslmode, remote host, sslrootcert', '0.0.0.0', { sslrootcert: 'CA' }, 'tls', 'tls'],
    ['disable', '0.0.0.0', { sslmode: 'disable' }, 'plain', 'plain'],
    ['require with the right CA', 'localhost', { sslmode: 'require', sslrootcert: 'CA' }, 'tls', 'tls'],
    ['require with another CA: checked', 'localhost', { sslmode: 'require', sslrootcert: 'OTHER' }, UNVERIFIED_CERT, UNVERIFIED_CERT],
    ['require, a name the certificate lacks: checked', '127.0.0.1', { sslmode: 'require', sslrootcert: 'CA' }, 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['prefer with another CA: checked', 'localhost', { sslmode: 'prefer', sslrootcert: 'OTHER' }, UNVERIFIED_CERT, UNVERIFIED_CERT],
    ['verify-ca checks the name too (node-postgres 8)', '127.0.0.1', { sslmode: 'verify-ca', sslrootcert: 'CA' }, 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['verify-full', '0.0.0.0', { sslmode: 'verify-full', sslrootcert: 'CA' }, 'tls', 'tls'],
    ['verify-full without sslrootcert: Node CA bundle', 'localhost', { sslmode: 'verify-full' }, UNVERIFIED_CERT, UNVERIFIED_CERT],
    ['ssl=true', 'localhost', { ssl: 'true', sslrootcert: 'CA' }, 'tls', 'tls'],
    ['libpq verify-ca: chain checked, name not', '127.0.0.1', { uselibpqcompat: 'true', sslmode: 'verify-ca', sslrootcert: 'CA' }, 'tls', 'tls'],
    ['libpq verify-ca with another CA', '127.0.0.1', { uselibpqcompat: 'true', sslmode: 'verify-ca', sslrootcert: 'OTHER' }, UNVERIFIED_CERT, UNVERIFIED_CERT],
    ['libpq require with a CA = verify-ca', '127.0.0.1', { uselibpqcompat: 'true', sslmode: 'require', sslrootcert: 'CA' }, 'tls', 'tls'],
    ['no-verify: refused (pg: unchecked)', 'localhost', { sslmode: 'no-verify' }, 'ETL_ERR_PG_TLS', 'tls'],
    ['ssl=no-verify: refused (pg: unchecked)', 'localhost', { ssl: 'no-verify' }, 'ETL_ERR_PG_TLS', 'tls'],
    ['libpq require: refused (pg: unchecked)', 'localhost', { uselibpqcompat: 'true', sslmode: 'require' }, 'ETL_ERR_PG_TLS', 'tls'],
    ['libpq prefer: refused (pg: unchecked)', 'localhost', { uselibpqcompat: 'true', sslmode: 'prefer' }, 'ETL_ERR_PG_TLS', 'tls'],
  ];

  it.each(CASES)('%s', async (_what, host, params, ours, raw) => {
    const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === 'CA' ? s.ca : v === 'OTHER' ? s.otherCa : v]));
    const url = s.url(host, p);
    expect(await viaLoginEtl(url)).toMatch(ours);
    expect(await outcome({ connectionString: url, connectionTimeoutMillis: 5000 })).toMatch(raw);
  });

  it('connects without a certificate check only when DATABASE_ALLOW_UNVERIFIED_TLS says so', async () => {
    for (const params of [{ sslmode: 'no-verify' }, { uselibpqcompat: 'true', sslmode: 'require' }, { ssl: 'no-verify' }] as Record<string, string>[]) {
      expect(await viaLoginEtl(s.url('127.0.0.1', params), {}, true)).toBe('tls');
    }
  });

  it('honours PGSSLMODE and PGSSLROOTCERT, which node-postgres reads only in part', async () => {
    const env = { PGSSLMODE: 'verify-full', PGSSLROOTCERT: s.ca };
    expect(await viaLoginEtl(s.url('0.0.0.0'), env)).toBe('tls');
    expect(await viaLoginEtl(s.url('0.0.0.0'), { ...env, PGSSLROOTCERT: s.otherCa })).toMatch(UNVERIFIED_CERT);
    expect(await viaLoginEtl(s.url('0.0.0.0'), { PGSSLMODE: 'no-verify' })).toBe('ETL_ERR_PG_TLS');
    // node-postgres itself: PGSSLMODE=require means "verify against Node's bundle", and PGSSLROOTCERT is ignored.
    const r = spawnSync(process.execPath, ['-e', `
      const pg = require('pg');
      const c = new pg.Client({ connectionString: process.argv[1] });
      c.connect().then(() => c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).then((r) => console.log(r.rows[0].ssl ? 'tls' : 'plain'), (e) => console.log(e.code)).finally(() => c.end());
    `, s.url('0.0.0.0')], { env: { ...process.env, ...env, PGSSLMODE: 'require' }, encoding: 'utf8', cwd: process.cwd() });
    expect(r.stdout.trim()).toMatch(UNVERIFIED_CERT);
  });

  it('sslmode=require gives no node-postgres "SECURITY WARNING" (it does when pg gets the raw URL)', async () => {
    const url = s.url('localhost', { sslmode: 'require', sslrootcert: s.ca });
    const r = await runCli(['init-db'], { DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('SECURITY WARNING');
    const raw = spawnSync(process.execPath, ['-e', "require('pg-connection-string').parse(process.argv[1])", url], { encoding: 'utf8', cwd: process.cwd() });
    expect(raw.stderr).toContain('SECURITY WARNING');
  });

  it('drains over verified TLS; doctor passes and says verify-full', async () => {
    const url = s.url('localhost', { sslmode: 'verify-full', sslrootcert: s.ca });
    expect((await runCli(['init-db'], { DATABASE_URL: url })).code).toBe(0);
    const { queueUrl: q } = await freshQueues(sqs);
    await sendBodies(sqs, q, (await validSampleBodies()).slice(0, 10));
    const env = { DATABASE_URL: url, SQS_QUEUE_URL: q, PII_KEY: TEST_KEY };
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 10 });
    const doctor = await runCli(['doctor'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/PostgreSQL TLS\s+pass\s+verify-full: certificate and host name checked \(sslmode=verify-full in DATABASE_URL\), TLSv1\.[23]/);
  });

  it('a remote host without sslmode is verified: a server the CA bundle does not vouch for is one line, exit 2', async () => {
    const r = await runCli(['init-db'], { DATABASE_URL: s.url('0.0.0.0') });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/^login-etl: the TLS certificate of PostgreSQL at postgres@0\.0\.0\.0:\d+\/postgres could not be verified \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\); set sslrootcert \(in DATABASE_URL, or PGSSLROOTCERT\)/)]);
    expect(r.stderr).not.toContain(new URL(s.pg.url).password);
  });

  it('a certificate for another name, and another CA, are one line each', async () => {
    const mismatch = await runCli(['init-db'], { DATABASE_URL: s.url('127.0.0.1', { sslmode: 'verify-full', sslrootcert: s.ca }) });
    expect(mismatch.code).toBe(2);
    expect(oneLine(mismatch.stderr)).toEqual([expect.stringContaining('does not name "127.0.0.1" (ERR_TLS_CERT_ALTNAME_INVALID)')]);
    const other = await runCli(['init-db'], { DATABASE_URL: s.url('localhost', { sslmode: 'verify-full', sslrootcert: s.otherCa }) });
    expect(other.code).toBe(2);
    expect(oneLine(other.stderr)).toEqual([expect.stringContaining(`could not be verified`)]);
    expect(other.stderr).toContain(`it does not chain to the CA in sslrootcert ${s.otherCa}; point sslrootcert at the CA certificate that signed the server's certificate`);
  });

  it('sslrootcert naming a missing file is one line naming the parameter, exit 2', async () => {
    const missing = `${s.dir}/nope/ca.crt`;
    const r = await runCli(['init-db'], { DATABASE_URL: s.url('localhost', { sslmode: 'verify-full', sslrootcert: missing }) });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([`login-etl: sslrootcert=${missing} in DATABASE_URL: cannot read the file (ENOENT); point sslrootcert at the CA certificate (PEM) that signed the server's certificate`]);
  });

  it('sslmode=disable to a remote host logs one warning at start-up, and doctor fails it', async () => {
    const env = { DATABASE_URL: s.url('0.0.0.0', { sslmode: 'disable' }), PII_KEY: TEST_KEY, SQS_QUEUE_URL: queueUrl, LOG_LEVEL: 'warn' };
    const r = await runCli(['init-db'], env);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.trim().split('\n').filter((l) => l.includes('clear text'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, msg: expect.stringContaining('sslmode=disable in DATABASE_URL: the connection to PostgreSQL at 0.0.0.0 is not encrypted') });
    const doctor = await runCli(['doctor'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/PostgreSQL TLS\s+FAIL\s+off \(sslmode=disable in DATABASE_URL\): password and rows cross the network in clear text; remove sslmode=disable/);
  });

  it('settings that skip the certificate check are refused with one line; allowed, they work and doctor fails them', async () => {
    const url = s.url('localhost', { uselibpqcompat: 'true', sslmode: 'require' });
    const refused = await runCli(['init-db'], { DATABASE_URL: url });
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toEqual([
      'login-etl: uselibpqcompat=true&sslmode=require in DATABASE_URL turns off the check of the server\'s TLS certificate, so anyone on the network path can pose as the database; use sslmode=verify-full with sslrootcert=/path/to/ca.crt, or set DATABASE_ALLOW_UNVERIFIED_TLS=true (or --allow-unverified-tls) to accept that',
    ]);
    const doctorRefused = await runCli(['doctor'], { DATABASE_URL: url, PII_KEY: TEST_KEY, SQS_QUEUE_URL: queueUrl });
    expect(doctorRefused.code).toBe(1);
    expect(doctorRefused.stdout).toMatch(/PostgreSQL connection\s+FAIL\s+uselibpqcompat=true&sslmode=require in DATABASE_URL turns off the check/);

    const allowed = await runCli(['init-db', '--allow-unverified-tls'], { DATABASE_URL: url, LOG_LEVEL: 'warn' });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('is not verified (uselibpqcompat=true&sslmode=require in DATABASE_URL, allowed by DATABASE_ALLOW_UNVERIFIED_TLS (--allow-unverified-tls))');
    const doctor = await runCli(['doctor'], { DATABASE_URL: url, DATABASE_ALLOW_UNVERIFIED_TLS: 'true', PII_KEY: TEST_KEY, SQS_QUEUE_URL: queueUrl });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/PostgreSQL connection\s+pass/);
    expect(doctor.stdout).toMatch(/PostgreSQL TLS\s+FAIL\s+encrypted, but the server's certificate is not checked/);
  });

  it('doctor passes plain text on loopback, saying why', async () => {
    const doctor = await runCli(['doctor'], { DATABASE_URL: s.url('localhost'), PII_KEY: TEST_KEY, SQS_QUEUE_URL: queueUrl });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/PostgreSQL TLS\s+pass\s+off \(no sslmode, loopback host: the connection stays on this machine\)/);
  });
});
