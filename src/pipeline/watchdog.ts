import type { Logger } from 'pino';

export type Dependency = 'PostgreSQL' | 'SQS';

/** Calls to one dependency, of one kind, that have waited past their allowance. */
export interface Waiting {
  dependency: Dependency;
  /** What is waiting: `batch write`, or an SQS action such as `DeleteMessageBatch`. */
  what: string;
  /** How many such calls are waiting. */
  calls: number;
  /** How long the oldest of them has waited, in whole seconds (its allowance, e.g. a long poll's wait, not counted). */
  seconds: number;
  /** ISO time it began waiting. */
  since: string;
  /** What is known of the cause, when something could be found out (e.g. a lock held by another session). */
  cause?: string | undefined;
}

interface Call {
  dependency: Dependency;
  what: string;
  /** When the call began waiting: its start, plus the time it may legitimately take (a long poll's wait). */
  from: number;
}

export interface Watch {
  /** Notes `p` as a call in progress until it settles; it counts as waiting once it is `allowanceMs` old. */
  track<T>(dependency: Dependency, what: string, p: Promise<T>, allowanceMs?: number): Promise<T>;
  /** Calls that have waited at least `minMs`, grouped by dependency and kind, the longest first. */
  waiting(minMs: number, now?: number): Waiting[];
}

export function createWatch(): Watch {
  const calls = new Set<Call>();
  return {
    track(dependency, what, p, allowanceMs = 0) {
      const call: Call = { dependency, what, from: Date.now() + allowanceMs };
      calls.add(call);
      return p.finally(() => calls.delete(call));
    },
    waiting(minMs, now = Date.now()) {
      const by = new Map<string, Waiting & { from: number }>();
      for (const c of calls) {
        if (now - c.from < minMs) continue;
        const key = `${c.dependency}\0${c.what}`;
        const w = by.get(key);
        if (!w) by.set(key, { dependency: c.dependency, what: c.what, calls: 1, seconds: 0, since: '', from: c.from });
        else {
          w.calls++;
          w.from = Math.min(w.from, c.from);
        }
      }
      return [...by.values()]
        .sort((a, b) => a.from - b.from)
        .map(({ from, ...w }) => ({ ...w, seconds: Math.floor((now - from) / 1000), since: new Date(from).toISOString() }));
    },
  };
}

/** One line for a log and /readyz: what is blocked, for how long, and what is known of why. */
export function describeWaiting(w: Waiting): string {
  const n = w.calls === 1 ? '' : ` (${w.calls} calls)`;
  if (w.dependency === 'PostgreSQL') {
    const what = w.calls === 1 ? 'a batch write has not finished' : `${w.calls} batch writes have not finished`;
    return `waiting ${w.seconds} s for PostgreSQL: ${what}; ${w.cause ?? 'a lock held on user_logins or the ledger, or a slow or unreachable server'}`;
  }
  return `waiting ${w.seconds} s for SQS: ${w.what}${n} has not answered; the endpoint is slow or unreachable (a call gives up after SQS_TIMEOUT_MS and is retried)`;
}

export interface WatchdogOptions {
  watch: Watch;
  log: Logger;
  /** A call counts as blocked once it has waited this long; while it does, a line is logged at this interval. */
  intervalMs: number;
  /** Looks for a cause while PostgreSQL writes wait (e.g. lock waits); must answer quickly or not at all. */
  explain?: (w: Waiting) => Promise<string | undefined>;
}

/** How long a waiting line may wait for its cause: a server that does not answer must not delay the line itself. */
const EXPLAIN_MS = 1000;

/** `p`'s value, or undefined if it fails or takes longer than `ms`. */
function withinMs<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([p.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/**
 * Logs a waiting line at a steady interval for as long as a call to PostgreSQL or SQS is blocked (a table lock,
 * a frozen endpoint), so that a stalled pipeline is never silent; `current()` gives the same for /readyz. The
 * first line comes as soon as a call has waited `intervalMs` (checked every tenth of it), then one every
 * `intervalMs` for as long as that kind of call keeps waiting.
 */
export function startWatchdog(o: WatchdogOptions): { current(): Waiting[]; stop(): void } {
  const causes = new Map<string, string>();
  /** When each kind of waiting call was last logged; forgotten once none of that kind waits. */
  const logged = new Map<string, number>();
  const key = (w: Waiting) => `${w.dependency}\0${w.what}`;
  const current = () => o.watch.waiting(o.intervalMs).map((w) => ({ ...w, cause: causes.get(key(w)) }));
  const timer = setInterval(() => {
    const now = Date.now();
    const all = o.watch.waiting(o.intervalMs, now);
    const waitingNow = new Set(all.map(key));
    for (const k of [...logged.keys()]) if (!waitingNow.has(k)) logged.delete(k);
    for (const k of [...causes.keys()]) if (!waitingNow.has(k)) causes.delete(k);
    const due = all.filter((w) => now - (logged.get(key(w)) ?? -Infinity) >= o.intervalMs);
    for (const w of due) logged.set(key(w), now);
    void Promise.all(
      due.map(async (w) => {
        const cause = o.explain && w.dependency === 'PostgreSQL' ? await withinMs(o.explain(w), EXPLAIN_MS) : undefined;
        if (cause) causes.set(key(w), cause);
        else causes.delete(key(w));
        // Measured when the line is written: the look-up above may have taken up to EXPLAIN_MS.
        const seconds = Math.max(w.seconds, Math.floor((Date.now() - Date.parse(w.since)) / 1000));
        const line = { ...w, seconds, cause };
        o.log.warn({ waiting: { dependency: w.dependency, what: w.what, calls: w.calls, seconds, since: w.since, ...(cause ? { cause } : {}) } }, describeWaiting(line));
      }),
    );
  }, Math.max(50, Math.floor(o.intervalMs / 10)));
  timer.unref();
  return { current, stop: () => clearInterval(timer) };
}
