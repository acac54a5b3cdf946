import type { Logger } from 'pino';
import type { DeadLetterEncoder } from '../dlq/codec.js';
import type { SqsClient } from '../source/client.js';
import { classifySqsError, sqsConfigError, sqsErrorCode, sqsRepeatKey } from '../source/errors.js';
import { sendMessages, SQS_BATCH_LIMIT, type BatchFailure, type OutgoingMessage } from '../source/queue.js';
import { batchBySize, sqsMessageBytes, SQS_LEGACY_MAX_BYTES, SQS_MAX_BYTES } from '../source/size.js';
import type { Rejection } from '../transform/validate.js';
import { backoffMs, sleep } from './backoff.js';
import type { PipelineEvents } from './events.js';
import type { Lifecycle } from './lifecycle.js';
import type { Counters, LeftWhy, Received } from './state.js';
import { formatCount } from '../format.js';
import type { GroupLabel } from '../masking/groupLabel.js';

const DEFAULT_MAX_AGE_MS = 100;

/** Dead letters as they are: the original body and the `reason`/`source_message_id` attributes (no DLQ_BODY encoding). */
export const identityEncoder: DeadLetterEncoder = (body, attributes) => ({ body, attributes });

export interface RejectsOptions {
  sqs: SqsClient;
  /** Unset: rejects stay on the source queue for its own redrive policy. */
  dlqUrl?: string | undefined;
  /** The DLQ's MaximumMessageSize (bytes), read at start-up: caps each dead letter and each SendMessageBatch. Default 256 KiB. */
  dlqMaxBytes?: number;
  /** A FIFO DLQ (the source is FIFO too): dead letters keep their MessageGroupId, get a deduplication id, and go out in order. */
  fifo?: boolean;
  /** How a MessageGroupId is logged (never raw: it may be an ip or device_id). */
  groupLabel: GroupLabel;
  /** Builds what is sent for each dead letter (default: the body unchanged). */
  encode?: DeadLetterEncoder;
  log: Logger;
  events: PipelineEvents;
  life: Lifecycle;
  counters: Counters;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Longest a reject waits for others to share its SendMessageBatch (default 100 ms); ten go out at once. */
  maxAgeMs?: number;
  /** Dead-lettered messages go here (delete from the source, then stop tracking). */
  ack: (handles: string[]) => Promise<void>;
  /** A message left on the source queue: stop tracking it (it reappears after its visibility timeout). */
  leave: (msg: Received, reason: string, why: LeftWhy) => void;
  /** A reject on its way to the DLQ (FIFO: later messages of its group wait for its fate). */
  sending?: (msg: Received) => void;
  /** It reached the DLQ. */
  deadLettered?: (msg: Received) => void;
}

export interface Rejects {
  /** A message that must not be written: to the DLQ if there is one, else left on the source queue. */
  reject(msg: Received, r: Rejection): void;
  /** A message whose received copy must not be trusted (corrupt): always left on the source, never dead-lettered. */
  leaveOnQueue(msg: Received, r: Rejection): void;
  /** Sends what is pending to the DLQ now (a stop). */
  flush(): void;
  /** Dead letters waiting to share a send. */
  readonly pending: number;
}

export interface Pending {
  msg: Received;
  r: Rejection;
}

/**
 * The DLQ message for a reject: the original body with `reason` and `source_message_id` attributes, through the
 * encoder. For a FIFO DLQ it keeps the source's MessageGroupId, and its deduplication id is the source MessageId,
 * so a message dead-lettered twice (its delete failed, it came back) lands in the DLQ once.
 */
export function deadLetterOf(p: Pending, encode: DeadLetterEncoder = identityEncoder, fifo = false): OutgoingMessage {
  const letter = encode(p.msg.body, { reason: p.r.reason, source_message_id: p.msg.id }, { sourceMessageId: p.msg.id, reason: p.r.reason, field: p.r.field });
  const out: OutgoingMessage = { body: letter.body, attributes: letter.attributes };
  if (fifo) {
    out.groupId = p.msg.group ?? 'login-etl';
    out.deduplicationId = p.msg.id;
  }
  return out;
}

export interface Encoded {
  p: Pending;
  out: OutgoingMessage;
  bytes: number;
}

/**
 * SendMessageBatch calls for encoded dead letters, in order: up to 10 entries each, each call's total within
 * `maxBytes` (the DLQ's MaximumMessageSize, never more than SQS's 1 MiB batch cap). A dead letter over
 * `maxBytes` on its own can never be sent: it is returned in `tooLarge`.
 */
export function deadLetterBatches(encoded: readonly Encoded[], maxBytes: number): { batches: Encoded[][]; tooLarge: Encoded[] } {
  return batchBySize(encoded, (e) => e.bytes, Math.min(maxBytes, SQS_MAX_BYTES));
}

/**
 * The reject stage. Each reject is logged (message id, reason and rule, never a value) with a `repeat` key
 * per reason, counted, and sent to the DLQ in batches built by size; once SQS has taken it, it is deleted
 * from the source. Transient DLQ failures are retried; a request that can never succeed is not:
 * - a dead letter larger than the DLQ's MaximumMessageSize (body and attributes, after encoding) is never
 *   sent: it stays on the source queue for its redrive policy, with one error line, counted as `tooLargeForDlq`;
 * - a batch SQS refuses as a whole (too long, a bad parameter) is sent again one message per call, and a
 *   message refused on its own (a sender fault) stays on the source queue, with one error line.
 */
export function createRejects(o: RejectsOptions): Rejects {
  const { log, events, counters } = o;
  const encode = o.encode ?? identityEncoder;
  const maxBytes = o.dlqMaxBytes ?? SQS_LEGACY_MAX_BYTES;
  let pending: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  /** FIFO: one flush at a time, so a group's dead letters reach the DLQ in order. */
  let inOrder: Promise<void> = Promise.resolve();

  function count(msg: Received, r: Rejection): void {
    counters.rejected(r.reason);
    events.emit('rejected', r.reason);
    log.warn({ messageId: msg.id, reason: r.reason, detail: r.detail, ...(msg.group !== undefined ? { groupId: o.groupLabel(msg.group) } : {}), repeat: `reject:${r.reason}` }, 'message rejected');
  }

  function leave(ps: readonly Pending[], why: LeftWhy): void {
    counters.s.leftOnQueue += ps.length;
    counters.settledNow();
    for (const p of ps) o.leave(p.msg, p.r.reason, why);
  }

  async function deadLettered(sent: readonly Encoded[]): Promise<void> {
    counters.s.deadLettered += sent.length;
    events.emit('deadLettered', sent.length);
    for (const e of sent) o.deadLettered?.(e.p.msg);
    await o.ack(sent.map((e) => e.p.msg.handle));
  }

  /** One SendMessageBatch, retried while failures are transient; resolves once every entry is sent or left. */
  async function send(batch: Encoded[], dlqUrl: string): Promise<void> {
    let todo = batch;
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (o.life.abandon.aborted) return leave(todo.map((e) => e.p), 'abandoned');
      let failed: BatchFailure[];
      try {
        failed = await sendMessages(o.sqs, dlqUrl, todo.map((e) => e.out));
      } catch (err) {
        events.emit('failure', 'sqs', sqsErrorCode(err));
        const kind = classifySqsError(err);
        if (kind === 'config') throw sqsConfigError(err, dlqUrl);
        if (kind === 'request') {
          const code = sqsErrorCode(err);
          if (todo.length > 1) {
            // Refused as a whole: one call per message, so one bad message costs only itself.
            log.warn({ err: { code, message: (err as Error).message }, count: todo.length, repeat: sqsRepeatKey('SendMessageBatch', err) }, 'the DLQ refused a batch; sending its messages one by one');
            for (const e of todo) await send([e], dlqUrl);
            return;
          }
          const [e] = todo;
          log.error({ err: { code, message: (err as Error).message }, messageId: e?.p.msg.id, reason: e?.p.r.reason, bytes: e?.bytes, repeat: sqsRepeatKey('SendMessageBatch', err) }, 'the DLQ refused the message; not retried: it stays on the source queue for its redrive policy');
          return leave(todo.map((x) => x.p), 'dlq_refused');
        }
        log.warn({ err: { code: sqsErrorCode(err), message: (err as Error).message }, attempt, repeat: sqsRepeatKey('SendMessageBatch', err) }, 'sending to the DLQ failed; retrying');
        await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), o.life.abandon);
        continue;
      }
      const failedIdx = new Map(failed.map((f) => [Number(f.id), f]));
      const sent = todo.filter((_, i) => !failedIdx.has(i));
      const refused = todo.filter((_, i) => failedIdx.get(i)?.senderFault === true);
      if (refused.length > 0) {
        const code = failed.find((f) => f.senderFault)?.code ?? 'Unknown';
        log.error({ count: refused.length, code, messageIds: refused.map((e) => e.p.msg.id), repeat: `sqs:SendMessageBatch:entry:${code}` }, 'the DLQ refused messages; not retried: they stay on the source queue for its redrive policy');
      }
      // FIFO: a refused message blocks its group before any later message of the group is let through.
      if (refused.length > 0) leave(refused.map((e) => e.p), 'dlq_refused');
      if (sent.length > 0) await deadLettered(sent);
      todo = todo.filter((_, i) => failedIdx.get(i)?.senderFault === false);
      if (todo.length > 0) await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), o.life.abandon);
    }
  }

  async function sendAll(all: Pending[], dlqUrl: string): Promise<void> {
    const encoded = await Promise.all(
      all.map(async (p): Promise<Encoded> => {
        const out = await deadLetterOf(p, encode, o.fifo);
        return { p, out, bytes: sqsMessageBytes(out) };
      }),
    );
    const { batches, tooLarge } = deadLetterBatches(encoded, maxBytes);
    if (tooLarge.length > 0) {
      for (const e of tooLarge) {
        log.error(
          { messageId: e.p.msg.id, reason: e.p.r.reason, bytes: e.bytes, maxBytes, repeat: 'dlq:too_large' },
          `rejected message too large for the DLQ (${formatCount(e.bytes)} bytes with its attributes; the DLQ takes at most ${formatCount(maxBytes)}): not dead-lettered, it stays on the source queue for its redrive policy`,
        );
      }
      counters.s.tooLargeForDlq += tooLarge.length;
      leave(tooLarge.map((e) => e.p), 'too_large');
    }
    if (o.fifo) for (const b of batches) await send(b, dlqUrl);
    else await Promise.all(batches.map((b) => send(b, dlqUrl)));
  }

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0 || !o.dlqUrl) return;
    const all = pending;
    pending = [];
    const dlqUrl = o.dlqUrl;
    if (!o.fifo) return o.life.track(sendAll(all, dlqUrl));
    const next = inOrder.then(() => sendAll(all, dlqUrl));
    inOrder = next.catch(() => {});
    o.life.track(next);
  }

  return {
    reject(msg, r) {
      count(msg, r);
      if (!o.dlqUrl) return leave([{ msg, r }], 'no_dlq');
      o.sending?.(msg);
      pending.push({ msg, r });
      // Rejects are a few in a hundred messages: one SendMessageBatch each would cost a request (and a delete)
      // per reject. They wait, briefly, to fill a batch.
      if (pending.length >= SQS_BATCH_LIMIT) flush();
      else timer ??= setTimeout(flush, o.maxAgeMs ?? DEFAULT_MAX_AGE_MS);
    },
    leaveOnQueue(msg, r) {
      count(msg, r);
      leave([{ msg, r }], 'corrupt');
    },
    flush,
    get pending() {
      return pending.length;
    },
  };
}
