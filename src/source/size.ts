import type { MessageAttributeValue, OutgoingMessage } from './queue.js';

/** SQS's largest message, and the cap on a SendMessageBatch's total payload (1 MiB since August 2025). */
export const SQS_MAX_BYTES = 1_048_576;
/** What a queue created before August 2025 (or with the old default) accepts: 256 KiB. */
export const SQS_LEGACY_MAX_BYTES = 262_144;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * A message's size as SQS counts it against MaximumMessageSize: the body's UTF-8 bytes plus, for every message
 * attribute, its name, its data type and its value. A binary value is counted as its base64 text, which is at
 * least as long as the bytes it encodes: never less than what SQS counts.
 */
export function sqsMessageBytes(m: Pick<OutgoingMessage, 'body' | 'attributes'>): number {
  let n = bytes(m.body);
  for (const [name, v] of Object.entries(m.attributes ?? {})) {
    n += bytes(name);
    if (typeof v === 'string') n += 6 /* String */ + bytes(v);
    else n += bytes(v.DataType) + bytes((v as MessageAttributeValue).StringValue ?? '') + bytes(v.BinaryValue ?? '');
  }
  return n;
}

export interface SizedBatches<T> {
  /** SendMessageBatch calls, in the order given: at most `maxEntries` each, their sizes summing to at most `maxBytes`. */
  batches: T[][];
  /** Items larger than `maxBytes` on their own: no request can carry them. */
  tooLarge: T[];
}

/**
 * Packs items into batches in order (so a FIFO group's messages keep their order), closing a batch when the
 * next item would take it past `maxEntries` or `maxBytes`. SQS caps each message at the queue's
 * MaximumMessageSize and a whole batch at the same figure, so one cap serves both.
 */
export function batchBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number, maxEntries = 10): SizedBatches<T> {
  const batches: T[][] = [];
  const tooLarge: T[] = [];
  let open: T[] = [];
  let openBytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > maxBytes) {
      tooLarge.push(item);
      continue;
    }
    if (open.length === maxEntries || openBytes + size > maxBytes) {
      batches.push(open);
      open = [];
      openBytes = 0;
    }
    open.push(item);
    openBytes += size;
  }
  if (open.length > 0) batches.push(open);
  return { batches, tooLarge };
}
