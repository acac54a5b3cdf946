import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth, receiveMessages } from '../../src/source/queue.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, peekAll, query, sampleBodies, sqsClient, sqsEndpoint, TEST_KEY } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

describe('login-etl drain (CLI subprocess)', () => {
  let sqs: SqsClient;
  let env: Record<string, string>;
  let dlqUrl: string;
  let queueUrl: string;
  const raw: string[] = [];

  beforeAll(async () => {
    sqs = sqsClient();
    ({ queueUrl, dlqUrl } = await freshQueues(sqs));
    // A fauxqs queue URL (sqs.us-east-1.localhost:PORT) needs no endpoint setting: the tool derives it.
    env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: await freshDatabase(), PII_KEY: TEST_KEY, LOG_LEVEL: 'debug' };
    for (const b of await sampleBodies()) {
      const o = JSON.parse(b) as { ip?: string; device_id?: string };
      if (o.ip) raw.push(o.ip);
      if (o.device_id) raw.push(o.device_id);
    }
  });
  afterAll(() => sqs.destroy());

  it('init-db, send --file and drain --json write the 99 valid rows and dead-letter the malformed one', async () => {
    const init = await runCli(['init-db'], env);
    expect(init.code, init.stderr).toBe(0);
    expect((await runCli(['init-db'], env)).code).toBe(0);

    const file = join(tempDir('send-'), 'sample.json');
    writeFileSync(file, JSON.stringify((await sampleBodies()).map((b) => JSON.parse(b) as unknown)));
    const sent = await runCli(['send', '--file', file], env);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('sent 100 messages');

    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 100, written: 99, duplicates: 0, rejected: 1 });
    expect(await depth(sqs, queueUrl)).toBe(0);
    const dead = await peekAll(sqs, dlqUrl);
    expect(dead.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual(['missing_field']);

    // Logs carry the message id and reason of the reject, never a raw ip or device_id.
    expect(r.stderr).toContain('"reason":"missing_field"');
    expect(r.stderr).toContain(dead[0]?.MessageAttributes?.source_message_id?.StringValue ?? 'missing id');
    for (const v of raw) {
      expect(r.stderr).not.toContain(v);
      expect(r.stdout).not.toContain(v);
    }
  });

  it('stores correct values and no raw PII', async () => {
    const rows = await query<Record<string, unknown>>(env.DATABASE_URL ?? '', 'SELECT * FROM user_logins');
    expect(rows).toHaveLength(99);
    const first = rows.find((r) => r.user_id === '424cdd21-063a-43a7-b91b-7ca1a833afae');
    expect(first).toMatchObject({ device_type: 'android', locale: 'RU', app_version: 2003000 });
    expect(String(first?.masked_ip)).toMatch(/^h1\.[A-Za-z0-9_-]{43}$/);
    expect(rows.find((r) => r.user_id === '181452ad-20c3-4e93-86ad-1934c9248903')?.app_version).toBe(96000);
    expect(rows.every((r) => r.create_date instanceof Date)).toBe(true);
    const dump = JSON.stringify(rows);
    for (const v of raw) expect(dump).not.toContain(v);
  });

  it('a second drain changes nothing', async () => {
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 0, written: 0, rejected: 0 });
    const [n] = await query<{ n: number }>(env.DATABASE_URL ?? '', 'SELECT count(*)::int AS n FROM user_logins');
    expect(n?.n).toBe(99);
  });

  it('prints a human summary without --json', async () => {
    await runCli(['send', '--generate', '50', '--seed', '3', '--malformed-ratio', '0'], env);
    const r = await runCli(['drain'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/received\s+50/);
    expect(r.stdout).toMatch(/written\s+50/);
  });

  it("leaves nothing behind: a message sent right after a drain is visible at once, not held by the drain's last polls", async () => {
    await runCli(['send', '--generate', '20', '--seed', '5', '--malformed-ratio', '0'], env);
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 20, complete: true });
    await runCli(['send', '--generate', '1', '--seed', '6', '--malformed-ratio', '0'], env);
    // Once the send has returned, the message is on the queue; no receive may have taken it.
    const d = await queueDepth(sqs, queueUrl);
    expect(d).toMatchObject({ visible: 1, inFlight: 0 });
    const next = await runCli(['drain', '--json'], env);
    expect(lastJson(next.stdout)).toMatchObject({ received: 1, written: 1, complete: true });
  });

  it('says what it waits for when the only messages left are in flight elsewhere, then takes them when they return', async () => {
    await runCli(['send', '--generate', '5', '--seed', '8', '--malformed-ratio', '0'], env);
    // Another consumer holds all five for 3 s.
    const held = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 3, maxMessages: 10 });
    expect(held).toHaveLength(5);
    const r = await runCli(['drain', '--json'], { ...env, LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 5, written: 5, complete: true });
    const line = r.stderr.split('\n').find((l) => l.includes('"inFlight":5'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 30, msg: expect.stringMatching(/^nothing visible on the queue, but 5 messages are in flight .*: waiting for them$/) as unknown as string });
  });

  it("with static keys in its environment, starts without Node's fetch or the SDK's credential chain (~100 ms of every start)", async () => {
    const dir = tempDir('modules-');
    const recorder = join(dir, 'recorder.mjs');
    const out = join(dir, 'loaded.json');
    writeFileSync(
      recorder,
      `import { createRequire } from 'node:module'; import { readFileSync, writeFileSync } from 'node:fs';
       process.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify([...process.moduleLoadList, ...Object.keys(createRequire(import.meta.url).cache)])));`,
    );
    const r = await runCli(['drain', '--json'], { ...env, AWS_ACCESS_KEY_ID: 'AKIDSTATIC', AWS_SECRET_ACCESS_KEY: 'static-secret', NODE_OPTIONS: `--import ${recorder}` });
    expect(r.code, r.stderr).toBe(0);
    const loaded = JSON.parse(readFileSync(out, 'utf8')) as string[];
    expect(loaded).toContain('NativeModule net');
    expect(loaded.filter((m) => m.includes('internal/deps/undici') || m.includes('@aws-sdk/credential-provider'))).toEqual([]);
  });

  it('works against the endpoint given explicitly, with the SDK variables', async () => {
    const r = await runCli(['drain', '--json'], { ...env, AWS_ENDPOINT_URL_SQS: sqsEndpoint(), AWS_REGION: 'us-east-1' });
    expect(r.code, r.stderr).toBe(0);
  });
});
