import type { Logger } from 'pino';
import { sha256Hex } from '../hash.js';
import { backoffMs, sleep } from '../pipeline/backoff.js';
import type { SqsClient } from '../source/client.js';
import { classifySqsError, sqsConfigError, sqsErrorCode } from '../source/errors.js';
import { deleteMessages, sendMessages, type OutgoingMessage } from '../source/queue.js';
import { batchBySize, sqsMessageBytes } from '../source/size.js';
import { browseQueue } from './browse.js';
import type { DecodedDeadLetter, DeadLetterInput } from './codec.js';
import { inspect, type DeadLetterEntry } from './inspect.js';

export interface RedriveOptions {
  /** The source queue's client, where messages are sent back. */
  sqs: SqsClient;
  /** The DLQ's client, where they are read and deleted (default: `sqs`). */
  dlqSqs?: SqsClient;
  dlqUrl: string;
  queueUrl: string;
  /** Move at most this many. */
  max: number;
  /** Only dead letters with this reason. */
  reason?: string | undefined;
  decode: (m: DeadLetterInput) => DecodedDeadLetter;
  log: Logger;
  /** Aborted: stop after the batch in hand (what was not moved is made visible again). */
  signal?: AbortSignal;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface RedriveResult {
  moved: number;
  /** Dead letters left in the DLQ: undecryptable (by failure), or refused by the source queue (by SQS code). */
  skipped: Record<string, number>;
  /** Moved, but the DLQ copy could not be deleted: it will be redriven again (a duplicate on the source). */
  notDeleted: number;
  /**
   * Further copies of a source message already moved in this run, deleted from the DLQ instead of sent: a
   * reject the source queue delivered again (its delete failed, or the drain stopped before it) is
   * dead-lettered once per delivery, and each copy sent back would get a new MessageId, so the ledger could
   * not tell them apart and every copy would become a row.
   */
  duplicates: number;
}

/** The source queue's MaximumMessageSize (also the most a batch may carry, on every SQS version); 256 KiB if unknown. */
async function maxMessageBytes(sqs: SqsClient, queueUrl: string): Promise<number> {
  try {
    const out = await sqs.call<{ Attributes?: Record<string, string> }>('GetQueueAttributes', { QueueUrl: queueUrl, AttributeNames: ['MaximumMessageSize'] });
    const n = Number(out.Attributes?.MaximumMessageSize);
    return Number.isInteger(n) && n > 0 ? n : 262_144;
  } catch (err) {
    if (classifySqsError(err) === 'config') throw sqsConfigError(err, queueUrl);
    return 262_144;
  }
}

interface Move {
  entry: DeadLetterEntry;
  handle: string;
  out: OutgoingMessage;
  /** Its copy key, when it has one (copyKey). */
  key: string | undefined;
}

/** A dead letter that repeats another of the same source message (same id, same body). */
interface Copy {
  key: string;
  handle: string;
}

/** Source message id and a digest of the body: what makes two dead letters copies of one message. */
const copyKey = (e: DeadLetterEntry): string | undefined =>
  e.sourceMessageId === null || e.original === undefined ? undefined : `${e.sourceMessageId}\n${sha256Hex(e.original)}`;

/**
 * Moves dead letters back to the source queue: each body decrypted (raw ones as they are), sent with its FIFO
 * group id and a deduplication id of its own, and deleted from the DLQ only once the source has it (a crash in
 * between leaves a copy in the DLQ, never a loss). What cannot be decrypted or sent stays in the DLQ, visible
 * again, and is counted by cause; the caller reports it. Further copies of a message moved in this run (same
 * source message id and body) are deleted from the DLQ instead of sent (`duplicates`).
 */
export async function redrive(o: RedriveOptions): Promise<RedriveResult> {
  const { sqs, log } = o;
  const base = o.retryBaseMs ?? 200;
  const cap = o.retryMaxMs ?? 5000;
  const maxBytes = await maxMessageBytes(sqs, o.queueUrl);
  const dlqSqs = o.dlqSqs ?? sqs;
  const browser = browseQueue(dlqSqs, o.dlqUrl);
  /** Deletes from the DLQ; a failed call counts every entry as not deleted. */
  const deleteFromDlq = (handles: string[]) =>
    deleteMessages(dlqSqs, o.dlqUrl, handles).catch(() => handles.map((_, i) => ({ id: String(i), code: 'Error', senderFault: false })));
  /** Deletes what is on the source now from the DLQ, retrying what failed once; counts and names what stays. Returns how many went. */
  async function removeFromDlq(handles: string[], what: string): Promise<number> {
    let failed = await deleteFromDlq(handles);
    if (failed.length > 0) failed = await deleteFromDlq(failed.map((f) => handles[Number(f.id)] ?? ''));
    result.notDeleted += failed.length;
    if (failed.length > 0) log.warn({ count: failed.length }, `${what} could not be deleted from the DLQ; a later redrive would send them again`);
    browser.forget(handles);
    return handles.length - failed.length;
  }
  const result: RedriveResult = { moved: 0, skipped: {}, notDeleted: 0, duplicates: 0 };
  /** Copy keys of the messages this run has moved. */
  const moved = new Set<string>();
  const skip = (why: string, e: DeadLetterEntry, message: string) => {
    result.skipped[why] = (result.skipped[why] ?? 0) + 1;
    log.warn({ messageId: e.id, dlqMessageId: e.dlqMessageId, reason: e.reason, failure: why, repeat: `redrive:skip:${why}` }, `not redriven: ${message}; it stays in the DLQ`);
  };

  /** SendMessageBatch with retries of transient failures; returns the moves the source took. */
  async function send(batch: Move[]): Promise<Move[]> {
    let todo = batch;
    const taken: Move[] = [];
    for (let attempt = 0; todo.length > 0; attempt++) {
      try {
        const failed = await sendMessages(sqs, o.queueUrl, todo.map((m) => m.out));
        const byIndex = new Map(failed.map((f) => [Number(f.id), f]));
        taken.push(...todo.filter((_, i) => !byIndex.has(i)));
        for (const [i, f] of byIndex) if (f.senderFault) skip(f.code, todo[i]!.entry, `the source queue refused it (${f.code})`);
        todo = todo.filter((_, i) => byIndex.get(i)?.senderFault === false);
      } catch (err) {
        const kind = classifySqsError(err);
        if (kind === 'config') throw sqsConfigError(err, o.queueUrl);
        if (kind === 'request' || attempt >= 5) {
          for (const m of todo) skip(sqsErrorCode(err), m.entry, `the source queue refused it (${sqsErrorCode(err)})`);
          return taken;
        }
      }
      if (todo.length > 0) await sleep(backoffMs(attempt, base, cap));
    }
    return taken;
  }

  try {
    while (result.moved < o.max && !o.signal?.aborted) {
      const page = await browser.next();
      if (page.length === 0) break;
      const moves: Move[] = [];
      const copies: Copy[] = [];
      const inPage = new Set<string>();
      for (const m of page) {
        if (moves.length + result.moved >= o.max) break;
        const entry = inspect(m, o.decode);
        if (o.reason !== undefined && entry.reason !== o.reason) continue;
        if (entry.error || entry.original === undefined) {
          skip(entry.error?.failure ?? 'unreadable', entry, entry.error?.message ?? 'its body cannot be read');
          continue;
        }
        const key = copyKey(entry);
        if (key !== undefined && (moved.has(key) || inPage.has(key))) {
          copies.push({ key, handle: m.ReceiptHandle });
          continue;
        }
        if (key !== undefined) inPage.add(key);
        const out: OutgoingMessage = {
          body: entry.original,
          ...(entry.groupId !== null ? { groupId: entry.groupId, deduplicationId: `redrive-${m.MessageId}`.slice(0, 128) } : {}),
        };
        moves.push({ entry, handle: m.ReceiptHandle, out, key });
      }
      const { batches, tooLarge } = batchBySize(moves, (m) => sqsMessageBytes(m.out), maxBytes);
      for (const m of tooLarge) skip('too_large', m.entry, `its body (${m.entry.bodyBytes ?? '?'} bytes) is larger than the source queue's MaximumMessageSize (${maxBytes})`);
      for (const batch of batches) {
        const taken = await send(batch);
        if (taken.length === 0) continue;
        result.moved += taken.length;
        for (const m of taken) if (m.key !== undefined) moved.add(m.key);
        await removeFromDlq(taken.map((m) => m.handle), 'redriven messages');
      }
      // Copies whose first is on the source now go; the others are released with the page.
      const dropped = copies.filter((c) => moved.has(c.key)).map((c) => c.handle);
      if (dropped.length > 0) result.duplicates += await removeFromDlq(dropped, 'copies of redriven messages');
    }
  } finally {
    await browser.release();
  }
  return result;
}
