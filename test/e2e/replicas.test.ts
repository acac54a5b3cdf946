import type { ChildProcess } from 'node:child_process';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { runCli, startCli } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('competing replicas', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it('three `run` replicas on one queue, five SIGKILLs between them: every message written exactly once', async () => {
    const N = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(N, 'replica'), 16);
    // A short visibility timeout, so what a killed replica held comes back quickly to the others.
    const env = {
      SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, SQS_WAIT_TIME_SECONDS: '1', SQS_VISIBILITY_TIMEOUT: '3',
      BATCH_SIZE: '100', SQS_RECEIVERS: '3', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', LOG_LEVEL: 'error',
    };
    const replicas: ChildProcess[] = [];
    const start = (i: number) => {
      replicas[i] = startCli(['run'], env).child;
    };
    for (let i = 0; i < 3; i++) start(i);
    const rowsAtKills: number[] = [];
    for (let k = 0; k < 5; k++) {
      await sleep(400 + Math.floor(Math.random() * 400));
      rowsAtKills.push((await rowCounts(db, 'replica')).total);
      const victim = Math.floor(Math.random() * 3);
      const child = replicas[victim];
      const exited = new Promise((r) => child?.once('exit', r));
      child?.kill('SIGKILL');
      await exited;
      start(victim);
    }
    // Then let the survivors finish: everything written, nothing left on the queue.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && ((await rowCounts(db, 'replica')).total < N || (await depth(sqs, queueUrl)) > 0)) await sleep(500);
    const stopped = replicas.map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of replicas) c.kill('SIGTERM');
    await Promise.all(stopped);
    expect(await rowCounts(db, 'replica')).toEqual({ total: N, distinct: N });
    expect(await depth(sqs, queueUrl)).toBe(0);
    // The kills landed mid-work, not after the queue was done.
    expect(rowsAtKills.filter((n) => n < N).length, `rows at each kill: ${rowsAtKills.join(', ')}`).toBeGreaterThanOrEqual(3);
  }, 150_000);
});
