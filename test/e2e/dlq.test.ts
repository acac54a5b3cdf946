import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterDecoder, createDeadLetterEncoder, ENVELOPE_PREFIX } from '../../src/dlq/codec.js';
import { loadKeyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import type { SqsClient } from '../../src/source/client.js';
import { createQueue, queueDepth, sendMessages } from '../../src/source/queue.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli, startCli } from '../helpers/cli.js';
import { attributesOf, dumpAllTables, sdkClient, sdkReadAll, sdkSend } from '../helpers/dlq.js';
import { depth, freshDatabase, freshQueues, motoSqsClient, query, sampleBodies, sqsClient, TEST_KEY, testKey } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/** Rejected messages that carry ip and device_id, raw: each would have reached the DLQ as it is before. */
const PII_REJECTS = [
  // invalid_ip: the ip is not an address, the device id is real.
  JSON.stringify({ user_id: 'dlq-1', device_type: 'ios', ip: '999.51.100.1', device_id: '731-55-0192', locale: 'US', app_version: '1.0' }),
  // missing_field: the producer renamed ip.
  JSON.stringify({ user_id: 'dlq-2', device_type: 'android', ip_address: '198.51.100.77', device_id: '731-55-0193', locale: null, app_version: '2.0' }),
  // missing_field: nested, fixable with FIELD_MAP {"ip":"net.ip"}.
  JSON.stringify({ user_id: 'dlq-3', device_type: 'ios', net: { ip: '198.51.100.78' }, device_id: '731-55-0194', locale: null, app_version: '1.0' }),
  // invalid_json, with an ip and a device id in it.
  'login failed for 198.51.100.79 on device 731-55-0195 {',
];
const PII_VALUES = ['999.51.100.1', '731-55-0192', '198.51.100.77', '731-55-0193', '198.51.100.78', '731-55-0194', '198.51.100.79', '731-55-0195'];

interface Listed { id: string; dlqMessageId: string; reason: string; field: string | null; time: string; bodyBytes: number; encoding: string; body: string | null; bodyNote?: string; receiveCount: number }
const ndjson = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Listed);

describe('dead letters without raw PII (DLQ_BODY=encrypted, the default)', () => {
  let sqs: SqsClient;
  let sdk: SQSClient;
  let db: string;
  let queueUrl: string;
  let dlqUrl: string;
  let env: Record<string, string>;
  let raw: string[];
  let drainLog: string;
  const dir = tempDir('dlq-');
  const auditFile = join(dir, 'audit.log');

  beforeAll(async () => {
    sqs = sqsClient();
    sdk = sdkClient();
    db = await freshDatabase();
    ({ queueUrl, dlqUrl } = await freshQueues(sqs));
    env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, PII_AUDIT_LOG: auditFile, LOG_LEVEL: 'debug' };
    expect((await runCli(['init-db'], env)).code).toBe(0);
    const sample = await sampleBodies();
    raw = [...PII_VALUES];
    for (const b of sample) {
      const o = JSON.parse(b) as { ip?: string; device_id?: string };
      if (o.ip) raw.push(o.ip);
      if (o.device_id) raw.push(o.device_id);
    }
    await sendBodies(sqs, queueUrl, [...sample, ...PII_REJECTS]);
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ received: 104, written: 99, rejected: 5, deadLettered: 5, rejectedByReason: { missing_field: 3, invalid_ip: 1, invalid_json: 1 } });
    drainLog = r.stdout + r.stderr;
  });
  afterAll(() => {
    sdk.destroy();
    return sqs.destroy();
  });

  it('leaves no raw ip or device_id in the DLQ (read with the AWS SDK), in any table, or in the logs', async () => {
    const dead = await sdkReadAll(sdk, dlqUrl);
    expect(dead).toHaveLength(5);
    for (const m of dead) {
      expect(m.Body?.startsWith(ENVELOPE_PREFIX)).toBe(true);
      expect(Object.keys(m.MessageAttributes ?? {}).sort()).toEqual(expect.arrayContaining(['body_bytes', 'encoding', 'key_version', 'reason', 'source_message_id']));
    }
    expect(dead.map((m) => m.MessageAttributes?.reason?.StringValue).sort()).toEqual(['invalid_ip', 'invalid_json', 'missing_field', 'missing_field', 'missing_field']);
    const everything = JSON.stringify(dead);
    const tables = await dumpAllTables(db);
    expect(tables).toContain('user_logins');
    expect(tables).toContain('login_etl_ledger');
    for (const v of raw) {
      expect(everything, v).not.toContain(v);
      expect(tables, v).not.toContain(v);
      expect(drainLog, v).not.toContain(v);
    }
    // …and each body is the original, for whoever holds the key.
    const decode = createDeadLetterDecoder(await loadKeyring({ piiKey: TEST_KEY }));
    const bodies = dead.map((m) => decode({ body: m.Body ?? '', attributes: attributesOf(m) }).body);
    expect(bodies.sort()).toEqual([...PII_REJECTS, JSON.stringify({ foo: 'oops_wrong_msg_type', bar: '123' })].sort());
  });

  it('dlq list shows id, reason, field, time, size and the body with tokens, and consumes nothing', async () => {
    const masker = createMasker(await loadKeyring({ piiKey: TEST_KEY }), 'hmac');
    const json = await runCli(['dlq', 'list', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const listed = ndjson(json.stdout);
    expect(listed).toHaveLength(5);
    const nested = listed.find((e) => e.body?.includes('"dlq-3"'));
    expect(nested).toMatchObject({ reason: 'missing_field', field: 'ip', encoding: 'aes-256-gcm', bodyBytes: Buffer.byteLength(PII_REJECTS[2] ?? '') });
    expect(JSON.parse(nested?.body ?? '{}')).toEqual({ user_id: 'dlq-3', device_type: 'ios', net: { ip: masker.mask('ip', '198.51.100.78') }, device_id: masker.mask('device_id', '731-55-0194'), locale: null, app_version: '1.0' });
    expect(JSON.parse(listed.find((e) => e.body?.includes('"dlq-2"'))?.body ?? '{}')).toMatchObject({ ip_address: masker.mask('ip', '198.51.100.77') });
    const unparseable = listed.find((e) => e.reason === 'invalid_json');
    expect(unparseable).toMatchObject({ body: null, bodyNote: expect.stringContaining(`login-etl dlq show ${unparseable?.id} --reveal`) });
    expect(listed.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.time) && e.id.length > 0)).toBe(true);
    expect(json.stderr).toMatch(/listed 5 dead letters from .*; none consumed/);

    const text = await runCli(['dlq', 'list'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^id\s+reason\s+field\s+time\s+bytes\s+body\s+masked/);
    expect(text.stdout).toMatch(/invalid_ip\s+ip\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+\d+\s+encrypted\s+\{"user_id":"dlq-1"/);
    expect(text.stdout).toContain('(not shown: not JSON;');
    // SQS_DLQ_URL alone (no SQS_QUEUE_URL): the calls go to the DLQ's own endpoint, not the default source's.
    const { SQS_QUEUE_URL: _source, ...dlqOnly } = env;
    const alone = await runCli(['dlq', 'list', '--json'], dlqOnly);
    expect(alone.code, alone.stderr).toBe(0);
    expect(ndjson(alone.stdout)).toHaveLength(5);
    const limited = await runCli(['dlq', 'list', '--max', '2'], env);
    expect(limited.stdout).toMatch(/listed 2 dead letters from .*; about 3 more in the queue: --max to list more; none consumed/);
    // The count left is the queue's, not the reason's: it says so.
    const byReason = await runCli(['dlq', 'list', '--reason', 'missing_field', '--max', '1'], env);
    expect(byReason.stdout).toMatch(/listed 1 dead letter from .*; about 4 more in the queue, of any reason: --max to list more; none consumed/);
    for (const v of raw) expect(json.stdout + json.stderr + text.stdout + text.stderr, v).not.toContain(v);
    expect(await depth(sqs, dlqUrl)).toBe(5);
    expect((await sdkReadAll(sdk, dlqUrl)).length).toBe(5);
  });

  it('a reader that leaves early (`dlq list | head`) ends the listing quietly, exit 0, with every dead letter visible again', async () => {
    for (const args of [['dlq', 'list', '--json'], ['dlq', 'list']]) {
      const { child, done } = startCli(args, env);
      // The reader is gone before the first line: every write meets EPIPE.
      child.stdout?.destroy();
      const r = await done;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
      // --json: the summary (on stderr) says the listing did not all get through.
      if (args.includes('--json')) expect(r.stderr).toMatch(/stdout was closed early \(e\.g\. `\| head`\), so not all of them reached it: listed \d+ dead letters from .*; none consumed/);
      expect((await queueDepth(sqs, dlqUrl)).visible, args.join(' ')).toBe(5);
    }
  });

  it('dlq show prints one dead letter masked; --reveal prints the original and writes an audit line that holds no value', async () => {
    const listed = ndjson((await runCli(['dlq', 'list', '--json'], env)).stdout);
    const bad = listed.find((e) => e.reason === 'invalid_json');
    const nested = listed.find((e) => e.body?.includes('"dlq-3"'));
    const masked = await runCli(['dlq', 'show', nested?.id ?? ''], env);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toMatch(/^id {14}\S+\ndlq message id  \S+\nreason {10}missing_field\nfield {11}ip\n/);
    expect(masked.stdout).toContain('"user_id": "dlq-3"');
    const notShown = await runCli(['dlq', 'show', bad?.dlqMessageId ?? ''], env);
    expect(notShown.stdout).toContain('body not shown: not JSON (it may hold raw ip or device_id)');
    for (const v of raw) expect(masked.stdout + masked.stderr + notShown.stdout + notShown.stderr, v).not.toContain(v);

    const revealed = await runCli(['dlq', 'show', bad?.id ?? '', '--reveal'], env);
    expect(revealed.code, revealed.stderr).toBe(0);
    expect(revealed.stdout).toContain(`original body (raw ip and device_id; this was audited):\n${PII_REJECTS[3]}\n`);
    const audit = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.at(-1)).toMatchObject({ audit: true, action: 'dlq-reveal', messageId: bad?.id, dlqMessageId: bad?.dlqMessageId, queue: dlqUrl, rejectReason: 'invalid_json', outcome: 'ok', user: expect.any(String), host: expect.any(String), at: expect.any(String) });
    expect(revealed.stderr).toContain('"action":"dlq-reveal"');
    for (const v of raw) expect(readFileSync(auditFile, 'utf8') + revealed.stderr, v).not.toContain(v);
    const json = JSON.parse((await runCli(['dlq', 'show', bad?.id ?? '', '--reveal', '--json'], env)).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id: bad?.id, reason: 'invalid_json', body: PII_REJECTS[3], revealed: true });
    expect(json).not.toHaveProperty('bodyNote');
    const maskedJson = JSON.parse((await runCli(['dlq', 'show', bad?.id ?? '', '--json'], env)).stdout) as Record<string, unknown>;
    expect(maskedJson).toMatchObject({ id: bad?.id, body: null, bodyNote: expect.stringMatching(/^not shown: not JSON/) as unknown as string });
    expect(maskedJson).not.toHaveProperty('revealed');

    const missing = await runCli(['dlq', 'show', 'no-such-id'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^login-etl: no dead letter with id no-such-id in .* \(looked at 5 messages;/);
    expect(await depth(sqs, dlqUrl)).toBe(5);
  });

  it('refuses a tampered or a swapped ciphertext with one line, and redrive leaves them in the DLQ', async () => {
    const dead = await sdkReadAll(sdk, dlqUrl);
    const [a, b] = dead;
    if (!a?.Body || !b) throw new Error('need two dead letters');
    const other = await createQueue(sqs, `tamper-${Date.now()}`);
    const scratch = await createQueue(sqs, `scratch-${Date.now()}`);
    const i = a.Body.length - 30;
    await sdkSend(sdk, other, `${a.Body.slice(0, i)}${a.Body[i] === 'A' ? 'B' : 'A'}${a.Body.slice(i + 1)}`, attributesOf(a));
    await sdkSend(sdk, other, a.Body, attributesOf(b));
    const e = { ...env, SQS_DLQ_URL: other, SQS_QUEUE_URL: scratch };
    const idA = a.MessageAttributes?.source_message_id?.StringValue ?? '';
    const idB = b.MessageAttributes?.source_message_id?.StringValue ?? '';
    const tampered = await runCli(['dlq', 'show', idA, '--reveal'], e);
    expect(tampered.code).toBe(2);
    expect(tampered.stdout).toBe('');
    expect(tampered.stderr.split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([
      `login-etl: dead letter ${idA}: authentication failed: wrong key, or the encrypted body was altered (key version 1); nothing was shown`,
    ]);
    expect(JSON.parse(readFileSync(auditFile, 'utf8').trim().split('\n').at(-1) ?? '{}')).toMatchObject({ action: 'dlq-reveal', messageId: idA, outcome: 'refused', reason: 'auth_failed' });
    const swapped = await runCli(['dlq', 'show', idB], e);
    expect(swapped.code).toBe(2);
    expect(swapped.stderr.trim()).toBe(
      `login-etl: dead letter ${idB}: its source_message_id attribute does not match the encrypted body, which belongs to source message ${idA}: the body was moved from another message; nothing was shown`,
    );
    const list = await runCli(['dlq', 'list', '--json'], e);
    expect(list.code).toBe(0);
    expect(ndjson(list.stdout).map((x) => x.bodyNote)).toEqual([expect.stringMatching(/^cannot be read: authentication failed/), expect.stringMatching(/^cannot be read: its source_message_id attribute does not match/)]);
    const redrive = await runCli(['redrive'], e);
    expect(redrive.code).toBe(1);
    expect(redrive.stdout).toContain('moved 0 messages');
    expect(redrive.stderr.split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([expect.stringMatching(/^login-etl: redrive incomplete: 2 dead letters stayed in the DLQ \((auth_failed 1, swapped 1|swapped 1, auth_failed 1)\)/)]);
    expect(await depth(sqs, other)).toBe(2);
    expect(await depth(sqs, scratch)).toBe(0);
    // Many alike: one warning each kind, then a count, and the counts come before the final line.
    for (let n = 0; n < 4; n++) await sdkSend(sdk, other, `${a.Body.slice(0, i)}${a.Body[i] === 'A' ? 'B' : 'A'}${a.Body.slice(i + 1)}`, attributesOf(a));
    const many = await runCli(['redrive'], e);
    expect(many.code).toBe(1);
    const lines = many.stderr.trim().split('\n');
    const counted = lines.findIndex((l) => l.includes('more like this'));
    expect(counted, many.stderr).toBeGreaterThanOrEqual(0);
    expect(lines.at(-1)).toMatch(/^login-etl: redrive incomplete: 6 dead letters stayed in the DLQ/);
    expect(counted).toBeLessThan(lines.length - 1);
    const listed = await runCli(['dlq', 'list'], e);
    expect(listed.stderr.split('\n').filter((l) => l.includes('dead letter cannot be read: authentication failed')).length).toBe(2); // the first, then its count
    expect(listed.stderr).toMatch(/"repeated":4/);
    // Another key reads nothing either.
    const wrongKey = await runCli(['dlq', 'show', idB, '--dlq-url', dlqUrl], { ...env, PII_KEY: testKey(2) });
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/^login-etl: dead letter \S+: authentication failed: wrong key/m);
  });

  it('redrive decrypts, keeps what it cannot place, and a fixed pipeline processes what was rejected', async () => {
    const moved = await runCli(['redrive', '--reason', 'missing_field'], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toContain('moved 3 messages');
    expect(await depth(sqs, dlqUrl)).toBe(2);
    const source = await sdkReadAll(sdk, queueUrl);
    expect(source.map((m) => m.Body).sort()).toEqual([PII_REJECTS[1], PII_REJECTS[2], JSON.stringify({ foo: 'oops_wrong_msg_type', bar: '123' })].sort());
    const fixed = await runCli(['drain', '--json', '--field-map', '{"ip":"net.ip"}'], env);
    expect(lastJson(fixed.stdout)).toMatchObject({ received: 3, written: 1, rejected: 2, deadLettered: 2 });
    const masker = createMasker(await loadKeyring({ piiKey: TEST_KEY }), 'hmac');
    expect(await query(db, `SELECT masked_ip, masked_device_id FROM user_logins WHERE user_id = 'dlq-3'`)).toEqual([
      { masked_ip: masker.mask('ip', '198.51.100.78'), masked_device_id: masker.mask('device_id', '731-55-0194') },
    ]);
    expect(await depth(sqs, dlqUrl)).toBe(4);
    const seen = moved.stdout + moved.stderr + fixed.stderr + (await dumpAllTables(db));
    for (const v of raw) expect(seen, v).not.toContain(v);
  });

  it('an encrypted dead letter moved back unchanged (the AWS console\'s DLQ redrive) is decrypted and processed', async () => {
    const keyring = await loadKeyring({ piiKey: TEST_KEY });
    const body = JSON.stringify({ user_id: 'dlq-console', device_type: 'ios', ip: '198.51.100.90', device_id: '731-55-0199', locale: null, app_version: '1.0' });
    const letter = createDeadLetterEncoder(keyring, 'encrypted')(body, { reason: 'missing_field', source_message_id: 'm-1' }, { sourceMessageId: 'm-1', reason: 'missing_field', field: 'ip' });
    const attrs = Object.fromEntries(Object.entries(letter.attributes).map(([k, v]) => [k, typeof v === 'string' ? { DataType: 'String', StringValue: v } : { DataType: v.DataType, StringValue: v.StringValue }]));
    await sdkSend(sdk, queueUrl, letter.body, attrs);
    const r = await runCli(['drain', '--json'], env);
    expect(lastJson(r.stdout)).toMatchObject({ received: 1, written: 1, rejected: 0 });
    expect((await query(db, `SELECT count(*)::int AS n FROM user_logins WHERE user_id = 'dlq-console'`))[0]).toEqual({ n: 1 });
  });
});

describe('DLQ_BODY=raw, and dead letters from before encryption', () => {
  it('raw mode keeps the original body, says so at start-up, and list/show/redrive read raw dead letters, old ones included, without a key for redrive', async () => {
    const sqs = sqsClient();
    const sdk = sdkClient();
    try {
      const db = await freshDatabase();
      const { queueUrl, dlqUrl } = await freshQueues(sqs);
      const env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY };
      expect((await runCli(['init-db'], env)).code).toBe(0);
      await sendBodies(sqs, queueUrl, [PII_REJECTS[0] ?? '']);
      const r = await runCli(['drain', '--json'], { ...env, DLQ_BODY: 'raw' });
      expect(lastJson(r.stdout)).toMatchObject({ rejected: 1, deadLettered: 1 });
      expect(r.stderr).toContain('DLQ_BODY=raw: rejected messages go to the DLQ with their original body, raw ip and device_id included');
      const [dead] = await sdkReadAll(sdk, dlqUrl);
      expect(dead?.Body).toBe(PII_REJECTS[0]);
      expect(dead?.MessageAttributes?.encoding?.StringValue).toBe('raw');
      // An old dead letter: the body and the two attributes of earlier releases.
      await sendMessages(sqs, dlqUrl, [{ body: PII_REJECTS[2] ?? '', attributes: { reason: 'missing_field', source_message_id: 'old-1' } }]);
      const listed = ndjson((await runCli(['dlq', 'list', '--json'], env)).stdout);
      expect(listed.map((e) => [e.id, e.encoding, e.reason]).sort()).toEqual([['old-1', 'raw', 'missing_field'], [dead?.MessageAttributes?.source_message_id?.StringValue, 'raw', 'invalid_ip']].sort());
      for (const v of PII_VALUES) expect(JSON.stringify(listed), v).not.toContain(v);
      const old = await runCli(['dlq', 'show', 'old-1', '--reveal', '--json'], env);
      expect(JSON.parse(old.stdout)).toMatchObject({ id: 'old-1', encoding: 'raw', body: PII_REJECTS[2] });
      const moved = await runCli(['redrive'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl });
      expect(moved.code, moved.stderr).toBe(0);
      expect(moved.stdout).toContain('moved 2 messages');
      expect((await sdkReadAll(sdk, queueUrl)).map((m) => m.Body).sort()).toEqual([PII_REJECTS[0], PII_REJECTS[2]].sort());
    } finally {
      sdk.destroy();
      await sqs.destroy();
    }
  });
});

describe('dlq list on a large DLQ', () => {
  it('a SIGINT stops a long listing with 130, and every message it held is visible again', async () => {
    const sqs = sqsClient();
    try {
      const { queueUrl, dlqUrl } = await freshQueues(sqs);
      await sendBodies(sqs, dlqUrl, Array.from({ length: 10_000 }, (_, i) => `{"n":${i}}`));
      const env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY };
      const { child, done } = startCli(['dlq', 'list', '--json', '--max', '100000'], env);
      await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
      child.kill('SIGINT');
      const r = await done;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/interrupted by SIGINT: listed [\d,]+ dead letters from .*; none consumed/);
      const listed = ndjson(r.stdout).length;
      expect(listed).toBeGreaterThan(0);
      expect(listed).toBeLessThan(10_000);
      expect(await queueDepth(sqs, dlqUrl)).toMatchObject({ visible: 10_000, inFlight: 0 });
    } finally {
      await sqs.destroy();
    }
  });
});

describe('a DLQ served elsewhere than the source queue', () => {
  it('source on fauxqs, DLQ on moto_server: drain dead-letters there, doctor checks it there, redrive moves back to the source', async () => {
    const sqs = sqsClient();
    const moto = motoSqsClient();
    try {
      const db = await freshDatabase();
      const { queueUrl } = await freshQueues(sqs);
      const dlqUrl = await createQueue(moto, `elsewhere-${Date.now()}-dlq`);
      expect(new URL(dlqUrl).origin).not.toBe(new URL(queueUrl).origin);
      const env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY };
      expect((await runCli(['init-db'], env)).code).toBe(0);
      await sendBodies(sqs, queueUrl, [...PII_REJECTS.slice(0, 2), JSON.stringify({ user_id: 'ok-1', device_type: 'ios', ip: '198.51.100.1', device_id: 'd-1', locale: 'US', app_version: '1.0' })]);
      const r = await runCli(['drain', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ written: 1, rejected: 2, deadLettered: 2, leftOnQueue: 0 });
      expect(await depth(moto, dlqUrl)).toBe(2);
      const doctor = await runCli(['doctor'], env);
      expect(doctor.stdout).toMatch(/SQS dead-letter queue\s+pass\s+\S+: ~2 messages/);
      const moved = await runCli(['redrive'], env);
      expect(moved.code, moved.stderr).toBe(0);
      expect(moved.stdout).toContain('moved 2 messages');
      expect(await depth(sqs, queueUrl)).toBe(2);
      expect(await depth(moto, dlqUrl)).toBe(0);
    } finally {
      await Promise.all([sqs.destroy(), moto.destroy()]);
    }
  });
});
