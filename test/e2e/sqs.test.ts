import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsClient } from '../../src/source/client.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli, startCli } from '../helpers/cli.js';
import { blackHole, faultProxy } from '../helpers/proxy.js';
import { depth, freshDatabase, freshQueues, rowCounts, sqsClient, sqsEndpoint, TEST_KEY, uniqueBodies } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
/** No AWS configuration from the developer's machine: an empty home, no instance metadata lookups. */
const noAws = () => ({ HOME: tempDir('home-'), AWS_EC2_METADATA_DISABLED: 'true' });

describe('login-etl and SQS (CLI subprocess)', () => {
  let sqs: SqsClient;
  let db: string;
  beforeAll(async () => {
    sqs = sqsClient();
    db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  });
  afterAll(() => sqs.destroy());

  it('no AWS credentials against AWS: one line naming the ways to provide them, exit 2, nothing sent', async () => {
    const r = await runCli(['drain'], { ...noAws(), PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue' });
    expect(r.code, r.stderr).toBe(2);
    const lines = oneLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^login-etl: no AWS credentials found for SQS; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE .*ECS task role or EKS IRSA \/ Pod Identity$/);
    expect(r.stderr).not.toContain('CredentialsProviderError');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a profile that does not exist says which one, still one line', async () => {
    const r = await runCli(['doctor'], { ...noAws(), PII_KEY: TEST_KEY, DATABASE_URL: db, AWS_PROFILE: 'nope', SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue' });
    expect(r.stdout).toMatch(/SQS source queue\s+FAIL\s+no AWS credentials found for SQS \(AWS_PROFILE=nope: /);
  });

  it('half a key pair against AWS: the one line says which half is missing', async () => {
    const r = await runCli(['drain'], { ...noAws(), PII_KEY: TEST_KEY, DATABASE_URL: db, AWS_SECRET_ACCESS_KEY: 'secret', SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue' });
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toEqual([expect.stringMatching(/^login-etl: no AWS credentials found for SQS \(AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not\); set AWS_ACCESS_KEY_ID and/) as unknown as string]);
  });

  it("AWS_PROFILE beside keys in the environment: the profile's keys sign, with one warning line (not the SDK's nine)", async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(3, 'profile'));
    const home = tempDir('home-');
    mkdirSync(join(home, '.aws'));
    writeFileSync(join(home, '.aws', 'credentials'), '[etl]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n');
    const proxy = await faultProxy(sqsEndpoint());
    try {
      const r = await runCli(['drain', '--json'], { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_PROFILE: 'etl', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret', PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL_SQS: proxy.url });
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ received: 3, written: 3 });
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect(proxy.seen.every((q) => q.authorization.includes('Credential=AKIDPROFILE/'))).toBe(true);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('AWS_PROFILE'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, msg: expect.stringMatching(/^AWS_PROFILE is set, so AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment are not used/) as unknown as string });
      expect(r.stderr).not.toContain('Multiple credential sources');
    } finally {
      await proxy.close();
    }
  });

  it("a queue URL in another region than AWS_REGION: requests are signed for the URL's region, and the drain works", async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(5, 'region'));
    const proxy = await faultProxy(sqsEndpoint());
    try {
      // An AWS-style URL that names eu-west-1; the proxy maps it back to the emulator's URL for the queue.
      const awsStyle = `https://sqs.eu-west-1.amazonaws.com${new URL(queueUrl).pathname}`;
      proxy.rewriteRequest = (_action, body) => body.split(awsStyle).join(queueUrl);
      const r = await runCli(['drain', '--json'], { ...noAws(), PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: awsStyle, AWS_ENDPOINT_URL_SQS: proxy.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', LOG_LEVEL: 'debug' });
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ received: 5, written: 5 });
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect(proxy.seen.every((s) => s.authorization.includes('Credential=AKIDEXAMPLE/') && s.authorization.includes('/eu-west-1/sqs/aws4_request'))).toBe(true);
      expect(r.stderr).toContain("signing for the queue URL's region");
    } finally {
      await proxy.close();
    }
  });

  it('a black-hole SQS endpoint (accepts, never answers) does not hang drain: one line, exit 1', async () => {
    const hole = await blackHole();
    try {
      const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: `${hole.url}/000000000000/login-queue`, SQS_TIMEOUT_MS: '500' });
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toEqual([`login-etl: SQS did not answer for ${hole.url}/000000000000/login-queue (GetQueueAttributes: no answer within 500 ms (UND_ERR_HEADERS_TIMEOUT)); is the endpoint up? Check SQS_QUEUE_URL / AWS_ENDPOINT_URL_SQS, or raise SQS_TIMEOUT_MS`]);
      expect(hole.connections).toBeGreaterThan(0);
    } finally {
      await hole.close();
    }
  });

  it('an SQS outage under load prints no MaxListenersExceededWarning, only tagged JSON warnings, and the drain recovers', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(4000, 'outage'), 16);
    const proxy = await faultProxy(sqsEndpoint());
    try {
      const { child, done } = startCli(['drain', '--json'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl, AWS_ENDPOINT_URL_SQS: proxy.url, RETRY_BASE_MS: '50', RETRY_MAX_MS: '300', LOG_LEVEL: 'warn' });
      // Fail every call once the first batches are being committed, so that many deletes retry at once.
      let seenDeletes = false;
      const arm = setInterval(() => {
        if (!seenDeletes && proxy.seen.some((s) => s.target === 'AmazonSQS.DeleteMessageBatch')) {
          seenDeletes = true;
          proxy.mode = 500;
          setTimeout(() => (proxy.mode = 'pass'), 2500);
        }
      }, 5);
      const r = await done;
      clearInterval(arm);
      expect(child.exitCode).toBe(0);
      expect(proxy.failures).toBeGreaterThan(20);
      expect(r.stderr).not.toContain('MaxListenersExceededWarning');
      expect(r.stderr).not.toContain('memory leak');
      // Everything on stderr is a JSON log line; the outage's warnings carry a repeat key per call and code.
      const lines = r.stderr.trim().split('\n').filter((l) => l !== '');
      const parsed = lines.map((l) => JSON.parse(l) as { msg: string; repeat?: string });
      expect(parsed.filter((l) => l.msg.includes('failed')).every((l) => /^sqs:\w+:InternalError$/.test(l.repeat ?? ''))).toBe(true);
      expect(lastJson(r.stdout)).toMatchObject({ received: 4000, written: 4000 });
      expect(await rowCounts(db, 'outage')).toEqual({ total: 4000, distinct: 4000 });
      expect(await depth(sqs, queueUrl)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('an empty queue: drain ends at once with an empty summary; a message already there is never missed', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const empty = await runCli(['drain', '--json'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl, LOG_LEVEL: 'debug' });
    expect(empty.code, empty.stderr).toBe(0);
    expect(lastJson(empty.stdout)).toMatchObject({ received: 0, written: 0, complete: true });
    await sendBodies(sqs, queueUrl, uniqueBodies(1, 'one'));
    const one = await runCli(['drain', '--json'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl });
    expect(lastJson(one.stdout)).toMatchObject({ received: 1, written: 1, complete: true });
    expect(await depth(sqs, queueUrl)).toBe(0);
  });

  it('a message in flight elsewhere (another consumer holds it) keeps the drain going until it comes back', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, uniqueBodies(1, 'held'));
    // Another consumer takes it for 2 s and never deletes it.
    const { receiveMessages } = await import('../../src/source/queue.js');
    expect(await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 2 })).toHaveLength(1);
    const r = await runCli(['drain', '--json'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 1, written: 1 });
  });
});
