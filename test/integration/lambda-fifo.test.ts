import type { SQSEvent } from 'aws-lambda';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { createHandler, FullBatchFailureError } from '../../src/lambda/handler.js';
import { createMasker } from '../../src/masking/masker.js';
import type { SqsClient } from '../../src/source/client.js';
import { deleteMessages, receiveMessages, type Message } from '../../src/source/queue.js';
import { queueInfo } from '../../src/source/queueInfo.js';
import { sendAll } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { fifoQueues, freshQueues, motoSqsClient, query, testKey, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.from(testKey(15), 'base64')]]) }, 'hmac'));
const log = pino({ level: 'silent' });
const event = (user: string) => JSON.stringify({ user_id: user, app_version: '1.0.0', device_type: 'ios', ip: '192.0.2.1', locale: null, device_id: `d-${user}` });

/** Messages as Lambda's event source mapping delivers them from a FIFO queue (attributes include MessageGroupId). */
const toEvent = (msgs: Message[]): SQSEvent => ({
  Records: msgs.map((m) => ({
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: m.Attributes?.SentTimestamp ?? '', SenderId: 'test', ApproximateFirstReceiveTimestamp: '', ...m.Attributes },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:logins.fifo',
    awsRegion: 'us-east-1',
  })),
});

describe('Lambda handler on a FIFO queue (SqsFifoPartialProcessor semantics)', () => {
  const env = useServices();
  let moto: SqsClient;
  beforeAll(() => {
    moto = motoSqsClient();
  });
  afterAll(() => moto.destroy());

  /** One event of 8 records from moto (several per group, in order): a0 b0 a1 b1 a2 b2 a3 b3; `bad` names the malformed ones. */
  async function batch(prefix: string, bad: Record<string, string> = {}): Promise<Message[]> {
    const { queueUrl } = await fifoQueues(moto, { dlq: false });
    const names = ['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3'];
    await sendAll(moto, queueUrl, names.map((n) => ({ body: bad[n] ?? event(`${prefix}-${n}`), groupId: `${prefix}-${n[0] ?? ''}`, deduplicationId: `${prefix}-${n}` })), { inOrder: true });
    const msgs = await receiveMessages(moto, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, systemAttributes: ['All'] });
    expect(msgs.map((m) => m.Attributes?.MessageGroupId)).toEqual(names.map((n) => `${prefix}-${n[0] ?? ''}`));
    return msgs;
  }
  const written = async (prefix: string) =>
    (await query<{ user_id: string }>(env.url, 'SELECT user_id FROM user_logins WHERE user_id LIKE $1', [`${prefix}-%`])).map((r) => r.user_id.slice(prefix.length + 1)).sort();
  const failures = (res: { batchItemFailures: { itemIdentifier: string }[] }) => res.batchItemFailures.map((f) => f.itemIdentifier);

  it('no DLQ: stops at the first reject; it and every later record are reported failed and nothing after it is written', async () => {
    const msgs = await batch('l1', { b1: '{"broken' });
    const res = await createHandler({ pool: env.pool, transform, log })(toEvent(msgs));
    expect(failures(res)).toEqual(msgs.slice(3).map((m) => m.MessageId));
    expect(await written('l1')).toEqual(['a0', 'a1', 'b0']);
  });

  it('a FIFO DLQ: the reject is dead-lettered with its group and counts as processed; the rest is written', async () => {
    const msgs = await batch('l2', { b1: '{"broken' });
    const { dlqUrl } = await fifoQueues(env.sqs);
    const dlq = await queueInfo(env.sqs, dlqUrl ?? '');
    const res = await createHandler({ pool: env.pool, transform, log, sqs: env.sqs, dlqUrl, dlq })(toEvent(msgs));
    expect(failures(res)).toEqual([]);
    expect(await written('l2')).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b2', 'b3']);
    const dead = await receiveMessages(env.sqs, dlqUrl ?? '', { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, systemAttributes: ['All'], messageAttributes: ['All'] });
    expect(dead).toHaveLength(1);
    expect(dead[0]?.Attributes).toMatchObject({ MessageGroupId: 'l2-b', MessageDeduplicationId: msgs[3]?.MessageId });
    expect(dead[0]?.MessageAttributes?.reason?.StringValue).toBe('invalid_json');
    await deleteMessages(env.sqs, dlqUrl ?? '', dead.map((m) => m.ReceiptHandle));
  });

  it('a reject too large for the DLQ is where the batch stops: rejects before it are dead-lettered, records from it on fail', async () => {
    const big = `{"user_id": "${'x'.repeat(3000)}`;
    const msgs = await batch('l3', { a1: '{"small', a2: big });
    const { dlqUrl } = await fifoQueues(env.sqs, { dlqAttributes: { MaximumMessageSize: '2048' } });
    const dlq = await queueInfo(env.sqs, dlqUrl ?? '');
    expect(dlq.maxMessageBytes).toBe(2048);
    const res = await createHandler({ pool: env.pool, transform, log, sqs: env.sqs, dlqUrl, dlq })(toEvent(msgs));
    expect(failures(res)).toEqual(msgs.slice(4).map((m) => m.MessageId));
    // Rows are written before dead letters (they are idempotent): the ones after the stop come again and the ledger skips them.
    expect(await written('l3')).toEqual(expect.arrayContaining(['a0', 'b0', 'b1']));
    const dead = await receiveMessages(env.sqs, dlqUrl ?? '', { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 });
    expect(dead.map((m) => m.Body)).toEqual(['{"small']);
  });

  it('Postgres down: nothing can be processed, so it throws FullBatchFailureError', async () => {
    const msgs = await batch('l4');
    const down = new pg.Pool({ connectionString: 'postgres://x:y@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    try {
      await expect(createHandler({ pool: down, transform, log })(toEvent(msgs))).rejects.toBeInstanceOf(FullBatchFailureError);
    } finally {
      await down.end();
    }
  });

  it('a standard DLQ for a FIFO source is a configuration fault, said in one line', async () => {
    const msgs = await batch('l5', { a0: 'nope' });
    const { dlqUrl } = await freshQueues(env.sqs);
    const dlq = await queueInfo(env.sqs, dlqUrl);
    const err = await createHandler({ pool: env.pool, transform, log, sqs: env.sqs, dlqUrl, dlq })(toEvent(msgs)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/is a standard queue but the event source is a FIFO queue/);
  });
});
