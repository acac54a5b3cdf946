import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { createSqsClient } from '../../src/source/client.js';
import { createQueue, deleteMessages, receiveMessages, type Message } from '../../src/source/queue.js';
import { queueInfo } from '../../src/source/queueInfo.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { faultProxy } from '../helpers/proxy.js';
import { depth, rowCounts, sqsEndpoint, testKey, uniqueBodies, useServices } from '../helpers/services.js';

const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.from(testKey(13), 'base64')]]) }, 'hmac'));

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }), lines };
}

/** A malformed event (invalid_json) of exactly `bytes` bytes. */
const bigReject = (bytes: number) => `{"user_id": "${'x'.repeat(bytes - 13)}`;

async function takeAll(sqs: ReturnType<typeof createSqsClient>, url: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await receiveMessages(sqs, url, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, messageAttributes: ['All'] });
    if (r.length === 0) return out;
    out.push(...r);
    await deleteMessages(sqs, url, r.map((m) => m.ReceiptHandle));
  }
}

describe('large rejected messages and the DLQ (fauxqs)', () => {
  const env = useServices();
  const queues = async (dlqMax: number) => {
    const name = `big-${randomBytes(4).toString('hex')}`;
    const [queueUrl, dlqUrl] = await Promise.all([createQueue(env.sqs, name, { VisibilityTimeout: '2' }), createQueue(env.sqs, `${name}-dlq`, { MaximumMessageSize: String(dlqMax) })]);
    return { queueUrl, dlqUrl, dlqMaxBytes: (await queueInfo(env.sqs, dlqUrl)).maxMessageBytes };
  };
  const base = (queueUrl: string, over: Partial<PipelineOptions>): PipelineOptions => ({
    sqs: env.sqs, pool: env.pool, transform, log: pino({ level: 'silent' }), queueUrl, receivers: 4, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30,
    maxInFlight: 1000, batchSize: 50, batchMaxAgeMs: 50, sinkConcurrency: 2, retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true, ...over,
  });

  for (const dlqMax of [262_144, 1_048_576]) {
    it(`DLQ of ${dlqMax / 1024} KiB: several 100–250 KB rejects all reach it (batches by size), one near the maximum stays on the source with one line`, async () => {
      const { queueUrl, dlqUrl, dlqMaxBytes } = await queues(dlqMax);
      expect(dlqMaxBytes).toBe(dlqMax);
      const sizes = [100_000, 250_000, 180_000, 240_000, 120_000, 200_000];
      const nearMax = dlqMax - 20; // fits the source queue, not the DLQ once `reason` and `source_message_id` are added
      await sendBodies(env.sqs, queueUrl, [...sizes.map(bigReject), bigReject(nearMax), ...uniqueBodies(20, `big${dlqMax}`)], { concurrency: 1 });
      const { log, lines } = capture();
      const s = await createPipeline(base(queueUrl, { dlqUrl, dlqMaxBytes, log })).run();
      expect(s).toMatchObject({ received: 27, written: 20, rejected: 7, deadLettered: 6, leftOnQueue: 1, tooLargeForDlq: 1 });
      const dead = await takeAll(env.sqs, dlqUrl);
      expect(dead.map((m) => m.Body.length).sort((a, b) => a - b)).toEqual([...sizes].sort((a, b) => a - b));
      expect(dead.every((m) => m.MessageAttributes?.reason?.StringValue === 'invalid_json')).toBe(true);
      // One line for the message that cannot be dead-lettered, none about a refused or retried request.
      const tooLarge = lines.filter((l) => l.repeat === 'dlq:too_large');
      expect(tooLarge).toHaveLength(1);
      // Attributes: reason (6) + String (6) + invalid_json (12), source_message_id (17) + String (6) + a 36-character id.
      const attributes = 6 + 6 + 12 + 17 + 6 + 36;
      expect(String(tooLarge[0]?.msg)).toMatch(new RegExp(`too large for the DLQ \\(${(nearMax + attributes).toLocaleString('en-US')} bytes with its attributes; the DLQ takes at most ${dlqMax.toLocaleString('en-US')}\\): not dead-lettered, it stays on the source queue`));
      expect(lines.filter((l) => /refused|retrying/.test(String(l.msg)))).toEqual([]);
      // Nothing is lost: the big one is still on the source (in flight until its visibility timeout).
      expect(await depth(env.sqs, queueUrl)).toBe(1);
      expect(await rowCounts(env.url, `big${dlqMax}`)).toEqual({ total: 20, distinct: 20 });
    });
  }

  it('a batch the DLQ refuses as a whole (BatchRequestTooLong) is not retried as it is: its messages go one per call', async () => {
    const { queueUrl, dlqUrl } = await queues(1_048_576);
    await sendBodies(env.sqs, queueUrl, [bigReject(1000), bigReject(2000), bigReject(3000)]);
    const proxy = await faultProxy(sqsEndpoint());
    let refusedBatches = 0;
    proxy.respond = (action, body) => {
      if (action !== 'SendMessageBatch' || (JSON.parse(body) as { Entries: unknown[] }).Entries.length < 2) return undefined;
      refusedBatches++;
      return { status: 400, body: JSON.stringify({ __type: 'com.amazonaws.sqs#BatchRequestTooLong', message: 'Batch requests cannot be longer than 1048576 bytes.' }), queryError: 'AWS.SimpleQueueService.BatchRequestTooLong;Sender' };
    };
    const viaProxy = createSqsClient({ queueUrl, sqsEndpoint: proxy.url, region: 'us-east-1' }, {});
    const { log, lines } = capture();
    try {
      const s = await createPipeline(base(queueUrl, { sqs: viaProxy, dlqUrl, log, receivers: 1 })).run();
      expect(refusedBatches).toBe(1);
      expect(s).toMatchObject({ rejected: 3, deadLettered: 3, leftOnQueue: 0 });
      expect(lines.filter((l) => String(l.msg).startsWith('the DLQ refused a batch; sending its messages one by one'))).toHaveLength(1);
      expect((await takeAll(env.sqs, dlqUrl)).map((m) => String(m.Body.length)).sort()).toEqual([1000, 2000, 3000].map(String).sort());
      expect(await depth(env.sqs, queueUrl)).toBe(0);
    } finally {
      await viaProxy.destroy();
      await proxy.close();
    }
  });

  it('a DLQ smaller than it was said to be refuses each message (a sender fault): never retried, left on the source, the drain ends', async () => {
    const { queueUrl, dlqUrl } = await queues(262_144);
    await sendBodies(env.sqs, queueUrl, [bigReject(300_000), bigReject(400_000)]);
    const { log, lines } = capture();
    // Told 1 MiB: the real limit is 256 KiB, so SQS refuses both entries.
    const s = await createPipeline(base(queueUrl, { dlqUrl, dlqMaxBytes: 1_048_576, log })).run();
    expect(s).toMatchObject({ rejected: 2, deadLettered: 0, leftOnQueue: 2, tooLargeForDlq: 0 });
    expect(lines.filter((l) => String(l.msg).startsWith('the DLQ refused messages; not retried')).length).toBeGreaterThan(0);
    expect(lines.filter((l) => String(l.msg).includes('retrying'))).toEqual([]);
    expect(await depth(env.sqs, queueUrl)).toBe(2);
  });
});
