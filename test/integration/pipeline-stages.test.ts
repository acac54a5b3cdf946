import pg from 'pg';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions, type PipelineStatus } from '../../src/pipeline/pipeline.js';
import { createSqsClient } from '../../src/source/client.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { faultProxy, tcpProxy } from '../helpers/proxy.js';
import { depth, freshQueues, peekAll, rowCounts, sqsEndpoint, testKey, uniqueBodies, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.from(testKey(11), 'base64')]]) }, 'hmac'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger whose JSON lines are kept, to check what the pipeline said. */
function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }), lines };
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

describe('pipeline stages against fauxqs and PostgreSQL', () => {
  const env = useServices();
  const base = (queueUrl: string, over: Partial<PipelineOptions> = {}): PipelineOptions => ({
    sqs: env.sqs, pool: env.pool, transform, log: pino({ level: 'silent' }), queueUrl, receivers: 4, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, maxInFlight: 1000,
    batchSize: 50, batchMaxAgeMs: 50, sinkConcurrency: 2, retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true, ...over,
  });

  it('MAX_IN_FLIGHT is a hard bound: eight receivers never hold more than it together', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(600, 'bound'), 16);
    // Eight receivers of up to 10 each against a bound of 35: without reserving room before receiving they overshoot.
    const p = createPipeline(base(queueUrl, { receivers: 8, maxInFlight: 35, batchSize: 20, batchMaxAgeMs: 20, sinkConcurrency: 1 }));
    let max = 0;
    p.events.on('inFlight', (n) => (max = Math.max(max, n)));
    const s = await p.run();
    expect(s).toMatchObject({ received: 600, written: 600, duplicates: 0 });
    expect(max).toBeLessThanOrEqual(35);
    // The bound was reached (the test would see an overshoot): receiving paused on it.
    expect(max).toBeGreaterThanOrEqual(25);
    expect(await rowCounts(env.url, 'bound')).toEqual({ total: 600, distinct: 600 });
  });

  it('drain hands on a part-filled batch and its dead letters once a receive finds the queue empty, not after BATCH_MAX_AGE_MS', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, [...uniqueBodies(25, 'partial'), 'not json']);
    // An age of ten minutes: before, the drain waited it out for the last batch, and this test timed out.
    const s = await createPipeline(base(queueUrl, { dlqUrl, batchSize: 500, batchMaxAgeMs: 600_000 })).run();
    expect(s).toMatchObject({ received: 26, written: 25, rejected: 1, deadLettered: 1 });
    expect(await rowCounts(env.url, 'partial')).toEqual({ total: 25, distinct: 25 });
    expect(await depth(env.sqs, queueUrl)).toBe(0);
  }, 30_000);

  it('hands on a part-filled batch and its dead letters when they hold the last of MAX_IN_FLIGHT, not after BATCH_MAX_AGE_MS', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    const bodies = uniqueBodies(120, 'tight');
    for (let i = 7; i < bodies.length; i += 13) bodies[i] = `not json ${i}`;
    await sendBodies(env.sqs, queueUrl, bodies);
    // With MAX_IN_FLIGHT 10, four rows of a batch of 5 (or a reject waiting for its DLQ send) leave no room for
    // a receive of 10: before, each such batch waited out the age (ten minutes here) and this test timed out.
    const s = await createPipeline(base(queueUrl, { dlqUrl, batchSize: 5, maxInFlight: 10, batchMaxAgeMs: 600_000 })).run();
    const rejected = bodies.filter((b) => b.startsWith('not json')).length;
    expect(s).toMatchObject({ received: 120, written: 120 - rejected, rejected, deadLettered: rejected });
    expect(await rowCounts(env.url, 'tight')).toEqual({ total: 120 - rejected, distinct: 120 - rejected });
    expect(await depth(env.sqs, queueUrl)).toBe(0);
    expect(await depth(env.sqs, dlqUrl)).toBe(rejected);
  }, 30_000);

  it('a body corrupted on the way is not written and not dead-lettered: it stays on the queue and a later drain writes it', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(20, 'md5'));
    const proxy = await faultProxy(sqsEndpoint());
    let corrupted = 0;
    // Corrupt one body, once: user md5-7 arrives as md5-X, with the MD5 SQS computed for the original.
    proxy.rewrite = (action, body) => (action === 'ReceiveMessage' && corrupted === 0 && body.includes('md5-7\\"') ? (corrupted++, body.replace('md5-7\\"', 'md5-X\\"')) : body);
    const viaProxy = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    const { log, lines } = capture();
    try {
      const first = await createPipeline(base(queueUrl, { sqs: viaProxy, dlqUrl, log, visibilityTimeoutSeconds: 2 })).run();
      expect(corrupted).toBe(1);
      expect(first).toMatchObject({ received: 20, written: 19, rejected: 1, rejectedByReason: { corrupt_message: 1 }, leftOnQueue: 1, deadLettered: 0 });
      expect(lines.some((l) => l.reason === 'corrupt_message' && l.repeat === 'reject:corrupt_message')).toBe(true);
      expect((await rowCounts(env.url, 'md5')).total).toBe(19);
      expect(await peekAll(env.sqs, dlqUrl)).toEqual([]);
      // After its visibility timeout (2 s) the message is delivered again, intact this time.
      await sleep(2200);
      const second = await createPipeline(base(queueUrl, { sqs: viaProxy, dlqUrl })).run();
      expect(second).toMatchObject({ received: 1, written: 1, rejected: 0 });
      expect(await rowCounts(env.url, 'md5')).toEqual({ total: 20, distinct: 20 });
      expect(await depth(env.sqs, queueUrl)).toBe(0);
    } finally {
      await viaProxy.destroy();
      await proxy.close();
    }
  });

  it('a delete entry that failed (not a sender fault) is retried by its receipt handle: nothing is redelivered', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(30, 'partial'));
    const proxy = await faultProxy(sqsEndpoint());
    let failedOnce = 0;
    // Report the first entry of the first two DeleteMessageBatch answers as failed by the server.
    proxy.rewrite = (action, body) => {
      if (action !== 'DeleteMessageBatch' || failedOnce >= 2) return body;
      const out = JSON.parse(body) as { Successful: { Id: string }[]; Failed: unknown[] };
      const [first, ...rest] = out.Successful;
      if (!first) return body;
      failedOnce++;
      return JSON.stringify({ Successful: rest, Failed: [{ Id: first.Id, Code: 'InternalError', SenderFault: false, Message: 'injected' }] });
    };
    const viaProxy = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    try {
      const s = await createPipeline(base(queueUrl, { sqs: viaProxy, batchSize: 10 })).run();
      expect(failedOnce).toBe(2);
      expect(s).toMatchObject({ received: 30, written: 30, deleted: 30, duplicates: 0 });
      expect(await depth(env.sqs, queueUrl)).toBe(0);
    } finally {
      await viaProxy.destroy();
      await proxy.close();
    }
  });

  it('PostgreSQL lost mid-run: status() shows the sink down and why; a stop while it is down says so, not that it is back; its return finishes the stop', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    const u = new URL(env.url);
    const link = await tcpProxy(u.hostname, Number(u.port));
    u.port = String(link.port);
    const pool = new pg.Pool({ connectionString: u.toString(), max: 2, connectionTimeoutMillis: 1000 });
    pool.on('error', () => {});
    const { log, lines } = capture();
    try {
      const p = createPipeline(base(queueUrl, { pool, log, untilEmpty: false, waitTimeSeconds: 1, retryBaseMs: 50, retryMaxMs: 100 }));
      const running = p.run();
      await sendBodies(env.sqs, queueUrl, uniqueBodies(50, 'sinkdown'));
      await until(() => ((p.stats().written ?? 0) >= 50 ? true : undefined), '50 rows');
      expect(p.status()).toMatchObject({ state: 'running', sink: { up: true }, source: { up: true }, maxInFlight: 1000 });
      await link.cut();
      await sendBodies(env.sqs, queueUrl, uniqueBodies(20, 'sinkdown2'));
      const down = await until(() => (p.status().sink.up ? undefined : p.status()), 'the sink to be reported down');
      expect(down.sink).toMatchObject({ up: false, code: expect.stringMatching(/^(ECONNREFUSED|ECONNRESET)$/) as unknown as string, reason: expect.stringContaining('PostgreSQL unavailable') as unknown as string });
      expect(down.inFlight).toBeGreaterThan(0);
      p.stop();
      expect((p.status() as PipelineStatus).state).toBe('stopping');
      await sleep(300);
      await link.restore();
      const s = await running;
      // A batch committed just as the link was cut is written again after it: the ledger counts it as duplicates.
      expect(s.written + s.duplicates).toBe(70);
      expect(await rowCounts(env.url, 'sinkdown2')).toEqual({ total: 20, distinct: 20 });
      expect(p.status().state).toBe('stopped');
      const msgs = lines.map((l) => String(l.msg));
      const stopAt = msgs.findIndex((m) => m.startsWith('stopping while PostgreSQL is unavailable'));
      expect(stopAt).toBeGreaterThan(-1);
      expect(msgs.slice(0, stopAt)).not.toContain('PostgreSQL is reachable again; receiving resumes');
      expect(msgs.slice(stopAt)).toContain('PostgreSQL is reachable again; finishing the stop');
      expect(lines.filter((l) => l.msg === 'batch write failed; retrying').every((l) => typeof l.repeat === 'string' && String(l.repeat).startsWith('pg:'))).toBe(true);
    } finally {
      await pool.end();
      await link.close();
    }
  });
});
