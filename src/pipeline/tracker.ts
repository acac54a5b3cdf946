import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { chunk, extendVisibility } from '../source/queue.js';

/**
 * Messages received and not yet deleted (or let go). A heartbeat extends the visibility of those
 * nearing their timeout, so a slow batch or a Postgres outage does not cause a redelivery mid-write.
 */
export interface Tracker {
  readonly size: number;
  /** Tracks messages by receipt handle. */
  add(handles: readonly string[]): void;
  /** Forget messages: deleted, or deliberately left for the queue to redeliver. */
  release(handles: readonly string[]): void;
  /** Resolves when size drops below `limit`, or immediately if it already is. */
  whenBelow(limit: number): Promise<void>;
  start(): void;
  stop(): void;
}

export interface TrackerOptions {
  sqs: SQSClient;
  queueUrl: string;
  visibilityTimeoutSeconds: number;
  log: Logger;
  onSize?: (size: number) => void;
  onError?: (code: string) => void;
}

export function createTracker(o: TrackerOptions): Tracker {
  const visMs = o.visibilityTimeoutSeconds * 1000;
  const live = new Map<string, { handle: string; deadline: number }>();
  let waiters: { limit: number; resolve: () => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let beating = false;

  const changed = () => {
    o.onSize?.(live.size);
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => live.size < w.limit);
    waiters = waiters.filter((w) => live.size >= w.limit);
    for (const w of ready) w.resolve();
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
            o.onError?.((err as Error).name);
            o.log.warn({ err: { name: (err as Error).name } }, 'visibility heartbeat failed; will retry');
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
    add(handles) {
      const deadline = Date.now() + visMs;
      for (const handle of handles) live.set(handle, { handle, deadline });
      changed();
    },
    release(handles) {
      for (const h of handles) live.delete(h);
      changed();
    },
    whenBelow(limit) {
      if (live.size < limit) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ limit, resolve }));
    },
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
