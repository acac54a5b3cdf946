import type { BlockedGroup, LeftWhy, Summary } from '../pipeline/state.js';
import type { Outcome } from './consume.js';
import { escapeControl, safeJson } from './escape.js';
import { formatCount } from '../format.js';

const n = formatCount;

/** Seconds as printed: 2 decimals below 10 s, else 1, so that a rate computed from the figure agrees with it. */
export const formatSeconds = (ms: number): string => {
  const digits = ms < 9995 ? 2 : 1;
  if (!Number.isSafeInteger(ms) || ms < 0) return `${(ms / 1000).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} s`;
  // Whole milliseconds, rounded half up in integers: what Intl prints, without loading ICU (src/format.ts).
  const scale = 10 ** digits;
  const units = Math.round(ms / (1000 / scale));
  return `${formatCount(Math.trunc(units / scale))}.${String(units % scale).padStart(digits, '0')} s`;
};

/** msg/s: whole numbers from 100 up, else two significant digits (a slow trickle is not "0 msg/s"). */
export const formatRate = (perSec: number): string => `${perSec >= 100 ? n(Math.round(perSec)) : Number(perSec.toPrecision(2)).toString()} msg/s`;

/** Below this span, "while messages flowed" is mostly batching and timer granularity: not shown. */
export const MIN_ACTIVE_SPAN_MS = 1000;

const WHY: Record<LeftWhy, { what: string; fix: string }> = {
  no_dlq: { what: 'a rejected message left on the queue (no SQS_DLQ_URL)', fix: 'set SQS_DLQ_URL to a FIFO dead-letter queue, or give the queue a redrive policy (maxReceiveCount) so that SQS moves such messages' },
  too_large: { what: 'a rejected message too large for the DLQ', fix: "give the queue a redrive policy (maxReceiveCount) so that SQS moves it, or raise the DLQ's MaximumMessageSize" },
  dlq_refused: { what: 'a rejected message the DLQ refused (see the error logged for it)', fix: 'give the queue a redrive policy (maxReceiveCount) so that SQS moves it' },
  corrupt: { what: 'a message received corrupted', fix: 'drain again once its visibility timeout has passed (it is received again)' },
  abandoned: { what: 'a rejected message not dead-lettered before the stop', fix: 'drain again' },
};

/** At most this many group ids are named in a line; the JSON summary has them all. */
const NAMED_GROUPS = 10;

/**
 * The one line for a FIFO drain stopped by blocked groups: which groups, why, how much waits behind them and what
 * to do. Group ids are the producer's text: quoted, with terminal controls escaped.
 */
export function blockedLine(s: Pick<Summary, 'blockedGroups' | 'blockedMessages'>): string {
  const groups = s.blockedGroups;
  const byWhy = new Map<LeftWhy, BlockedGroup[]>();
  for (const g of groups) byWhy.set(g.why, [...(byWhy.get(g.why) ?? []), g]);
  let named = 0;
  const parts = [...byWhy].map(([why, gs]) => {
    const shown = gs.slice(0, Math.max(0, NAMED_GROUPS - named));
    named += shown.length;
    const more = gs.length - shown.length;
    const ids = [...shown.map((g) => safeJson(g.groupId)), ...(more > 0 ? [`${formatCount(more)} more`] : [])].join(', ');
    return `${ids} by ${WHY[why].what}`;
  });
  const one = groups.length === 1;
  const behind = s.blockedMessages > 0 ? `; about ${n(s.blockedMessages)} message${s.blockedMessages === 1 ? '' : 's'} wait${s.blockedMessages === 1 ? 's' : ''} on the queue behind ${one ? 'it' : 'them'}` : '';
  const fixes = [...new Set([...byWhy.keys()].map((w) => WHY[w].fix))].join('; or ');
  return `${n(groups.length)} message group${one ? ' is' : 's are'} blocked: ${parts.join('; ')}${behind}. SQS delivers none of a group's later messages while such a message is on the queue: ${fixes}; then drain again`;
}

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
    blocked: `drain incomplete after ${took}: ${blockedLine(s)}`,
    signal: `interrupted by ${sig} after ${took}: the queue was not drained; what was in hand was committed and deleted`,
    'signal-during-start-up': `interrupted by ${sig} during start-up, after ${took}: nothing was received`,
    'shutdown-timeout': `interrupted by ${sig} after ${took}: the shutdown timeout was reached; ${unfinished}`,
    'second-signal': `interrupted by a second signal (${sig}) after ${took}: ${unfinished}`,
  }[o.ended];
  if (s.received === 0 && o.ended !== 'blocked') return head;
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
    const left = o.rejectsReturn ? 'left on the queue, which has no redrive policy: they come back (no SQS_DLQ_URL)' : 'left on the queue for its redrive policy (no SQS_DLQ_URL)';
    lines.push(dlq ? `              ${n(s.deadLettered)} sent to the dead-letter queue` : `              ${n(s.leftOnQueue)} ${left}`);
    if (dlq && s.tooLargeForDlq > 0) lines.push(`              ${n(s.tooLargeForDlq)} too large for the dead-letter queue: left on the queue for its redrive policy`);
    const otherLeft = dlq ? s.leftOnQueue - s.tooLargeForDlq : 0;
    if (otherLeft > 0) lines.push(`              ${n(otherLeft)} left on the queue (corrupted on the way, or refused by the dead-letter queue)`);
  }
  if (s.heldBack > 0) lines.push(`  held back   ${n(s.heldBack)}   (FIFO: handed back unprocessed, behind a message of their group left on the queue)`);
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
