import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { createSqsClient } from '../../src/source/client.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { depth, freshQueues, rowCounts, sqsEndpoint, uniqueBodies, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.alloc(32, 4)]]) }, 'hmac'));
const silent = pino({ level: 'silent' });

/** An HTTP proxy in front of the real SQS server that answers 500 (or 400 throttling) while `failing` is set. */
async function faultyProxy(target: string): Promise<{ url: string; server: Server; failing: false | 500 | 'throttle'; failures: number }> {
  const t = new URL(target);
  const state = { url: '', server: undefined as unknown as Server, failing: false as false | 500 | 'throttle', failures: 0 };
  state.server = createServer((req, res) => {
    if (state.failing) {
      state.failures++;
      const throttle = state.failing === 'throttle';
      res.writeHead(throttle ? 400 : 500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: throttle ? 'com.amazonaws.sqs#RequestThrottled' : 'com.amazonaws.sqs#InternalError', message: 'injected' }));
      req.resume();
      return;
    }
    const up = request({ hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
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
    const proxy = await faultyProxy(sqsEndpoint());
    const flaky = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    const failuresSeen: string[] = [];
    const p = createPipeline(base(queueUrl, { sqs: flaky, batchSize: 50, sinkConcurrency: 1 }));
    p.events.on('failure', (component, code) => failuresSeen.push(`${component}:${code}`));
    const run = p.run();
    setTimeout(() => (proxy.failing = 500), 100);
    setTimeout(() => (proxy.failing = 'throttle'), 900);
    setTimeout(() => (proxy.failing = false), 1700);
    const s = await run;
    proxy.server.close();
    flaky.destroy();
    expect(proxy.failures).toBeGreaterThan(0);
    expect(failuresSeen.some((f) => f.startsWith('sqs:'))).toBe(true);
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
});
