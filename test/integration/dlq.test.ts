import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/demo/generate.js';
import { browseQueue } from '../../src/dlq/browse.js';
import { createDeadLetterDecoder, createDeadLetterEncoder, ENVELOPE_PREFIX, type DlqBodyMode } from '../../src/dlq/codec.js';
import { redrive } from '../../src/dlq/redrive.js';
import { createHandler } from '../../src/lambda/handler.js';
import { loadKeyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import { createLogger } from '../../src/observability/logger.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import type { CallOptions, SqsAction, SqsClient } from '../../src/source/client.js';
import { createQueue, deleteMessages, queueDepth, receiveMessages, sendMessages } from '../../src/source/queue.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { depth, peekAll, TEST_KEY, useServices } from '../helpers/services.js';

const silent = pino({ level: 'silent' });
const keyring = await loadKeyring({ piiKey: TEST_KEY });
const transform = createTransformer(createMasker(keyring, 'hmac'));
const decode = createDeadLetterDecoder(keyring);
const suffix = () => randomBytes(4).toString('hex');

describe('dead letters near the DLQ\'s size limit (a 256 KiB DLQ)', () => {
  const env = useServices();

  async function drainOne(body: string, mode: DlqBodyMode) {
    const queueUrl = await createQueue(env.sqs, `big-${suffix()}`, { VisibilityTimeout: '30' });
    const dlqUrl = await createQueue(env.sqs, `big-${suffix()}-dlq`, { MaximumMessageSize: '262144' });
    await sendBodies(env.sqs, queueUrl, [body]);
    const s = await createPipeline({
      sqs: env.sqs, pool: env.pool, transform, log: silent, queueUrl, dlqUrl, encodeDeadLetter: createDeadLetterEncoder(keyring, mode), receivers: 2, waitTimeSeconds: 0,
      visibilityTimeoutSeconds: 30, maxInFlight: 100, batchSize: 10, batchMaxAgeMs: 20, sinkConcurrency: 1, retryBaseMs: 10, retryMaxMs: 50, untilEmpty: true,
    }).run();
    return { s, queueUrl, dlqUrl };
  }

  // A producer batching events into one JSON array (rejected: not_an_object), just under the source's 1 MiB but over the DLQ's 256 KiB.
  const events = generateEvents(3000, 5, 0).bodies;
  let array = '[';
  for (const e of events) {
    if (array.length + e.length + 2 > 262_140) break;
    array += `${array.length > 1 ? ',' : ''}${e}`;
  }
  array += ']';

  it('a compressible body too large to dead-letter raw reaches the DLQ compressed and encrypted', async () => {
    expect(Buffer.byteLength(array)).toBeGreaterThan(261_900);
    const raw = await drainOne(array, 'raw');
    // Raw, with its attributes, it does not fit: it takes the no-loss path (left on the source for its redrive policy).
    expect(raw.s).toMatchObject({ rejected: 1, deadLettered: 0, leftOnQueue: 1 });
    expect(await depth(env.sqs, raw.queueUrl)).toBe(1);
    const enc = await drainOne(array, 'encrypted');
    expect(enc.s).toMatchObject({ rejected: 1, deadLettered: 1, leftOnQueue: 0 });
    expect(await depth(env.sqs, enc.queueUrl)).toBe(0);
    const [dead] = await peekAll(env.sqs, enc.dlqUrl);
    expect(dead?.Body.startsWith(ENVELOPE_PREFIX)).toBe(true);
    expect(dead?.Body.length).toBeLessThan(0.5 * array.length);
    expect(dead?.MessageAttributes?.encoding?.StringValue).toBe('aes-256-gcm+brotli');
    expect(decode({ body: dead?.Body ?? '', attributes: dead?.MessageAttributes }).body).toBe(array);
  });

  it('an incompressible body that no longer fits once encrypted takes the no-loss path: left on the source, counted', async () => {
    // Random bytes in base64: Brotli gets back what base64 costs, no more. Raw it would just fit; encrypted it does not.
    const blob = JSON.stringify({ user_id: 'big', device_type: 'ios', device_id: 'd', attachment: randomBytes(196_300).toString('base64') });
    expect(Buffer.byteLength(blob)).toBeGreaterThan(261_500);
    expect((await drainOne(blob, 'raw')).s).toMatchObject({ deadLettered: 1 });
    const { s, queueUrl, dlqUrl } = await drainOne(blob, 'encrypted');
    expect(s).toMatchObject({ rejected: 1, rejectedByReason: { missing_field: 1 }, deadLettered: 0, leftOnQueue: 1 });
    expect(await depth(env.sqs, queueUrl)).toBe(1);
    expect(await depth(env.sqs, dlqUrl)).toBe(0);
  });
});

describe('the Lambda handler dead-letters with the same encoding', () => {
  const env = useServices();

  it('sends the body encrypted, with the readable attributes, and reports no failure', async () => {
    const queueUrl = await createQueue(env.sqs, `l-${suffix()}`);
    const dlqUrl = await createQueue(env.sqs, `l-${suffix()}-dlq`);
    const body = JSON.stringify({ user_id: 'l-1', device_type: 'ios', ip: '300.1.2.3', device_id: '555-12-3456' });
    await sendBodies(env.sqs, queueUrl, [body]);
    const [m] = await receiveMessages(env.sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 });
    const record = { messageId: m?.MessageId ?? '', body: m?.Body ?? '', attributes: { SentTimestamp: String(Date.now()) } };
    const handler = createHandler({ pool: env.pool, transform, log: silent, sqs: env.sqs, dlqUrl, encodeDeadLetter: createDeadLetterEncoder(keyring, 'encrypted') });
    const res = await handler({ Records: [record] } as never);
    expect(res.batchItemFailures).toEqual([]);
    const [dead] = await peekAll(env.sqs, dlqUrl);
    expect(dead?.Body).not.toContain('555-12-3456');
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe('invalid_ip');
    expect(dead?.MessageAttributes?.field?.StringValue).toBe('ip');
    expect(decode({ body: dead?.Body ?? '', attributes: dead?.MessageAttributes })).toMatchObject({ body, sourceMessageId: record.messageId, reason: 'invalid_ip' });
  });
});

describe('FIFO dead-letter queues', () => {
  const env = useServices();

  it('redrive decrypts and keeps each message group, in order; a listing releases what it held', async () => {
    const name = `f-${suffix()}`;
    const queueUrl = await createQueue(env.sqs, `${name}.fifo`, { FifoQueue: 'true' });
    const dlqUrl = await createQueue(env.sqs, `${name}-dlq.fifo`, { FifoQueue: 'true' });
    const encode = createDeadLetterEncoder(keyring, 'encrypted');
    const bodies = ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}'];
    const groups = ['g1', 'g2', 'g1', 'g1'];
    await sendMessages(env.sqs, dlqUrl, bodies.map((b, i) => ({
      ...encode(b, { reason: 'missing_field', source_message_id: `s-${i}` }, { sourceMessageId: `s-${i}`, reason: 'missing_field', field: 'user_id' }),
      groupId: groups[i] ?? '',
      deduplicationId: `s-${i}`,
    })));

    // SQS hands out a group's next message only once the one before is gone: a listing sees the head of each group.
    const browser = browseQueue(env.sqs, dlqUrl);
    const seen: string[] = [];
    for (let page = await browser.next(); page.length > 0; page = await browser.next()) seen.push(...page.map((m) => m.MessageAttributes?.source_message_id?.StringValue ?? ''));
    expect(seen).toEqual(expect.arrayContaining(['s-0', 's-1']));
    expect(seen).not.toContain('s-2');
    expect(await browser.release()).toBe(0);
    expect((await queueDepth(env.sqs, dlqUrl)).visible).toBe(4);

    const r = await redrive({ sqs: env.sqs, dlqUrl, queueUrl, max: 100, decode, log: silent });
    expect(r).toEqual({ moved: 4, skipped: {}, notDeleted: 0, duplicates: 0 });
    expect(await depth(env.sqs, dlqUrl)).toBe(0);
    const got: { body: string; group: string | undefined }[] = [];
    for (let i = 0; i < 10 && got.length < 4; i++) {
      const msgs = await receiveMessages(env.sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, systemAttributes: ['MessageGroupId'] });
      got.push(...msgs.map((m) => ({ body: m.Body, group: m.Attributes?.MessageGroupId })));
      if (msgs.length > 0) await deleteMessages(env.sqs, queueUrl, msgs.map((m) => m.ReceiptHandle));
    }
    expect(got.filter((g) => g.group === 'g1').map((g) => g.body)).toEqual(['{"n":1}', '{"n":3}', '{"n":4}']);
    expect(got.filter((g) => g.group === 'g2').map((g) => g.body)).toEqual(['{"n":2}']);
  });
});

describe('redrive of a reject dead-lettered more than once', () => {
  const env = useServices();

  it('sends each source message back once and deletes its other copies from the DLQ', async () => {
    const queueUrl = await createQueue(env.sqs, `c-${suffix()}`);
    const dlqUrl = await createQueue(env.sqs, `c-${suffix()}-dlq`);
    const encode = createDeadLetterEncoder(keyring, 'encrypted');
    // s-1 delivered (and dead-lettered) three times, its copies spread over more than one receive; s-2 once.
    const letter = (id: string, body: string) => encode(body, { reason: 'missing_field', source_message_id: id }, { sourceMessageId: id, reason: 'missing_field', field: 'ip' });
    const sent = ['s-1', 's-2', 's-1', ...Array.from({ length: 12 }, (_, i) => `t-${i}`), 's-1'];
    for (const id of sent) await sendMessages(env.sqs, dlqUrl, [letter(id, `{"id":"${id}"}`)]);

    const r = await redrive({ sqs: env.sqs, dlqUrl, queueUrl, max: 100, decode, log: silent });
    expect(r).toEqual({ moved: 14, skipped: {}, notDeleted: 0, duplicates: 2 });
    expect(await depth(env.sqs, dlqUrl)).toBe(0);
    const bodies = (await peekAll(env.sqs, queueUrl)).map((m) => m.Body).sort();
    expect(bodies).toEqual([...new Set(sent)].map((id) => `{"id":"${id}"}`).sort());
  });

  it('dead letters it cannot decrypt stay, each counted, their warnings summarised once repeated (no line per message)', async () => {
    const queueUrl = await createQueue(env.sqs, `k-${suffix()}`);
    const dlqUrl = await createQueue(env.sqs, `k-${suffix()}-dlq`);
    const encode = createDeadLetterEncoder(keyring, 'encrypted');
    for (let i = 0; i < 12; i++) await sendMessages(env.sqs, dlqUrl, [encode(`{"id":"w-${i}"}`, { reason: 'missing_field', source_message_id: `w-${i}` }, { sourceMessageId: `w-${i}`, reason: 'missing_field', field: 'ip' })]);
    const other = createDeadLetterDecoder(await loadKeyring({ piiKey: randomBytes(32).toString('base64') }));
    const lines: { msg: string; failure?: string; repeated?: number }[] = [];
    const log = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) }, repeatWindowMs: 60_000 });
    const r = await redrive({ sqs: env.sqs, dlqUrl, queueUrl, max: 100, decode: other, log });
    expect(r).toEqual({ moved: 0, skipped: { auth_failed: 12 }, notDeleted: 0, duplicates: 0 });
    expect((await queueDepth(env.sqs, dlqUrl)).visible).toBe(12);
    const notRedriven = lines.filter((l) => l.msg.startsWith('not redriven'));
    expect(notRedriven.length).toBeLessThan(12);
    expect(notRedriven[0]).toMatchObject({ failure: 'auth_failed' });
    log.flush();
  });

  it('a copy whose first could not be moved is not deleted: both stay in the DLQ', async () => {
    // The source takes at most 1 KiB: the first copy is refused as too large, so its copy must not be dropped.
    const queueUrl = await createQueue(env.sqs, `c-${suffix()}`, { MaximumMessageSize: '1024' });
    const dlqUrl = await createQueue(env.sqs, `c-${suffix()}-dlq`);
    const body = JSON.stringify({ id: 'big', pad: 'x'.repeat(2000) });
    const letter = createDeadLetterEncoder(keyring, 'raw')(body, { reason: 'missing_field', source_message_id: 'big' }, { sourceMessageId: 'big', reason: 'missing_field', field: 'ip' });
    await sendMessages(env.sqs, dlqUrl, [letter, letter]);
    const r = await redrive({ sqs: env.sqs, dlqUrl, queueUrl, max: 100, decode, log: silent });
    expect(r).toEqual({ moved: 0, skipped: { too_large: 1 }, notDeleted: 0, duplicates: 0 });
    expect(await depth(env.sqs, dlqUrl)).toBe(2);
    expect(await depth(env.sqs, queueUrl)).toBe(0);
  });
});

describe('rejects share SendMessageBatch calls', () => {
  const env = useServices();

  it('rejects spread over many receives go to the DLQ ten to a call, not one call each', async () => {
    const queueUrl = await createQueue(env.sqs, `spread-${suffix()}`, { VisibilityTimeout: '30' });
    const dlqUrl = await createQueue(env.sqs, `spread-${suffix()}-dlq`);
    // One malformed message in every ten: about one per receive.
    const bodies = generateEvents(300, 11, 0).bodies.map((b, i) => (i % 10 === 3 ? `not json ${i}` : b));
    await sendBodies(env.sqs, queueUrl, bodies);
    let sends = 0;
    const counting: SqsClient = {
      ...env.sqs,
      call: <T,>(action: SqsAction, input: object, co?: CallOptions) => {
        if (action === 'SendMessageBatch') sends++;
        return env.sqs.call<T>(action, input, co);
      },
    };
    const s = await createPipeline({
      sqs: counting, pool: env.pool, transform, log: silent, queueUrl, dlqUrl, receivers: 4, waitTimeSeconds: 0,
      visibilityTimeoutSeconds: 30, maxInFlight: 1000, batchSize: 100, batchMaxAgeMs: 100, sinkConcurrency: 2, retryBaseMs: 10, retryMaxMs: 50, untilEmpty: true,
    }).run();
    expect(s).toMatchObject({ rejected: 30, deadLettered: 30, leftOnQueue: 0 });
    expect(await depth(env.sqs, dlqUrl)).toBe(30);
    // 30 rejects from about 30 receives: a handful of calls (3 if each is full), far from 30.
    expect(sends).toBeLessThanOrEqual(8);
  });
});
