import type { LoginRow } from '../transform/transform.js';
import type { RejectReason } from '../transform/validate.js';

/** What the pipeline keeps of a received message, from receipt to delete, reject or DLQ. */
export interface Received {
  id: string;
  handle: string;
  /** Kept for the DLQ, should the message be rejected. */
  body: string;
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

export function createCounters(): Counters {
  const started = Date.now();
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  const s: Summary = { received: 0, written: 0, duplicates: 0, rejected: 0, rejectedByReason: {}, deadLettered: 0, leftOnQueue: 0, deleted: 0, endOfQueue: false, elapsedMs: 0, activeMs: 0 };
  return {
    s,
    settledNow() {
      lastAt = Date.now();
    },
    receivedNow(count) {
      firstAt ??= Date.now();
      s.received += count;
    },
    rejected(reason) {
      s.rejected++;
      s.rejectedByReason[reason] = (s.rejectedByReason[reason] ?? 0) + 1;
    },
    snapshot: () => ({
      ...s,
      rejectedByReason: { ...s.rejectedByReason },
      elapsedMs: Date.now() - started,
      activeMs: firstAt !== undefined && lastAt !== undefined ? lastAt - firstAt : 0,
    }),
  };
}
