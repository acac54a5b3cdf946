/** Capped exponential back-off with full jitter: uniform in [0, min(max, base·2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/**
 * Sleepers per signal. Each signal gets one abort listener, however many sleeps wait on it: during an outage
 * dozens of retry loops sleep at once, and a listener each made Node warn `MaxListenersExceededWarning`.
 */
const sleepers = new WeakMap<AbortSignal, Set<() => void>>();

function wakeOnAbort(signal: AbortSignal, wake: () => void): Set<() => void> {
  let set = sleepers.get(signal);
  if (!set) {
    const all = new Set<() => void>();
    signal.addEventListener('abort', () => {
      for (const w of [...all]) w();
    }, { once: true });
    sleepers.set(signal, all);
    set = all;
  }
  set.add(wake);
  return set;
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      set?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const set = signal ? wakeOnAbort(signal, done) : undefined;
  });
}
