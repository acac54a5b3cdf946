import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWatch, startWatchdog } from '../../src/pipeline/watchdog.js';

describe('watchdog', () => {
  afterEach(() => vi.useRealTimers());

  it('does not let a slow cause look-up delay a waiting line, and counts the seconds when it writes it', async () => {
    vi.useFakeTimers();
    const lines: { seconds: number; at: number }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push({ seconds: (JSON.parse(s) as { waiting: { seconds: number } }).waiting.seconds, at: Date.now() }) });
    const watch = createWatch();
    void watch.track('PostgreSQL', 'batch write', new Promise(() => undefined));
    // A look-up on a server that does not answer: opening a connection takes connectionTimeoutMillis (10 s).
    const dog = startWatchdog({ watch, log, intervalMs: 5000, explain: () => new Promise((r) => setTimeout(() => r('late cause'), 10_000)) });
    const start = Date.now();
    await vi.advanceTimersByTimeAsync(31_000);
    dog.stop();
    const secs = lines.map((l) => l.seconds);
    expect(secs.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < secs.length; i++) expect(secs[i]).toBeGreaterThan(secs[i - 1] as number);
    for (const l of lines) expect(l.at - start - l.seconds * 1000).toBeLessThan(1000);
  });
});
