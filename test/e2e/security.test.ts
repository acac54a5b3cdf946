import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/demo/embedded.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, TEST_KEY, validSampleBodies } from '../helpers/services.js';

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

describe('TLS to PostgreSQL (sslmode=verify-full)', () => {
  let pg: EmbeddedPostgres;
  let sqs: SqsClient;
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));

  beforeAll(async () => {
    sqs = sqsClient();
    openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=login-etl test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
    execFileSync('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.crt', '-extfile', 'san.cnf'], {
      cwd: dir, stdio: 'pipe', input: '',
    });
    // The other CA, for the negative case.
    openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=someone else', '-keyout', 'other.key', '-out', 'other.crt');
    await chmod(join(dir, 'server.key'), 0o600);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      for (const f of ['server.key', 'server.crt']) chownSync(join(dir, f), uid, gid);
      await chmod(dir, 0o755);
    }
    pg = await startEmbeddedPostgres({ postgresFlags: ['-c', 'ssl=on', '-c', `ssl_cert_file=${join(dir, 'server.crt')}`, '-c', `ssl_key_file=${join(dir, 'server.key')}`] });
  }, 120_000);
  afterAll(async () => {
    sqs.destroy();
    await pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsUrl = (ca: string) => {
    const u = new URL(pg.url);
    u.hostname = 'localhost';
    u.searchParams.set('sslmode', 'verify-full');
    u.searchParams.set('sslrootcert', join(dir, ca));
    return u.toString();
  };

  it('drains over a verified TLS connection', async () => {
    const url = tlsUrl('ca.crt');
    expect((await runCli(['init-db'], { DATABASE_URL: url })).code).toBe(0);
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, (await validSampleBodies()).slice(0, 10));
    const r = await runCli(['drain', '--json'], { DATABASE_URL: url, SQS_QUEUE_URL: queueUrl, PII_KEY: TEST_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 10 });
    const doctor = await runCli(['doctor'], { DATABASE_URL: url, SQS_QUEUE_URL: queueUrl, PII_KEY: TEST_KEY });
    expect(doctor.stdout).toMatch(/PostgreSQL connection\s+pass\s+.*TLS on/);
  });

  it('refuses a server whose certificate the CA file does not vouch for', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const r = await runCli(['drain'], { DATABASE_URL: tlsUrl('other.crt'), SQS_QUEUE_URL: queueUrl, PII_KEY: TEST_KEY });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toHaveLength(1);
    expect(r.stderr).toMatch(/certificate/i);
    expect(r.stderr).not.toContain(new URL(pg.url).password);
  });
});

describe('least-privilege role (sql/roles.sql)', () => {
  it('runs the ETL as login_etl_writer, which can insert but not read, change or delete rows', async () => {
    const admin = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: admin })).code).toBe(0);
    const roles = readFileSync(new URL('../../sql/roles.sql', import.meta.url), 'utf8');
    await query(admin, roles);
    await query(admin, roles);
    await query(admin, `ALTER ROLE login_etl_writer PASSWORD 'writer-pw'`);
    const writer = new URL(admin);
    writer.username = 'login_etl_writer';
    writer.password = 'writer-pw';
    const sqs = sqsClient();
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, (await validSampleBodies()).slice(0, 30));
    const env = { DATABASE_URL: writer.toString(), SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY };
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 30 });
    expect((await runCli(['drain', '--json'], env)).code).toBe(0);
    const doctor = await runCli(['doctor'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/privileges\s+pass/);
    for (const sql of ['SELECT * FROM user_logins', 'DELETE FROM user_logins', 'UPDATE user_logins SET locale = NULL', 'DROP TABLE login_etl_ledger']) {
      await expect(query(writer.toString(), sql)).rejects.toMatchObject({ code: expect.stringMatching(/^42501$|^42P01$/) });
    }
    const [n] = await query<{ n: number }>(admin, 'SELECT count(*)::int AS n FROM user_logins');
    expect(n?.n).toBe(30);
    sqs.destroy();
  });
});
