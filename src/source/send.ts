import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk } from './queue.js';

/** Publishes bodies with SendMessageBatch, `concurrency` batches at a time. Throws if SQS refuses any. */
export async function sendBodies(sqs: SQSClient, queueUrl: string, bodies: readonly string[], concurrency = 8): Promise<number> {
  const groups = chunk(bodies);
  let next = 0;
  let sent = 0;
  async function worker(): Promise<void> {
    while (next < groups.length) {
      const group = groups[next++] ?? [];
      const out = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: group.map((b, i) => ({ Id: String(i), MessageBody: b })) }),
      );
      if (out.Failed?.length) throw new Error(`SQS refused ${out.Failed.length} messages (${out.Failed[0]?.Code ?? 'unknown'})`);
      sent += group.length;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
  return sent;
}
