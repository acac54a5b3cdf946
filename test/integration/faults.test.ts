import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions, type PipelineStatus } from '../../src/pipeline/pipeline.js';
import { createSqsClient } from '../../src/source/client.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { faultProxy } from '../helpers/proxy.js';
import { depth, freshQueues, rowCounts, sqsEndpoint, testKey, uniqueBodies, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.from(testKey(4), 'base64')]]) }, 'hmac'));
const silent = pino({ level: 'silent' });

/** A logger whose JSON lines are kept, to check what the pipeline said. */
function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

describe('faults', () => {
  const env = useServices();
  const base = (queueUrl: string, over: Partial<PipelineOptions> = {}): PipelineOptions => ({
    sqs: env.sqs, pool: env.pool, transform, log: silent, queueUrl, receivers: 4, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, maxInFlight: 1000,
    batchSize: 100, batchMaxAgeMs: 50, sinkConcurrency: 2, retryBaseMs: 50, retryMaxMs: 400, untilEmpty: true, ...over,
  });

  it('SQS 5xx and throttling mid-drain: backs off, recovers by itself, exactly once', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(3000, 'sqsfault'), 16);
    const proxy = await faultProxy(sqsEndpoint());
    const flaky = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    const failuresSeen: string[] = [];
    const { log, lines } = capture();
    const p = createPipeline(base(queueUrl, { sqs: flaky, batchSize: 50, sinkConcurrency: 1, log }));
    p.events.on('failure', (component, code) => failuresSeen.push(`${component}:${code}`));
    const statuses: PipelineStatus['source'][] = [];
    const watch = setInterval(() => statuses.push(p.status().source), 20);
    const run = p.run();
    setTimeout(() => (proxy.mode = 500), 100);
    setTimeout(() => (proxy.mode = 'throttle'), 900);
    setTimeout(() => (proxy.mode = 'pass'), 1700);
    const s = await run;
    clearInterval(watch);
    await proxy.close();
    await flaky.destroy();
    expect(proxy.failures).toBeGreaterThan(0);
    expect(failuresSeen).toContain('sqs:InternalError');
    expect(failuresSeen).toContain('sqs:RequestThrottled');
    // status() showed SQS down with the reason during the outage, and up after it.
    expect(statuses.some((st) => !st.up && (st.code === 'InternalError' || st.code === 'RequestThrottled') && (st.reason ?? '').includes(queueUrl))).toBe(true);
    expect(p.status().source.up).toBe(true);
    // Each warning carries a repeat key per call and code, for the logger to summarise.
    const warned = lines.filter((l) => l.level === 40 && String(l.msg).includes('failed'));
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.every((l) => /^sqs:(ReceiveMessage|DeleteMessageBatch|ChangeMessageVisibilityBatch):(InternalError|RequestThrottled)$/.test(String(l.repeat)))).toBe(true);
    expect(await rowCounts(env.url, 'sqsfault')).toEqual({ total: 3000, distinct: 3000 });
    expect(s.written).toBe(3000);
    // Deletes that failed during the outage were retried, not left to redeliver.
    expect(s.duplicates).toBe(0);
    expect(await depth(env.sqs, queueUrl)).toBe(0);
  });

  it('the heartbeat keeps a slow batch invisible past its visibility timeout: no redelivery', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(200, 'heartbeat'));
    // Hold a lock on the table for longer than the 2 s visibility timeout, so every write waits.
    const blocker = await env.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE user_logins IN ACCESS EXCLUSIVE MODE');
    const run = createPipeline(base(queueUrl, { visibilityTimeoutSeconds: 2 })).run();
    await new Promise((r) => setTimeout(r, 5000));
    await blocker.query('COMMIT');
    blocker.release();
    const s = await run;
    expect(s).toMatchObject({ received: 200, written: 200, duplicates: 0 });
    expect(await rowCounts(env.url, 'heartbeat')).toEqual({ total: 200, distinct: 200 });
  });
  it('SQS turns into a black hole mid-drain (accepts, never answers): calls time out, are logged and retried; the drain finishes exactly once', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(2000, 'blackhole'), 16);
    const proxy = await faultProxy(sqsEndpoint());
    const frozen = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {}, { timeoutMs: 300 });
    const { log, lines } = capture();
    const p = createPipeline(base(queueUrl, { sqs: frozen, batchSize: 50, sinkConcurrency: 1, log }));
    const run = p.run();
    setTimeout(() => (proxy.mode = 'blackhole'), 100);
    setTimeout(() => (proxy.mode = 'pass'), 1500);
    const s = await run;
    await proxy.close();
    await frozen.destroy();
    expect(proxy.failures).toBeGreaterThan(0);
    const timeouts = lines.filter((l) => String(l.repeat ?? '').endsWith(':UND_ERR_HEADERS_TIMEOUT'));
    expect(timeouts.length).toBeGreaterThan(0);
    expect(timeouts.every((l) => l.level === 40)).toBe(true);
    expect(await rowCounts(env.url, 'blackhole')).toEqual({ total: 2000, distinct: 2000 });
    expect(s.written + s.duplicates).toBe(s.received - s.rejected);
    expect(await depth(env.sqs, queueUrl)).toBe(0);
  });
});
