import type { SqsClient } from '../source/client.js';
import { chunk, extendVisibility, receiveMessages, type Message } from '../source/queue.js';

/** How long a message a listing has seen stays hidden while the listing goes on (it is made visible again at the end). */
export const HOLD_SECONDS = 600;

export interface Browser {
  /** The next messages not seen before; empty when the queue has no more to give. */
  next(): Promise<Message[]>;
  /** Messages deleted (moved) meanwhile: not to be made visible again. */
  forget(handles: readonly string[]): void;
  /** Makes every message still held visible again; returns how many could not be (their hold had lapsed, or SQS refused). */
  release(): Promise<number>;
}

/**
 * Reads a queue without consuming it. Each message received is held hidden (HOLD_SECONDS) so that the next
 * receives return others, and all are made visible again by `release()` (ChangeMessageVisibilityBatch to 0).
 * Receiving raises a message's ApproximateReceiveCount. On a FIFO queue, SQS gives out a group's later messages
 * only once the earlier ones are deleted, so a listing sees the first messages of each group.
 */
export function browseQueue(sqs: SqsClient, queueUrl: string): Browser {
  const held = new Map<string, string>(); // MessageId → receipt handle
  let stale = 0;
  return {
    async next() {
      // Nothing new three times in a row (held messages whose hold lapsed come back): the end.
      while (stale < 3) {
        const got = await receiveMessages(sqs, queueUrl, {
          waitTimeSeconds: sqs.singleServer ? 0 : 1,
          visibilityTimeoutSeconds: HOLD_SECONDS,
          messageAttributes: ['All'],
          systemAttributes: ['All'],
        });
        if (got.length === 0) return [];
        const fresh = got.filter((m) => !held.has(m.MessageId));
        for (const m of got) held.set(m.MessageId, m.ReceiptHandle);
        if (fresh.length > 0) {
          stale = 0;
          return fresh;
        }
        stale++;
      }
      return [];
    },
    forget(handles) {
      const gone = new Set(handles);
      for (const [id, h] of held) if (gone.has(h)) held.delete(id);
    },
    async release() {
      const handles = [...held.values()];
      held.clear();
      let failed = 0;
      const groups = chunk(handles);
      const results = await Promise.allSettled(groups.map((g) => extendVisibility(sqs, queueUrl, g, 0)));
      results.forEach((r, i) => (failed += r.status === 'fulfilled' ? r.value.length : (groups[i]?.length ?? 0)));
      return failed;
    },
  };
}
