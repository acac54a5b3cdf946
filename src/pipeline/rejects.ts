import type { Logger } from 'pino';
import type { DeadLetterEncoder } from '../dlq/codec.js';
import type { SqsClient } from '../source/client.js';
import { classifySqsError, sqsConfigError, sqsErrorCode, sqsRepeatKey } from '../source/errors.js';
import { chunk, sendMessages, type BatchFailure, type OutgoingMessage } from '../source/queue.js';
import type { Rejection } from '../transform/validate.js';
import { backoffMs, sleep } from './backoff.js';
import type { PipelineEvents } from './events.js';
import type { Lifecycle } from './lifecycle.js';
import type { Counters, Received } from './state.js';

export interface RejectsOptions {
  sqs: SqsClient;
  /** Unset: rejects stay on the source queue for its own redrive policy. */
  dlqUrl?: string | undefined;
  log: Logger;
  events: PipelineEvents;
  life: Lifecycle;
  counters: Counters;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Dead-lettered messages go here (delete from the source, then stop tracking). */
  ack: (handles: string[]) => Promise<void>;
  /** A message left on the source queue: stop tracking it (it reappears after its visibility timeout). */
  leave: (msg: Received) => void;
  /** Builds each dead letter's body and attributes (src/dlq/codec.ts: encrypted or raw); default: the body unchanged. */
  encode?: DeadLetterEncoder | undefined;
}

export interface Rejects {
  /** A message that must not be written: to the DLQ if there is one, else left on the source queue. */
  reject(msg: Received, r: Rejection): void;
  /** A message whose received copy must not be trusted (corrupt): always left on the source, never dead-lettered. */
  leaveOnQueue(msg: Received, r: Rejection): void;
  /** Sends what is pending to the DLQ now (a stop). */
  flush(): void;
}

interface Pending {
  msg: Received;
  r: Rejection;
}

/** The DLQ message for a reject: the body as the encoder makes it (default: unchanged), with `reason` and `source_message_id` attributes. */
export function deadLetterOf(p: Pending, encode?: DeadLetterEncoder): OutgoingMessage {
  const attributes = { reason: p.r.reason, source_message_id: p.msg.id };
  return encode ? encode(p.msg.body, attributes, { sourceMessageId: p.msg.id, reason: p.r.reason, field: p.r.field }) : { body: p.msg.body, attributes };
}

/** SendMessageBatch calls for pending dead letters: up to 10 entries each. */
export function deadLetterBatches(pending: readonly Pending[]): Pending[][] {
  return chunk(pending);
}

/**
 * The reject stage. Each reject is logged (message id, reason and rule, never a value) with a `repeat` key
 * per reason, counted, and sent to the DLQ in batches; once SQS has taken it, it is deleted from the source.
 * Transient DLQ failures are retried; a request that can never succeed (a sender fault) is not: those
 * messages are left on the source queue for its redrive policy, with one error line.
 */
export function createRejects(o: RejectsOptions): Rejects {
  const { log, events, counters } = o;
  let pending: Pending[] = [];

  function count(msg: Received, r: Rejection): void {
    counters.rejected(r.reason);
    events.emit('rejected', r.reason);
    log.warn({ messageId: msg.id, reason: r.reason, detail: r.detail, repeat: `reject:${r.reason}` }, 'message rejected');
  }

  function leave(msgs: Received[]): void {
    counters.s.leftOnQueue += msgs.length;
    counters.settledNow();
    for (const m of msgs) o.leave(m);
  }

  async function send(group: Pending[], dlqUrl: string): Promise<void> {
    let todo = group;
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (o.life.abandon.aborted) return leave(todo.map((p) => p.msg));
      let failed: BatchFailure[];
      try {
        failed = await sendMessages(o.sqs, dlqUrl, todo.map((p) => deadLetterOf(p, o.encode)));
      } catch (err) {
        events.emit('failure', 'sqs', sqsErrorCode(err));
        const kind = classifySqsError(err);
        if (kind === 'config') throw sqsConfigError(err, dlqUrl);
        if (kind === 'request') {
          log.error({ err: { code: sqsErrorCode(err), message: (err as Error).message }, count: todo.length, repeat: sqsRepeatKey('SendMessageBatch', err) }, 'the DLQ refused the request; not retried: the messages stay on the source queue for its redrive policy');
          return leave(todo.map((p) => p.msg));
        }
        log.warn({ err: { code: sqsErrorCode(err), message: (err as Error).message }, attempt, repeat: sqsRepeatKey('SendMessageBatch', err) }, 'sending to the DLQ failed; retrying');
        await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), o.life.abandon);
        continue;
      }
      const failedIdx = new Map(failed.map((f) => [Number(f.id), f]));
      const sent = todo.filter((_, i) => !failedIdx.has(i));
      const refused = todo.filter((_, i) => failedIdx.get(i)?.senderFault === true);
      if (sent.length > 0) {
        counters.s.deadLettered += sent.length;
        events.emit('deadLettered', sent.length);
        await o.ack(sent.map((p) => p.msg.handle));
      }
      if (refused.length > 0) {
        const code = failed.find((f) => f.senderFault)?.code ?? 'Unknown';
        log.error({ count: refused.length, code, messageIds: refused.map((p) => p.msg.id), repeat: `sqs:SendMessageBatch:entry:${code}` }, 'the DLQ refused messages; not retried: they stay on the source queue for its redrive policy');
        leave(refused.map((p) => p.msg));
      }
      todo = todo.filter((_, i) => failedIdx.get(i)?.senderFault === false);
      if (todo.length > 0) await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), o.life.abandon);
    }
  }

  function flush(): void {
    if (pending.length === 0 || !o.dlqUrl) return;
    const all = pending;
    pending = [];
    const dlqUrl = o.dlqUrl;
    o.life.track(Promise.all(deadLetterBatches(all).map((g) => send(g, dlqUrl))));
  }

  return {
    reject(msg, r) {
      count(msg, r);
      if (!o.dlqUrl) return leave([msg]);
      pending.push({ msg, r });
      // Rejects of one receive (or one batch) go out together.
      if (pending.length === 1) setImmediate(flush);
    },
    leaveOnQueue(msg, r) {
      count(msg, r);
      leave([msg]);
    },
    flush,
  };
}
