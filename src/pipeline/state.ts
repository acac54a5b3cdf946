import type { LoginRow } from '../transform/transform.js';
import type { RejectReason } from '../transform/validate.js';

/** What the pipeline keeps of a received message, from receipt to delete, reject or DLQ. */
export interface Received {
  id: string;
  handle: string;
  /** Kept for the DLQ, should the message be rejected. */
  body: string;
  /** FIFO queues only: the message's MessageGroupId. */
  group?: string;
  /** FIFO queues only: the order in which this process received it (within a group, the group's order). */
  seq?: number;
}

/** Why a rejected (or corrupt) message was left on the source queue instead of being dead-lettered. */
export type LeftWhy =
  /** No SQS_DLQ_URL. */
  | 'no_dlq'
  /** The body did not match its MD5: never dead-lettered, received again later. */
  | 'corrupt'
  /** Larger than the DLQ's MaximumMessageSize once encoded, with its attributes. */
  | 'too_large'
  /** The DLQ refused it (a sender fault: retrying cannot help). */
  | 'dlq_refused'
  /** A fatal fault stopped the pipeline before it was dead-lettered. */
  | 'abandoned';

/** FIFO: a message group that cannot go on, because one of its messages stays on the source queue ahead of the rest. */
export interface BlockedGroup {
  groupId: string;
  /** The MessageId of the message left on the queue. */
  messageId: string;
  /** Its reject reason (e.g. `invalid_json`, `corrupt_message`). */
  reason: string;
  why: LeftWhy;
}

/** A transformed message, ready for the sink. */
export interface Item extends Received {
  row: LoginRow;
}

export interface Summary {
  received: number;
  written: number;
  duplicates: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  /** Rejects sent to the DLQ (and deleted from the source). */
  deadLettered: number;
  /** Rejects left on the source queue for its redrive policy (no DLQ configured, or the DLQ refused them). */
  leftOnQueue: number;
  /** Of `leftOnQueue`: rejects too large for the DLQ (body and attributes over its MaximumMessageSize). */
  tooLargeForDlq: number;
  /** FIFO: messages handed back to the queue unprocessed, because an earlier message of their group stays there. */
  heldBack: number;
  /** FIFO: groups blocked by a message left on the queue, at the end (drain) or now (run). */
  blockedGroups: BlockedGroup[];
  /** FIFO drain: messages still on the queue behind the blocked groups (approximate: the queue's visible count at the end). */
  blockedMessages: number;
  deleted: number;
  /** run() ended because the queue was found empty (drain), not because of stop(). */
  endOfQueue: boolean;
  elapsedMs: number;
  /** From the first message received to the last one settled: the basis for msg/s. */
  activeMs: number;
}

/** The running counts of one pipeline. Stages add to them; snapshot() copies them out. */
export interface Counters {
  readonly s: Summary;
  /** A message was settled now (written, rejected, deleted): extends the active span. */
  settledNow(): void;
  receivedNow(count: number): void;
  rejected(reason: RejectReason): void;
  snapshot(): Summary;
}

/** A summary of nothing done yet. */
export const emptySummary = (): Summary => ({
  received: 0, written: 0, duplicates: 0, rejected: 0, rejectedByReason: {}, deadLettered: 0, leftOnQueue: 0, tooLargeForDlq: 0, heldBack: 0,
  blockedGroups: [], blockedMessages: 0, deleted: 0, endOfQueue: false, elapsedMs: 0, activeMs: 0,
});

export function createCounters(): Counters {
  const started = performance.now();
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  const s: Summary = emptySummary();
  return {
    s,
    settledNow() {
      lastAt = performance.now();
    },
    receivedNow(count) {
      firstAt ??= performance.now();
      s.received += count;
    },
    rejected(reason) {
      s.rejected++;
      s.rejectedByReason[reason] = (s.rejectedByReason[reason] ?? 0) + 1;
    },
    snapshot: () => ({
      ...s,
      rejectedByReason: { ...s.rejectedByReason },
      blockedGroups: [...s.blockedGroups],
      elapsedMs: Math.round(performance.now() - started),
      activeMs: firstAt !== undefined && lastAt !== undefined ? Math.round(lastAt - firstAt) : 0,
    }),
  };
}
