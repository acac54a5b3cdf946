/**
 * The pipeline's life: running, stopping (graceful: receive no more, finish what is in hand), or failed
 * (a fatal fault: also abandon retries, leaving unfinished messages to reappear on the queue).
 * Background work is tracked here so that run() can wait for all of it.
 */
export interface Lifecycle {
  readonly stopping: boolean;
  /** Aborted when the stop begins: back-off sleeps of the receivers wake up. */
  readonly stopSignal: AbortSignal;
  /** Aborted only on a fatal fault: retry loops give up and leave their messages to reappear. */
  readonly abandon: AbortSignal;
  readonly fatal: Error | undefined;
  /** Begins a graceful stop (idempotent). */
  stop(): void;
  /** A fatal fault: remembered (the first one), then stop and abandon. */
  fail(err: Error): void;
  /** Runs `fn` when the stop begins (at once if it has); returns a function that unregisters it. */
  onStop(fn: () => void): () => void;
  /** Settles as `p` does, or with undefined as soon as the stop begins; leaves nothing registered either way. */
  untilStopped<T>(p: Promise<T>): Promise<T | undefined>;
  /** Runs `p` in the background; a rejection is a fatal fault. */
  track(p: Promise<unknown>): void;
  /** Background work in progress. */
  readonly busy: number;
  /** Resolves once no background work is left (work started meanwhile included). */
  settled(): Promise<void>;
}

export function createLifecycle(): Lifecycle {
  const stopCtl = new AbortController();
  const abandonCtl = new AbortController();
  const onStop = new Set<() => void>();
  const work = new Set<Promise<unknown>>();
  let fatal: Error | undefined;

  const life: Lifecycle = {
    get stopping() {
      return stopCtl.signal.aborted;
    },
    stopSignal: stopCtl.signal,
    abandon: abandonCtl.signal,
    get fatal() {
      return fatal;
    },
    stop() {
      if (stopCtl.signal.aborted) return;
      stopCtl.abort();
      for (const fn of [...onStop]) fn();
      onStop.clear();
    },
    fail(err) {
      fatal ??= err;
      life.stop();
      abandonCtl.abort();
    },
    onStop(fn) {
      if (stopCtl.signal.aborted) {
        fn();
        return () => {};
      }
      onStop.add(fn);
      return () => onStop.delete(fn);
    },
    untilStopped(p) {
      if (stopCtl.signal.aborted) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        const off = life.onStop(() => resolve(undefined));
        p.then(resolve, reject).finally(off);
      });
    },
    track(p) {
      const q: Promise<unknown> = p.catch((err: unknown) => life.fail(err instanceof Error ? err : new Error(String(err)))).finally(() => work.delete(q));
      work.add(q);
    },
    get busy() {
      return work.size;
    },
    async settled() {
      while (work.size > 0) await Promise.all([...work]);
    },
  };
  return life;
}
