import type { Outcome } from './consume.js';
import { escapeControl } from './escape.js';

const n = (x: number) => x.toLocaleString('en-US');

/** Seconds as printed: 2 decimals below 10 s, else 1, so that a rate computed from the figure agrees with it. */
export const formatSeconds = (ms: number): string => {
  const digits = ms < 9995 ? 2 : 1;
  return `${(ms / 1000).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} s`;
};

/** msg/s: whole numbers from 100 up, else two significant digits (a slow trickle is not "0 msg/s"). */
export const formatRate = (perSec: number): string => `${perSec >= 100 ? n(Math.round(perSec)) : Number(perSec.toPrecision(2)).toString()} msg/s`;

/** Below this span, "while messages flowed" is mostly batching and timer granularity: not shown. */
export const MIN_ACTIVE_SPAN_MS = 1000;

/**
 * The human summary printed by `drain` and `demo`. Each rate says what it measures: overall = received /
 * wall time (start-up checks and the end-of-queue check included); while messages flowed = received / the
 * span from the first message received to the last one settled, shown when that span is at least 1 s.
 */
export function formatSummary(o: Outcome, dlq: boolean): string {
  const s = o.summary;
  const took = formatSeconds(s.elapsedMs);
  const sig = o.signal ?? 'a signal';
  const one = o.unfinished === 1;
  const unfinished = `${n(o.unfinished)} unfinished message${one ? '' : 's'} will reappear on the queue after ${one ? 'its' : 'their'} visibility timeout`;
  const head = {
    drained: s.received === 0 ? `the queue was empty: nothing to do (checked in ${took})` : `drained in ${took}`,
    signal: `interrupted by ${sig} after ${took}: the queue was not drained; what was in hand was committed and deleted`,
    'signal-during-start-up': `interrupted by ${sig} during start-up, after ${took}: nothing was received`,
    'shutdown-timeout': `interrupted by ${sig} after ${took}: the shutdown timeout was reached; ${unfinished}`,
    'second-signal': `interrupted by a second signal (${sig}) after ${took}: ${unfinished}`,
  }[o.ended];
  if (s.received === 0) return head;
  const reasons = Object.entries(s.rejectedByReason).map(([r, c]) => `${r} ${n(c)}`).join(', ');
  const lines = [
    head,
    `  ${formatRate((s.received * 1000) / Math.max(1, s.elapsedMs))} overall (${n(s.received)} received in ${took}, start-up included)`,
  ];
  if (s.activeMs >= MIN_ACTIVE_SPAN_MS) {
    lines.push(`  ${formatRate((s.received * 1000) / s.activeMs)} while messages flowed (${formatSeconds(s.activeMs)} from the first received to the last settled)`);
  }
  lines.push(
    `  received    ${n(s.received)}`,
    `  written     ${n(s.written)}`,
    `  duplicates  ${n(s.duplicates)}   (already in the ledger: skipped)`,
    `  rejected    ${n(s.rejected)}${reasons ? `   (${reasons})` : ''}`,
  );
  if (s.rejected > 0) {
    lines.push(dlq ? `              ${n(s.deadLettered)} sent to the dead-letter queue` : `              ${n(s.leftOnQueue)} left on the queue for its redrive policy (no SQS_DLQ_URL)`);
  }
  return lines.join('\n');
}

/** The `drain --json` object: the summary's counts and times, plus how the drain ended (docs/operations.md). */
export function summaryJson(o: Outcome): Record<string, unknown> {
  const { endOfQueue: _drained, ...counts } = o.summary; // `complete` and `ended` say it for the user
  return { ...counts, startupMs: o.startupMs, complete: o.complete, ended: o.ended, signal: o.signal, unfinished: o.unfinished };
}

/** Plain text table with a header row, columns padded to fit; terminal control characters in cells are escaped. */
export function formatTable(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const cols = (columns ?? Object.keys(rows[0] ?? {})).map(escapeControl);
  const keys = columns ?? Object.keys(rows[0] ?? {});
  const text = (v: unknown) => escapeControl(v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : String(v));
  const cells = rows.map((r) => keys.map((c) => text(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** A one-line progress bar for a TTY: done, approximate remaining and rate. */
export function progressLine(done: number, remaining: number, ratePerSec: number, width = 30): string {
  const total = done + remaining;
  const frac = total > 0 ? done / total : 1;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${n(done)} done  ~${n(remaining)} left  ${n(Math.round(ratePerSec))} msg/s`;
}
