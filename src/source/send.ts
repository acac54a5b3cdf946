import type { SqsClient } from './client.js';
import { chunk, sendMessages, type OutgoingMessage } from './queue.js';

/** Publishes messages with SendMessageBatch, `concurrency` batches at a time. Throws if SQS refuses any. */
export async function sendAll(sqs: SqsClient, queueUrl: string, messages: readonly OutgoingMessage[], concurrency = 8): Promise<number> {
  const groups = chunk(messages);
  let next = 0;
  let sent = 0;
  async function worker(): Promise<void> {
    while (next < groups.length) {
      const group = groups[next++] ?? [];
      const failed = await sendMessages(sqs, queueUrl, group);
      if (failed.length) throw new Error(`SQS refused ${failed.length} messages (${failed[0]?.code ?? 'unknown'})`);
      sent += group.length;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
  return sent;
}

/** Publishes bodies as they are. */
export const sendBodies = (sqs: SqsClient, queueUrl: string, bodies: readonly string[], concurrency = 8): Promise<number> =>
  sendAll(sqs, queueUrl, bodies.map((body) => ({ body })), concurrency);
