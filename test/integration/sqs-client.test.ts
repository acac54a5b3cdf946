import { getEventListeners } from 'node:events';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsClient, type SqsClient } from '../../src/source/client.js';
import { SqsError } from '../../src/source/errors.js';
import { createQueue, deleteMessages, extendVisibility, queueDepth, receiveMessages, sendMessages } from '../../src/source/queue.js';
import { sendBodies, SendRefusedError } from '../../src/source/send.js';
import { blackHole, faultProxy } from '../helpers/proxy.js';
import { freshQueues, sqsClient, sqsEndpoint } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const receiveAll = async (sqs: SqsClient, url: string, n: number, o: Partial<Parameters<typeof receiveMessages>[2]> = {}) => {
  const out: Awaited<ReturnType<typeof receiveMessages>> = [];
  for (let i = 0; i < 50 && out.length < n; i++) out.push(...(await receiveMessages(sqs, url, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, ...o })));
  return out;
};

describe('the SQS client against fauxqs over HTTP', () => {
  let sqs: SqsClient;
  /** The AWS SDK, as an independent reader and writer of the same queues. */
  let sdk: SQSClient;
  beforeAll(() => {
    sqs = sqsClient();
    sdk = new SQSClient({ endpoint: sqsEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterAll(async () => {
    sdk.destroy();
    await sqs.destroy();
  });

  it('sends with attributes; the AWS SDK receives the same bodies and attributes and accepts their MD5s', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const failed = await sendMessages(sqs, queueUrl, [
      { body: '{"a":"ünïcödé ✓ €"}', attributes: { reason: 'invalid_ip', n: { DataType: 'Number', StringValue: '42' }, bin: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 255]).toString('base64') } } },
      { body: 'plain' },
    ]);
    expect(failed).toEqual([]);
    // (No astral-plane characters: fauxqs 1.9.2 refuses them, though SQS accepts them.)
    // The SDK checks MD5OfBody on receive (it throws on a mismatch) and decodes the attributes itself.
    const r = await sdk.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    const byBody = new Map((r.Messages ?? []).map((m) => [m.Body, m]));
    expect([...byBody.keys()].sort()).toEqual(['plain', '{"a":"ünïcödé ✓ €"}']);
    const first = byBody.get('{"a":"ünïcödé ✓ €"}');
    expect(first?.MessageAttributes?.reason).toMatchObject({ DataType: 'String', StringValue: 'invalid_ip' });
    expect(first?.MessageAttributes?.n).toMatchObject({ DataType: 'Number', StringValue: '42' });
    expect(Buffer.from(first?.MessageAttributes?.bin?.BinaryValue ?? new Uint8Array()).toJSON().data).toEqual([0, 1, 2, 255]);
  });

  it('receives what the AWS SDK sent, with SentTimestamp, verified against MD5OfBody; deletes it', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const bodies = Array.from({ length: 15 }, (_, i) => JSON.stringify({ i, s: '€'.repeat(i) }));
    for (let i = 0; i < bodies.length; i += 10) {
      await sdk.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) }));
    }
    const got = await receiveAll(sqs, queueUrl, 15);
    expect(got.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    expect(got.every((m) => m.intact && /^[0-9a-f]{32}$/.test(m.MD5OfBody ?? ''))).toBe(true);
    expect(got.every((m) => Number(m.Attributes?.SentTimestamp) > Date.now() - 60_000)).toBe(true);
    expect(await queueDepth(sqs, queueUrl)).toEqual({ visible: 0, inFlight: 15, delayed: 0 });
    const failed = (await Promise.all([deleteMessages(sqs, queueUrl, got.slice(0, 10).map((m) => m.ReceiptHandle)), deleteMessages(sqs, queueUrl, got.slice(10).map((m) => m.ReceiptHandle))])).flat();
    expect(failed).toEqual([]);
    const attrs = await sdk.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('0');
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('ChangeMessageVisibilityBatch: a visibility of 0 makes messages visible again; a bad handle fails alone, as a sender fault', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, ['a', 'b', 'c']);
    const got = await receiveAll(sqs, queueUrl, 3);
    const failed = await extendVisibility(sqs, queueUrl, [...got.map((m) => m.ReceiptHandle), 'not-a-receipt-handle'], 0);
    expect(failed).toMatchObject([{ id: '3', code: 'ReceiptHandleIsInvalid', senderFault: true }]);
    expect((await receiveAll(sqs, queueUrl, 3)).map((m) => m.Body).sort()).toEqual(['a', 'b', 'c']);
  });

  it('SendMessageBatch partial failure: the invalid entry fails alone, as a sender fault; the rest arrive', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const failed = await sendMessages(sqs, queueUrl, [{ body: 'ok-1' }, { body: 'bad \u0000 byte' }, { body: 'ok-2' }]);
    expect(failed).toEqual([{ id: '1', code: 'InvalidMessageContents', senderFault: true, message: expect.stringMatching(/character/i) as unknown as string }]);
    expect((await receiveAll(sqs, queueUrl, 2)).map((m) => m.Body).sort()).toEqual(['ok-1', 'ok-2']);
  });

  it('sendBodies says how many of how many SQS refused, why, and how many were sent before it stopped', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const bodies = ['a', 'b \u0001 c', ...Array.from({ length: 15 }, (_, i) => `ok-${i}`)];
    const err = await sendBodies(sqs, queueUrl, bodies, { concurrency: 1 }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SendRefusedError);
    expect((err as Error).message).toMatch(/^SQS refused 1 of 17 messages \(InvalidMessageContents: .*\); 9 were sent, and sending stopped there$/);
    expect((await queueDepth(sqs, queueUrl)).visible).toBe(9);
  });

  it('FIFO: MessageGroupId and MessageDeduplicationId are carried; without a group id each entry fails as a sender fault', async () => {
    const url = await createQueue(sqs, `fifo-${Date.now()}.fifo`, { FifoQueue: 'true' });
    expect(await sendMessages(sqs, url, [{ body: 'no group' }])).toMatchObject([{ id: '0', code: 'MissingParameter', senderFault: true }]);
    expect(await sendMessages(sqs, url, [{ body: 'g1-a', groupId: 'g1', deduplicationId: 'd1' }, { body: 'g1-a again', groupId: 'g1', deduplicationId: 'd1' }, { body: 'g2-a', groupId: 'g2', deduplicationId: 'd2' }])).toEqual([]);
    const got = await receiveAll(sqs, url, 2, { systemAttributes: ['MessageGroupId', 'MessageDeduplicationId'] });
    // The second entry reused d1 within the deduplication window: SQS dropped it.
    expect(got.map((m) => [m.Body, m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId]).sort()).toEqual([['g1-a', 'g1', 'd1'], ['g2-a', 'g2', 'd2']]);
  });

  it('a missing queue is a config error; a parameter out of range is a request fault; both typed, with the AWS code and status', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const missing = await queueDepth(sqs, `${queueUrl}-gone`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SqsError);
    expect(missing).toMatchObject({ code: 'ETL_ERR_SQS_QUEUE_MISSING', kind: 'config', awsCode: 'QueueDoesNotExist', status: 400 });
    const bad = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 43_201 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'ETL_ERR_SQS_REQUEST', kind: 'request', awsCode: 'InvalidParameterValue', status: 400 });
    const tooMany = await deleteMessages(sqs, queueUrl, Array.from({ length: 11 }, (_, i) => `h${i}`)).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ kind: 'request', awsCode: 'TooManyEntriesInBatchRequest' });
  });

  it('throttling, 5xx and a load balancer page through the fault proxy are transient, typed errors', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const proxy = await faultProxy(sqsEndpoint());
    const viaProxy = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    try {
      proxy.mode = 'throttle';
      expect(await receiveMessages(viaProxy, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30 }).catch((e: unknown) => e)).toMatchObject({ code: 'ETL_ERR_SQS_THROTTLED', kind: 'transient', awsCode: 'RequestThrottled', status: 400 });
      proxy.mode = 500;
      expect(await deleteMessages(viaProxy, queueUrl, ['h']).catch((e: unknown) => e)).toMatchObject({ code: 'ETL_ERR_SQS_SERVER', kind: 'transient', awsCode: 'InternalError', status: 500 });
      proxy.mode = 'html503';
      expect(await queueDepth(viaProxy, queueUrl).catch((e: unknown) => e)).toMatchObject({ code: 'ETL_ERR_SQS_SERVER', kind: 'transient', status: 503, shortCode: 'HTTP503' });
      proxy.mode = 'pass';
      expect(await queueDepth(viaProxy, queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      // Every call was signed for the queue's region, with x-amz-target naming the action.
      expect(proxy.seen.map((s) => s.target)).toEqual(['AmazonSQS.ReceiveMessage', 'AmazonSQS.DeleteMessageBatch', 'AmazonSQS.GetQueueAttributes', 'AmazonSQS.GetQueueAttributes']);
      expect(proxy.seen.every((s) => /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/sqs\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, Signature=[0-9a-f]{64}$/.test(s.authorization))).toBe(true);
    } finally {
      await viaProxy.destroy();
      await proxy.close();
    }
  });

  it('a stop during a long poll aborts it at once, and nothing is lost: what the aborted poll took reappears after the visibility timeout', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const stop = new AbortController();
    const poll = receiveMessages(sqs, queueUrl, { waitTimeSeconds: 20, visibilityTimeoutSeconds: 2 }, { signal: stop.signal });
    await sleep(300);
    const t0 = Date.now();
    stop.abort();
    const outcome = await poll.then(() => 'resolved', (e: unknown) => (e as Error).name);
    expect(outcome).toBe('AbortError');
    expect(Date.now() - t0).toBeLessThan(5000);
    // The server may still hand a message to the abandoned poll; it is invisible for 2 s, then delivered again.
    await sendBodies(sqs, queueUrl, ['after the stop']);
    const got = await receiveAll(sqs, queueUrl, 1, { waitTimeSeconds: 5 });
    expect(got.map((m) => m.Body)).toEqual(['after the stop']);
  });

  it('calls sharing one abort signal add one listener to it in all (a receive loop makes thousands), and its abort stops every one of them', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, ['x']);
    const stop = new AbortController();
    for (let i = 0; i < 30; i++) {
      const got = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 0 }, { signal: stop.signal });
      expect(got.length).toBeLessThanOrEqual(1);
    }
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    const { queueUrl: empty } = await freshQueues(sqs);
    const polls = Array.from({ length: 5 }, () => receiveMessages(sqs, empty, { waitTimeSeconds: 20, visibilityTimeoutSeconds: 2 }, { signal: stop.signal }));
    await sleep(300);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    const t0 = Date.now();
    stop.abort();
    const outcomes = await Promise.all(polls.map((p) => p.then(() => 'resolved', (e: unknown) => (e as Error).name)));
    expect(outcomes).toEqual(Array(5).fill('AbortError'));
    expect(Date.now() - t0).toBeLessThan(5000);
    // A call made with the signal already aborted fails at once.
    await expect(receiveMessages(sqs, empty, { waitTimeSeconds: 20, visibilityTimeoutSeconds: 2 }, { signal: stop.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a black-hole endpoint (accepts, never answers): the call times out as transient; a long poll is allowed its wait time plus the margin', async () => {
    const hole = await blackHole();
    const client = createSqsClient({ queueUrl: `${hole.url}/000000000000/q`, region: 'us-east-1' }, {}, { timeoutMs: 300 });
    try {
      const quick = await queueDepth(client, `${hole.url}/000000000000/q`).catch((e: unknown) => e);
      expect(quick).toMatchObject({ code: 'ETL_ERR_SQS_TIMEOUT', kind: 'transient' });
      expect((quick as Error).message).toBe('GetQueueAttributes: no answer within 300 ms (UND_ERR_HEADERS_TIMEOUT)');
      const poll = await receiveMessages(client, `${hole.url}/000000000000/q`, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 30 }).catch((e: unknown) => e);
      expect((poll as Error).message).toBe('ReceiveMessage: no answer within 1300 ms (UND_ERR_HEADERS_TIMEOUT)');
      expect(hole.connections).toBeGreaterThan(0);
    } finally {
      await client.destroy();
      await hole.close();
    }
  });

  it('a refused connection is a transient network error', async () => {
    const hole = await blackHole();
    const url = hole.url;
    await hole.close();
    const client = createSqsClient({ queueUrl: `${url}/000000000000/q`, region: 'us-east-1' }, {}, { timeoutMs: 1000 });
    expect(await queueDepth(client, `${url}/000000000000/q`).catch((e: unknown) => e)).toMatchObject({ code: 'ETL_ERR_SQS_NETWORK', kind: 'transient', shortCode: 'ECONNREFUSED' });
    await client.destroy();
  });

  it('a body corrupted on the way (MD5 mismatch) is marked, not trusted', async () => {
    const { queueUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, ['{"user_id":"u1"}', '{"user_id":"u2"}']);
    const proxy = await faultProxy(sqsEndpoint());
    proxy.rewrite = (action, body) => (action === 'ReceiveMessage' ? body.replace('u1', 'uX') : body);
    const viaProxy = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    try {
      const got = await receiveAll(viaProxy, queueUrl, 2);
      expect(got.map((m) => [m.Body, m.intact]).sort()).toEqual([['{"user_id":"u2"}', true], ['{"user_id":"uX"}', false]]);
    } finally {
      await viaProxy.destroy();
      await proxy.close();
    }
  });
});
