import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadQueue, sqsJson, SqsJsonError } from '../../bench/sqs-json.js';
import { sqsEndpoint } from '../helpers/services.js';

describe("bench's raw SQS JSON client against fauxqs", () => {
  const sqs = sqsJson(sqsEndpoint(), 4);
  afterAll(() => sqs.close());

  it('loads, receives and deletes every message exactly once', async () => {
    const url = await sqs.createQueue(`bench-${randomBytes(4).toString('hex')}`);
    const bodies = Array.from({ length: 95 }, (_, i) => JSON.stringify({ i }));
    await loadQueue(sqs, url, bodies, 3);
    expect(await sqs.depth(url)).toEqual({ visible: 95, inFlight: 0, delayed: 0 });
    const seen: string[] = [];
    for (let msgs = await sqs.receive(url); msgs.length > 0; msgs = await sqs.receive(url)) {
      seen.push(...msgs.map((m) => m.Body));
      await sqs.deleteBatch(url, msgs.map((m) => m.ReceiptHandle));
    }
    expect(seen.sort()).toEqual([...bodies].sort());
    expect(await sqs.depth(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await sqs.deleteQueue(url);
  });

  it('turns an error response into a typed error', async () => {
    const err = await sqs.receive(`${sqsEndpoint()}/000000000000/no-such-queue-${randomBytes(4).toString('hex')}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqsJsonError);
    expect((err as SqsJsonError).type).toBe('QueueDoesNotExist');
  });

  it('reports failed batch entries instead of dropping them', async () => {
    const url = await sqs.createQueue(`bench-${randomBytes(4).toString('hex')}`);
    const err = await sqs.sendBatch(url, ['{"ok":1}', 'bad \u0001 char']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqsJsonError);
    expect((err as SqsJsonError).type).toBe('InvalidMessageContents');
    await sqs.deleteQueue(url);
  });
});
