import type { Logger } from 'pino';
import type { SqsClient } from '../source/client.js';
import { sqsErrorCode, sqsRepeatKey } from '../source/errors.js';
import { chunk, extendVisibility } from '../source/queue.js';

/**
 * Messages received and not yet deleted (or let go), bounded by MAX_IN_FLIGHT. Room is reserved before a
 * receive asks for messages, so concurrent receivers can never overshoot the bound together. A heartbeat
 * extends the visibility of messages nearing their timeout, so a slow batch or a Postgres outage does not
 * cause a redelivery mid-write.
 */
export interface Tracker {
  /** Messages held. */
  readonly size: number;
  /** Room reserved by receives in progress. */
  readonly reserved: number;
  /** Reserves room for `n` messages if size + reserved + n stays within the bound; false otherwise. */
  tryReserve(n: number): boolean;
  /** Resolves when `n` more would fit (at once if they do). */
  whenRoom(n: number): Promise<void>;
  /** Tracks received messages by receipt handle, settling a reservation of `reserved` (the unused part is returned). */
  add(handles: readonly string[], reserved?: number): void;
  /** Returns reserved room unused (a receive that failed or came back empty). */
  unreserve(n: number): void;
  /** Forget messages: deleted, or deliberately left for the queue to redeliver. */
  release(handles: readonly string[]): void;
  /** When a tracked message's visibility timeout ends (as last set), in ms since the epoch. */
  deadlineOf(handle: string): number | undefined;
  start(): void;
  stop(): void;
}

export interface TrackerOptions {
  sqs: SqsClient;
  queueUrl: string;
  maxInFlight: number;
  visibilityTimeoutSeconds: number;
  log: Logger;
  onSize?: (size: number) => void;
  /** A receive waits for room: called when it begins to wait, and after each change that leaves it waiting. */
  onNoRoom?: () => void;
  onError?: (code: string) => void;
}

export function createTracker(o: TrackerOptions): Tracker {
  const visMs = o.visibilityTimeoutSeconds * 1000;
  const live = new Map<string, { handle: string; deadline: number }>();
  let reserved = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let beating = false;

  const fits = (n: number) => live.size + reserved + n <= o.maxInFlight;
  const changed = (sizeChanged: boolean) => {
    if (sizeChanged) o.onSize?.(live.size);
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => fits(w.n));
    if (ready.length > 0) {
      waiters = waiters.filter((w) => !fits(w.n));
      for (const w of ready) w.resolve();
    }
    if (waiters.length > 0) o.onNoRoom?.();
  };

  async function beat(): Promise<void> {
    if (beating) return;
    beating = true;
    try {
      const now = Date.now();
      const due = [...live.values()].filter((t) => t.deadline - now < visMs / 2);
      await Promise.all(
        chunk(due).map(async (group) => {
          try {
            const failed = await extendVisibility(o.sqs, o.queueUrl, group.map((t) => t.handle), o.visibilityTimeoutSeconds);
            const failedIds = new Set(failed.map((f) => f.id));
            group.forEach((t, i) => {
              if (!failedIds.has(String(i))) t.deadline = now + visMs;
            });
          } catch (err) {
            o.onError?.(sqsErrorCode(err));
            o.log.warn({ err: { code: sqsErrorCode(err), message: (err as Error).message }, repeat: sqsRepeatKey('ChangeMessageVisibilityBatch', err) }, 'visibility heartbeat failed; will retry');
          }
        }),
      );
    } finally {
      beating = false;
    }
  }

  return {
    get size() {
      return live.size;
    },
    get reserved() {
      return reserved;
    },
    tryReserve(n) {
      if (!fits(n)) return false;
      reserved += n;
      return true;
    },
    whenRoom(n) {
      if (fits(n)) return Promise.resolve();
      const room = new Promise<void>((resolve) => waiters.push({ n, resolve }));
      o.onNoRoom?.();
      return room;
    },
    add(handles, fromReserved = 0) {
      reserved -= fromReserved;
      const deadline = Date.now() + visMs;
      for (const handle of handles) live.set(handle, { handle, deadline });
      changed(true);
    },
    unreserve(n) {
      reserved -= n;
      changed(false);
    },
    release(handles) {
      for (const h of handles) live.delete(h);
      changed(true);
    },
    deadlineOf: (handle) => live.get(handle)?.deadline,
    start() {
      timer ??= setInterval(() => void beat(), Math.max(500, visMs / 4));
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const w of waiters) w.resolve();
      waiters = [];
    },
  };
}
