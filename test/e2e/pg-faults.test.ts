import { readFileSync } from 'node:fs';
import type { SqsClient } from '../../src/source/client.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/demo/embedded.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli, startCli } from '../helpers/cli.js';
import { depth, freshQueues, query, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
const logLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * PostgreSQL faults that must neither stop nor hang the service. A server of its own: the read-only switch is
 * server-wide (ALTER SYSTEM), as it is when a failover lands on a replica.
 */
describe('PostgreSQL faults: read-only, too many connections, CONNECTION LIMIT', () => {
  let server: EmbeddedPostgres;
  let sqs: SqsClient;
  let writerUrl: string;
  const admin = (sql: string) => query(server.url, sql);
  const readOnly = async (on: boolean) => {
    await admin(on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only');
    await admin('SELECT pg_reload_conf()');
  };
  const fast = { BATCH_SIZE: '100', RETRY_BASE_MS: '50', RETRY_MAX_MS: '500', LOG_LEVEL: 'info', PII_KEY: TEST_KEY };

  beforeAll(async () => {
    sqs = sqsClient();
    server = await startEmbeddedPostgres();
    expect((await runCli(['init-db'], { DATABASE_URL: server.url })).code).toBe(0);
    await admin(readFileSync(new URL('../../sql/roles.sql', import.meta.url), 'utf8'));
    await admin("ALTER ROLE login_etl_writer PASSWORD 'writer-pw'");
    const u = new URL(server.url);
    u.username = 'login_etl_writer';
    u.password = 'writer-pw';
    writerUrl = u.toString();
  }, 120_000);
  afterAll(async () => {
    sqs.destroy();
    await server.destroy();
  });

  it('a server that turns read-only mid-drain (SQLSTATE 25006): pauses, reconnects, finishes with every row once', async () => {
    const total = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'ro'), 16);
    const { child, done } = startCli(['drain', '--json'], { ...fast, SQS_QUEUE_URL: queueUrl, DATABASE_URL: server.url });
    await waitFor('the first rows', async () => (await rowCounts(server.url, 'ro')).total > 0);
    await readOnly(true);
    await sleep(2500);
    expect(child.exitCode).toBeNull(); // still there, waiting
    await readOnly(false);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson<{ received: number }>(r.stdout).received).toBeGreaterThanOrEqual(total);
    expect(await rowCounts(server.url, 'ro')).toEqual({ total, distinct: total });
    expect(await depth(sqs, queueUrl)).toBe(0);
    const logs = logLines(r.stderr);
    expect(logs.some((l) => l.sqlstate === '25006')).toBe(true);
    expect(logs.some((l) => String(l.msg).includes('receiving paused'))).toBe(true);
    expect(logs.some((l) => String(l.msg).includes('receiving resumes'))).toBe(true);
  }, 120_000);

  it('run: /readyz says 503 while the server is read-only and 200 once it takes writes again; nothing is lost', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const { child, done } = startCli(['run'], { ...fast, SQS_QUEUE_URL: queueUrl, DATABASE_URL: server.url, METRICS_PORT: '0', SQS_WAIT_TIME_SECONDS: '1' });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let port = 0;
    await waitFor('the HTTP endpoints', async () => {
      port = Number(logLines(stderr).find((l) => l.port !== undefined)?.port ?? 0);
      return port > 0;
    });
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: res.status, body: await res.text() };
    };
    await waitFor('ready', async () => (await readyz()).status === 200);
    try {
      await readOnly(true);
      await sendBodies(sqs, queueUrl, uniqueBodies(50, 'ready'));
      await waitFor('/readyz 503', async () => (await readyz()).status === 503);
      expect((await readyz()).body).toMatch(/^not ready: PostgreSQL/);
    } finally {
      await readOnly(false);
    }
    await waitFor('/readyz 200 again', async () => (await readyz()).status === 200);
    await waitFor('every row', async () => (await rowCounts(server.url, 'ready')).total === 50);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    expect(await rowCounts(server.url, 'ready')).toEqual({ total: 50, distinct: 50 });
  }, 120_000);

  it('"too many connections" (SQLSTATE 53300) after the connections drop: backs off, reconnects, finishes', async () => {
    const total = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'slots'), 16);
    const { child, done } = startCli(['drain', '--json'], { ...fast, SQS_QUEUE_URL: queueUrl, DATABASE_URL: writerUrl });
    await waitFor('the first rows', async () => (await rowCounts(server.url, 'slots')).total > 0);
    try {
      // No slot for the ETL's role, then its connections cut: every reconnect is refused with 53300.
      await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT 0');
      await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'login_etl_writer'");
      await sleep(2500);
      expect(child.exitCode).toBeNull();
    } finally {
      await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT -1');
    }
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(await rowCounts(server.url, 'slots')).toEqual({ total, distinct: total });
    expect(logLines(r.stderr).some((l) => l.sqlstate === '53300')).toBe(true);
  }, 120_000);

  it('a role with CONNECTION LIMIT 1 (below the pool size): drain fits the pool to it, says so, and finishes', async () => {
    const total = 3000;
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'limit1'), 16);
    await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT 1');
    try {
      const r = await runCli(['drain', '--json'], { ...fast, SQS_QUEUE_URL: queueUrl, DATABASE_URL: writerUrl });
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ written: total });
      expect(logLines(r.stderr).filter((l) => l.level === 30 && String(l.msg).startsWith('PostgreSQL:')).map((l) => l.msg)).toEqual([
        'PostgreSQL: user "login_etl_writer" may open 1 connection (CONNECTION LIMIT 1, 0 open elsewhere); using 1 connection instead of 3',
      ]);
      expect(await rowCounts(server.url, 'limit1')).toEqual({ total, distinct: total });
    } finally {
      await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT -1');
    }
  }, 120_000);

  it('CONNECTION LIMIT 1 already taken by another session: one line naming the limit, exit 1, no hang', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT 1');
    const holder = new pg.Client({ connectionString: writerUrl });
    await holder.connect();
    try {
      const r = await runCli(['drain'], { ...fast, SQS_QUEUE_URL: queueUrl, DATABASE_URL: writerUrl });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toEqual([
        expect.stringMatching(/^login-etl: PostgreSQL at login_etl_writer@127\.0\.0\.1:\d+\/postgres has no connection slot free \(SQLSTATE 53300\): the server's max_connections, or a CONNECTION LIMIT on user "login_etl_writer" or database "postgres", is reached$/),
      ]);
    } finally {
      await holder.end();
      await admin('ALTER ROLE login_etl_writer CONNECTION LIMIT -1');
    }
  }, 60_000);
});
