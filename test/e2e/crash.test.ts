import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli, startCli } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const N = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('exactly-once through crashes', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it(`SIGKILL at random moments, 5 times, then a full drain: each of ${N} messages is written exactly once`, async () => {
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(N, 'crash'));
    // Small batches and a short visibility timeout: slower drains to kill mid-flight, and quick redelivery.
    const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, BATCH_SIZE: '50', SINK_CONCURRENCY: '1', SQS_RECEIVERS: '2', SQS_VISIBILITY_TIMEOUT: '3', LOG_LEVEL: 'error' };
    const kills: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { child, done } = startCli(['drain', '--json'], env);
      // Kill while it writes: once this drain has committed something, at a random moment within 300 ms. A fixed
      // delay could outlast the queue on a fast machine, and the last drains would end on their own.
      const before = (await rowCounts(db, 'crash')).total;
      for (let waited = 0; waited < 10_000 && (await rowCounts(db, 'crash')).total === before; waited += 20) await sleep(20);
      await sleep(Math.floor(Math.random() * 300));
      child.kill('SIGKILL');
      const r = await done;
      expect(r.signal, `drain ${i} should have been killed, exited ${r.code}: ${r.stderr}`).toBe('SIGKILL');
      kills.push((await rowCounts(db, 'crash')).total);
    }
    // Progress was made between kills, and nothing was written twice on the way.
    expect(kills.at(-1)).toBeGreaterThan(0);
    expect((await rowCounts(db, 'crash')).total).toBe((await rowCounts(db, 'crash')).distinct);

    const final = await runCli(['drain', '--json'], env);
    expect(final.code, final.stderr).toBe(0);
    expect(await rowCounts(db, 'crash')).toEqual({ total: N, distinct: N });
    expect(await depth(sqs, queueUrl)).toBe(0);
    expect(lastJson<{ duplicates: number }>(final.stdout).duplicates).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('SIGTERM during a drain exits 143 (interrupted), and everything committed has been deleted', async () => {
    const total = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'term'), 16);
    const { child, done } = startCli(['drain', '--json'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, BATCH_SIZE: '100', LOG_LEVEL: 'info' });
    // Signal once the drain is writing (not at a fixed delay: start-up takes longer on a loaded machine).
    for (let i = 0; i < 400 && (await rowCounts(db, 'term')).total === 0; i++) await sleep(25);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('stopping: flushing and acknowledging what is in hand');
    const summary = lastJson<{ written: number; complete: boolean; ended: string }>(r.stdout);
    expect(summary).toMatchObject({ complete: false, ended: 'signal' });
    const rows = await rowCounts(db, 'term');
    expect(rows.total).toBe(rows.distinct);
    expect(rows.total).toBe(summary.written);
    expect(rows.total).toBeLessThan(total);
    // Nothing written is still on the queue, and nothing unwritten is lost.
    expect(rows.total + (await depth(sqs, queueUrl))).toBe(total);
  });
});
