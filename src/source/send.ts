import type { SqsClient } from './client.js';
import { sendMessages, type BatchFailure, type OutgoingMessage } from './queue.js';
import { batchBySize, sqsMessageBytes, SQS_MAX_BYTES } from './size.js';
import { formatCount } from '../format.js';

export interface SendOptions {
  /** SendMessageBatch calls at once (default 8). */
  concurrency?: number;
  /** The queue's MaximumMessageSize: caps each message and each batch (default 1 MiB, SQS's own limit). */
  maxBytes?: number;
  /** A FIFO queue: batches go out one after another, so each group's messages arrive in the order given. */
  inOrder?: boolean;
}

/** A message too large for the queue: no request can carry it. */
export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`message ${formatCount(index + 1)} is ${formatCount(bytes)} bytes with its attributes; the queue takes at most ${formatCount(maxBytes)} (its MaximumMessageSize)`);
  }
}

/**
 * Publishes messages with SendMessageBatch: batches built by size (up to 10 messages, their total within
 * `maxBytes`), `concurrency` at a time, or one at a time in order. Nothing is sent if a message is too large
 * on its own. Throws if SQS refuses any.
 */
export async function sendAll(sqs: SqsClient, queueUrl: string, messages: readonly OutgoingMessage[], o: SendOptions | number = {}): Promise<number> {
  const opts = typeof o === 'number' ? { concurrency: o } : o;
  const maxBytes = Math.min(opts.maxBytes ?? SQS_MAX_BYTES, SQS_MAX_BYTES);
  const indexed = messages.map((m, index) => ({ m, index, bytes: sqsMessageBytes(m) }));
  const { batches, tooLarge } = batchBySize(indexed, (x) => x.bytes, maxBytes);
  const [big] = tooLarge;
  if (big) throw new MessageTooLargeError(big.index, big.bytes, maxBytes);
  let next = 0;
  let sent = 0;
  let refused: BatchFailure | undefined;
  let refusedCount = 0;
  async function worker(): Promise<void> {
    while (next < batches.length && !refused) {
      const group = batches[next++] ?? [];
      const failed = await sendMessages(sqs, queueUrl, group.map((x) => x.m));
      sent += group.length - failed.length;
      refusedCount += failed.length;
      refused ??= failed[0];
    }
  }
  const workers = opts.inOrder ? 1 : Math.min(opts.concurrency ?? 8, batches.length);
  // Every worker finishes its call in progress, so the count of what was sent is exact.
  const results = await Promise.allSettled(Array.from({ length: workers }, worker));
  const error = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (error) throw error.reason;
  if (refused) throw new SendRefusedError(refused, refusedCount, sent, messages.length);
  return sent;
}

/** SQS refused messages of a batch (their entries failed); the others may have been sent. */
export class SendRefusedError extends Error {
  override name = 'SendRefusedError';
  constructor(
    readonly first: BatchFailure,
    readonly refused: number,
    readonly sent: number,
    readonly total: number,
  ) {
    super(`SQS refused ${refused} of ${total} message${total === 1 ? '' : 's'} (${first.code}${first.message ? `: ${first.message}` : ''}); ${sent} ${sent === 1 ? 'was' : 'were'} sent, and sending stopped there`);
  }
}

/** Publishes bodies as they are. */
export const sendBodies = (sqs: SqsClient, queueUrl: string, bodies: readonly string[], o: SendOptions | number = 8): Promise<number> =>
  sendAll(sqs, queueUrl, bodies.map((body) => ({ body })), o);
