import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/demo/embedded.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli, startCli } from '../helpers/cli.js';
import { depth, freshQueues, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

describe('PostgreSQL restart during a drain', () => {
  let sqs: SqsClient;
  let pg: EmbeddedPostgres;

  beforeAll(async () => {
    sqs = sqsClient();
    pg = await startEmbeddedPostgres();
  });
  afterAll(async () => {
    sqs.destroy();
    await pg.destroy();
  });

  it('pauses, retries and finishes: no crash, no loss, no duplicates', async () => {
    const total = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    expect((await runCli(['init-db'], { DATABASE_URL: pg.url })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'restart'), 16);
    const { done } = startCli(['drain', '--json'], {
      SQS_QUEUE_URL: queueUrl, DATABASE_URL: pg.url, PII_KEY: TEST_KEY, BATCH_SIZE: '100', RETRY_BASE_MS: '50', RETRY_MAX_MS: '500', LOG_LEVEL: 'info',
    });
    // Stop PostgreSQL once the drain is writing (not at a fixed delay: start-up takes longer on a loaded machine).
    for (let i = 0; i < 400 && (await rowCounts(pg.url, 'restart')).total === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await pg.stop();
    await new Promise((r) => setTimeout(r, 2500));
    await pg.start();
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('PostgreSQL is unavailable; receiving paused');
    expect(r.stderr).toContain('PostgreSQL is reachable again; receiving resumes');
    expect(lastJson<{ received: number }>(r.stdout).received).toBeGreaterThanOrEqual(total);
    expect(await rowCounts(pg.url, 'restart')).toEqual({ total, distinct: total });
    expect(await depth(sqs, queueUrl)).toBe(0);
  }, 120_000);
});
