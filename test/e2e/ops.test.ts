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
    // Not a second FAIL pointing at sql/roles.sql: the missing schema is the one thing to fix.
    expect(before.stdout).toMatch(/privileges\s+skip\s+not checked until the schema check passes/);
    expect(before.stdout).toMatch(/masking key\s+pass/);
    expect(before.stdout).toMatch(/SQS source queue\s+pass/);
    const tuned = await runCli(['doctor', '--batch-size', '400', '--max-in-flight', '2000'], { ...env, SQS_RECEIVERS: '4' });
    expect(tuned.stdout).toMatch(/settings\s+pass\s+4 receivers, long poll 20 s \(drain 1 s\), visibility 30 s, MAX_IN_FLIGHT 2,000, batches of 400 rows or 200 ms, SINK_CONCURRENCY 2, shutdown 20,000 ms/);
    expect((await runCli(['init-db'], env)).code).toBe(0);
    const after = await runCli(['doctor'], env);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).not.toContain('FAIL');
    // The connection's warnings are in the table, not only on stderr.
    const twoUrls = await runCli(['doctor'], { ...env, DATABASE_URL_FILE: '/nonexistent/url' });
    expect(twoUrls.stdout).toMatch(/PostgreSQL connection\s+pass\s+\S+, PostgreSQL [\d.]+; warning: DATABASE_URL_FILE is ignored: DATABASE_URL \(--database-url\) is set too/);
    const noKey = await runCli(['doctor'], { ...env, PII_KEY: 'short' });
    expect(noKey.code).toBe(1);
    expect(noKey.stdout).toMatch(/masking key\s+FAIL\s+PII_KEY/);
    expect(noKey.stdout).not.toContain('short');
  });

  it('without SQS_DLQ_URL, doctor and drain warn when the queue has no redrive policy either (rejects would come back without end)', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY };
    expect((await runCli(['init-db'], env)).code).toBe(0);
    const doctor = await runCli(['doctor'], env);
    expect(doctor.code, doctor.stdout).toBe(0); // a warning, not a failure
    expect(doctor.stdout).toMatch(/SQS dead-letter queue\s+warn\s+SQS_DLQ_URL is not set and the source queue has no redrive policy: a rejected message stays on it and comes back/);
    await sendBodies(sqs, queueUrl, ['not json']);
    const drained = await runCli(['drain'], { ...env, SQS_VISIBILITY_TIMEOUT: '2' });
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stderr).toContain('SQS_DLQ_URL is not set and the source queue has no redrive policy');
    expect(drained.stdout).toContain('1 left on the queue, which has no redrive policy: they come back (no SQS_DLQ_URL)');
    // With a redrive policy the queue itself is the dead end: doctor says where rejects go, and drain does not warn.
    const { Attributes } = await sqs.call<{ Attributes: Record<string, string> }>('GetQueueAttributes', { QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] });
    const arn = Attributes.QueueArn ?? '';
    await sqs.call('SetQueueAttributes', { QueueUrl: queueUrl, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 }) } });
    const withPolicy = await runCli(['doctor'], env);
    expect(withPolicy.stdout).toMatch(new RegExp(`SQS dead-letter queue\\s+skip\\s+SQS_DLQ_URL not set: rejects stay on the source queue until its redrive policy moves them \\(after 3 receives, to ${arn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    const again = await runCli(['drain'], env);
    expect(again.stderr).not.toContain('no redrive policy');
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
