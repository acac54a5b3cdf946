import type { LogFn, Logger } from 'pino';
import { formatCount } from '../format.js';

/**
 * Summarises repeated log lines. A log call whose object has a string `repeat` field (e.g.
 * `reject:invalid_json`, `sqs:ReceiveMessage:ThrottlingException`, `pg:08006`) is logged in full the first
 * time its key is seen in a window (1 s by default); later calls with that key in the window are only
 * counted, and one line at the window's end reports them: `<first msg>: N more like this in the last 1 s`,
 * with `{ repeat, repeated: N }`. Counts still pending are flushed by {@link flushRepeats} (the CLI calls it
 * before its summary, and on exit). Calls without `repeat` pass through untouched.
 */

export interface RepeatOptions {
  /** Length of a window, from the first line of a key. Default 1000 ms. */
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface Window {
  start: number;
  count: number;
  msg: string;
  logger: Logger;
  method: LogFn;
  timer: NodeJS.Timeout | undefined;
}

export interface RepeatSummariser {
  /** pino's `hooks.logMethod`. */
  logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number): void;
  /** Reports every pending count now (a partial window says how long it was). */
  flush(): void;
}

const live = new Set<RepeatSummariser>();
let exitHook = false;

/** Flushes the pending counts of every summariser in the process. */
export function flushRepeats(): void {
  for (const r of live) r.flush();
}

const seconds = (ms: number) => (ms >= 995 ? Math.round(ms / 1000).toString() : ms >= 95 ? (ms / 1000).toFixed(1) : (Math.max(ms, 10) / 1000).toFixed(2));

export function createRepeatSummariser(o: RepeatOptions = {}): RepeatSummariser {
  const windowMs = o.windowMs ?? 1000;
  const now = o.now ?? Date.now;
  const windows = new Map<string, Window>();

  function report(key: string, w: Window, spanMs: number): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    if (w.count === 0) return;
    const n = w.count;
    w.count = 0;
    w.method.call(w.logger, { repeat: key, repeated: n }, `${w.msg}: ${formatCount(n)} more like this in the last ${seconds(spanMs)} s`);
  }

  const summariser: RepeatSummariser = {
    logMethod(args, method, _level) {
      const first: unknown = args[0];
      const key = typeof first === 'object' && first !== null ? (first as { repeat?: unknown }).repeat : undefined;
      if (typeof key !== 'string') return method.apply(this, args);
      const t = now();
      const w = windows.get(key);
      if (w === undefined || t - w.start >= windowMs) {
        // A new window: report what the last one counted (its timer may not have fired yet), log in full.
        if (w) report(key, w, windowMs);
        const msg = typeof args[1] === 'string' ? args[1] : key;
        windows.set(key, { start: t, count: 0, msg, logger: this, method, timer: undefined });
        return method.apply(this, args);
      }
      w.count++;
      w.timer ??= setTimeout(() => report(key, w, windowMs), Math.max(0, w.start + windowMs - t)).unref();
    },
    flush() {
      const t = now();
      for (const [key, w] of windows) report(key, w, Math.min(windowMs, t - w.start));
    },
  };
  live.add(summariser);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', flushRepeats);
  }
  return summariser;
}
