import pg from 'pg';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { createSqsClient } from '../../src/source/client.js';
import { createQueue } from '../../src/source/queue.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { startFauxqsProcess } from '../helpers/fauxqsProcess.js';
import { freshQueues, rowCounts, testKey, uniqueBodies, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.from(testKey(14), 'base64')]]) }, 'hmac'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }), lines };
}

async function until<T>(fn: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const waitingLines = (lines: Record<string, unknown>[], dependency: string) =>
  lines.filter((l) => String(l.msg).startsWith(`waiting `) && (l.waiting as { dependency?: string } | undefined)?.dependency === dependency);

describe('waiting lines while a call is blocked', () => {
  const env = useServices();
  const base = (queueUrl: string, over: Partial<PipelineOptions> = {}): PipelineOptions => ({
    sqs: env.sqs, pool: env.pool, transform, log: pino({ level: 'silent' }), queueUrl, receivers: 2, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30,
    maxInFlight: 1000, batchSize: 50, batchMaxAgeMs: 50, sinkConcurrency: 2, retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true, waitLogIntervalMs: 500, ...over,
  });

  it('a table locked by another session: a line at a steady interval naming PostgreSQL, the wait and the session holding the lock; status() shows it', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(30, 'locked'));
    const locker = new pg.Client({ connectionString: env.url });
    await locker.connect();
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE user_logins IN ACCESS EXCLUSIVE MODE');
    const { log, lines } = capture();
    try {
      const p = createPipeline(base(queueUrl, { log }));
      const running = p.run();
      const st = await until(() => (p.status().waiting.some((w) => w.cause) ? p.status() : undefined), 'status() to show the write waiting for the lock');
      expect(st.waiting[0]).toMatchObject({ dependency: 'PostgreSQL', what: 'batch write', cause: expect.stringContaining(`session pid ${lockerPid}`) as unknown as string });
      await until(() => (waitingLines(lines, 'PostgreSQL').length >= 3 ? true : undefined), 'three waiting lines');
      const logged = waitingLines(lines, 'PostgreSQL');
      expect(String(logged[2]?.msg)).toMatch(/^waiting \d+ s for PostgreSQL: (a batch write has|\d+ batch writes have) not finished; it waits for a lock held by session pid \d+/);
      // The waits grow from line to line: one line per interval, not one per call.
      const secs = logged.map((l) => (l.waiting as { seconds: number }).seconds);
      expect(secs[2]).toBeGreaterThan(secs[0] ?? Infinity);
      await locker.query('COMMIT');
      const s = await running;
      expect(s).toMatchObject({ written: 30 });
      expect(p.status().waiting).toEqual([]);
      expect(await rowCounts(env.url, 'locked')).toEqual({ total: 30, distinct: 30 });
    } finally {
      await locker.end();
    }
  });

  it('an SQS server frozen (SIGSTOP): a line naming SQS and the call; status() shows it; it resumes when the server does', async () => {
    const fauxqs = await startFauxqsProcess();
    const sqs = createSqsClient({ queueUrl: fauxqs.endpoint, sqsEndpoint: fauxqs.endpoint, region: 'us-east-1' }, {}, { timeoutMs: 30_000 });
    const { log, lines } = capture();
    try {
      const queueUrl = await createQueue(sqs, 'frozen');
      const p = createPipeline(base(queueUrl, { sqs, log, untilEmpty: false, waitTimeSeconds: 1 }));
      const running = p.run();
      await sendBodies(sqs, queueUrl, uniqueBodies(10, 'frozen1'));
      await until(() => (p.stats().written >= 10 ? true : undefined), 'the first rows');
      fauxqs.freeze();
      const st = await until(() => (p.status().waiting.length > 0 ? p.status() : undefined), 'status() to show SQS blocked');
      expect(st.waiting.every((w) => w.dependency === 'SQS' && /^(ReceiveMessage|DeleteMessageBatch|ChangeMessageVisibilityBatch)$/.test(w.what))).toBe(true);
      await until(() => (waitingLines(lines, 'SQS').length > 0 ? true : undefined), 'a waiting line');
      expect(String(waitingLines(lines, 'SQS')[0]?.msg)).toMatch(/^waiting \d+ s for SQS: \w+( \(\d+ calls\))? has not answered; the endpoint is slow or unreachable/);
      fauxqs.thaw();
      await sendBodies(sqs, queueUrl, uniqueBodies(10, 'frozen2'));
      await until(() => (p.stats().written >= 20 ? true : undefined), 'rows after the thaw');
      await until(() => (p.status().waiting.length === 0 ? true : undefined), 'status() to clear');
      p.stop();
      await running;
    } finally {
      await sqs.destroy();
      await fauxqs.stop();
    }
  });
});
