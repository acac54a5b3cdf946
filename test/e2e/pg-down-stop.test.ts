import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsClient } from '../../src/source/client.js';
import { sendBodies } from '../../src/source/send.js';
import { runCli, startCli } from '../helpers/cli.js';
import { tcpProxy } from '../helpers/proxy.js';
import { depth, freshDatabase, freshQueues, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The database URL through a TCP link that the test can cut: PostgreSQL "down" without stopping the shared server. */
async function linkedDatabase(): Promise<{ url: string; direct: string; link: Awaited<ReturnType<typeof tcpProxy>> }> {
  const direct = await freshDatabase();
  const u = new URL(direct);
  const link = await tcpProxy(u.hostname, Number(u.port));
  u.port = String(link.port);
  return { url: u.toString(), direct, link };
}

describe('stopping while PostgreSQL is down', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it('drain: SIGTERM during the outage logs what is true (never "reachable again"), gives up at the shutdown timeout, loses nothing', async () => {
    const { url, direct, link } = await linkedDatabase();
    try {
      expect((await runCli(['init-db'], { DATABASE_URL: direct })).code).toBe(0);
      const { queueUrl } = await freshQueues(sqs);
      await sendBodies(sqs, queueUrl, uniqueBodies(3000, 'termdown'), 16);
      const env = { SQS_QUEUE_URL: queueUrl, PII_KEY: TEST_KEY, BATCH_SIZE: '50', SINK_CONCURRENCY: '1', RETRY_BASE_MS: '50', RETRY_MAX_MS: '200', SHUTDOWN_TIMEOUT_MS: '1500', SQS_VISIBILITY_TIMEOUT: '3' };
      const { child, done } = startCli(['drain', '--json'], { ...env, DATABASE_URL: url });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      await waitFor(async () => ((await rowCounts(direct, 'termdown')).total > 0 ? true : undefined), 'the first rows');
      await link.cut();
      await waitFor(() => (stderr.includes('PostgreSQL is unavailable; receiving paused') ? true : undefined), 'the outage to be noticed');
      child.kill('SIGTERM');
      const r = await done;
      expect(r.signal).toBeNull();
      expect(r.stderr).toContain('stopping while PostgreSQL is unavailable');
      expect(r.stderr).toContain('shutdown timeout reached');
      expect(r.stderr).not.toContain('PostgreSQL is reachable again');
      await link.restore();
      // Nothing written twice, nothing lost: what was not written is still on the queue (a batch committed just as
      // the link was cut may be there too, its delete never sent), and a drain afterwards settles all of it once.
      const rows = await rowCounts(direct, 'termdown');
      expect(rows.total).toBe(rows.distinct);
      expect(rows.total).toBeLessThan(3000);
      expect(rows.total + (await depth(sqs, queueUrl))).toBeGreaterThanOrEqual(3000);
      const after = await runCli(['drain', '--json'], { ...env, DATABASE_URL: direct });
      expect(after.code, after.stderr).toBe(0);
      expect(await rowCounts(direct, 'termdown')).toEqual({ total: 3000, distinct: 3000 });
      expect(await depth(sqs, queueUrl)).toBe(0);
    } finally {
      await link.close();
    }
  });

  it('run: /readyz says PostgreSQL is down and why; SIGTERM then stops without claiming it is back', async () => {
    const { url, direct, link } = await linkedDatabase();
    try {
      expect((await runCli(['init-db'], { DATABASE_URL: direct })).code).toBe(0);
      const { queueUrl } = await freshQueues(sqs);
      const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: url, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1', RETRY_BASE_MS: '50', RETRY_MAX_MS: '200', SHUTDOWN_TIMEOUT_MS: '1500' });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const port = await waitFor(() => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints');
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 'ready');
      // Past start-up for sure: the pipeline has written a row.
      await sendBodies(sqs, queueUrl, uniqueBodies(1, 'first'));
      await waitFor(async () => ((await rowCounts(direct, 'first')).total === 1 ? true : undefined), 'the first row');
      await link.cut();
      await sendBodies(sqs, queueUrl, uniqueBodies(20, 'readyz'));
      const text = await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`run exited ${child.exitCode}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        const body = await res.text();
        return res.status === 503 && body.includes('PostgreSQL unavailable') ? body : undefined;
      }, '/readyz to report the sink down');
      expect(text).toMatch(/^not ready: PostgreSQL unavailable: unreachable \((ECONNREFUSED|ECONNRESET)\); receiving paused while the batch is retried/);
      child.kill('SIGTERM');
      const r = await done;
      // The stop could not finish (nothing can be written): the shutdown timeout ends it, and says so with 143.
      expect(r.code).toBe(143);
      expect(r.stderr).toContain('stopping while PostgreSQL is unavailable');
      expect(r.stderr).toContain('shutdown timeout reached');
      expect(r.stderr).not.toContain('PostgreSQL is reachable again');
    } finally {
      await link.close();
    }
  });
});
