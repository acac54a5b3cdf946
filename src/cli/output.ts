import type { Summary } from '../pipeline/pipeline.js';
import { escapeControl } from './escape.js';

const n = (x: number) => x.toLocaleString('en-US');

/** The human summary printed by `drain` and `demo`. */
export function formatSummary(s: Summary, dlq: boolean): string {
  if (s.received === 0) return `the queue was empty: nothing to do (checked in ${(s.elapsedMs / 1000).toFixed(1)} s)`;
  const reasons = Object.entries(s.rejectedByReason).map(([r, c]) => `${r} ${n(c)}`).join(', ');
  const rate = s.activeMs > 0 ? Math.round((s.received / s.activeMs) * 1000) : 0;
  const lines = [
    `drained in ${(s.elapsedMs / 1000).toFixed(1)} s (${n(rate)} msg/s)`,
    `  received    ${n(s.received)}`,
    `  written     ${n(s.written)}`,
    `  duplicates  ${n(s.duplicates)}   (already in the ledger: skipped)`,
    `  rejected    ${n(s.rejected)}${reasons ? `   (${reasons})` : ''}`,
  ];
  if (s.rejected > 0) {
    lines.push(dlq ? `              ${n(s.deadLettered)} sent to the dead-letter queue` : `              ${n(s.leftOnQueue)} left on the queue for its redrive policy (no SQS_DLQ_URL)`);
  }
  return lines.join('\n');
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
