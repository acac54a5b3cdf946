import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, sqsClient, TEST_KEY, validSampleBodies } from '../helpers/services.js';

describe('operations commands', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it('doctor prints a pass/fail table and exits 1 when something fails', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    const env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY };
    const before = await runCli(['doctor'], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/schema\s+FAIL\s+table user_logins does not exist; run `login-etl init-db`/);
    expect(before.stdout).toMatch(/masking key\s+pass/);
    expect(before.stdout).toMatch(/SQS source queue\s+pass/);
    const tuned = await runCli(['doctor', '--batch-size', '400', '--max-in-flight', '2000'], { ...env, SQS_RECEIVERS: '4' });
    expect(tuned.stdout).toMatch(/settings\s+pass\s+4 receivers, long poll 20 s \(drain 1 s\), visibility 30 s, MAX_IN_FLIGHT 2,000, batches of 400 rows or 200 ms, SINK_CONCURRENCY 2, shutdown 20,000 ms/);
    expect((await runCli(['init-db'], env)).code).toBe(0);
    const after = await runCli(['doctor'], env);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).not.toContain('FAIL');
    const noKey = await runCli(['doctor'], { ...env, PII_KEY: 'short' });
    expect(noKey.code).toBe(1);
    expect(noKey.stdout).toMatch(/masking key\s+FAIL\s+PII_KEY/);
    expect(noKey.stdout).not.toContain('short');
  });

  it('redrive moves dead letters back to the source queue, where a fixed pipeline takes them', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    const env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY };
    expect((await runCli(['init-db'], env)).code).toBe(0);
    // Nested events: rejected under the default mapping, accepted once FIELD_MAP is fixed.
    const nested = (await validSampleBodies()).slice(0, 5).map((b) => {
      const { ip, ...rest } = JSON.parse(b) as Record<string, unknown>;
      return JSON.stringify({ ...rest, net: { ip } });
    });
    await sendBodies(sqs, queueUrl, nested);
    expect(lastJson((await runCli(['drain', '--json'], env)).stdout)).toMatchObject({ written: 0, rejected: 5 });
    expect(await depth(sqs, dlqUrl)).toBe(5);
    const moved = await runCli(['redrive'], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('moved 5 messages');
    expect(await depth(sqs, dlqUrl)).toBe(0);
    const fixed = await runCli(['drain', '--json', '--field-map', '{"ip":"net.ip"}'], env);
    expect(lastJson(fixed.stdout)).toMatchObject({ written: 5, rejected: 0 });
  });
});
