import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exitCode, type Ended, type Outcome } from '../../src/cli/consume.js';
import { blockedLine, formatRate, formatSeconds, formatSummary, summaryJson } from '../../src/cli/output.js';
import type { Summary } from '../../src/pipeline/pipeline.js';
import { emptySummary } from '../../src/pipeline/state.js';

const counts = (received: number, elapsedMs: number, activeMs: number): Summary => ({
  ...emptySummary(),
  received,
  written: received - 2,
  duplicates: 0,
  rejected: 2,
  rejectedByReason: { invalid_json: 2 },
  deadLettered: 2,
  endOfQueue: true,
  leftOnQueue: 0,
  deleted: received,
  elapsedMs,
  activeMs,
});

const outcome = (summary: Summary, ended: Ended = 'drained', signal: Outcome['signal'] = null, untilEmpty = true, unfinished = 0): Outcome => ({
  summary,
  startupMs: 60,
  untilEmpty,
  ended,
  complete: ended === 'drained',
  signal,
  unfinished,
  rejectsReturn: false,
});

/** Every "<rate> msg/s overall (<n> received in <t> s" in the text, checked against its own figures. */
function overall(text: string): { rate: number; received: number; seconds: number } {
  const m = /([\d,.]+) msg\/s overall \(([\d,]+) received in ([\d,.]+) s/.exec(text);
  if (!m) throw new Error(`no overall rate in:\n${text}`);
  const num = (s: string | undefined) => Number((s ?? '').replace(/,/g, ''));
  return { rate: num(m[1]), received: num(m[2]), seconds: num(m[3]) };
}

describe('drain summary', () => {
  it("says where rejects left on the queue go: to its redrive policy, or back, when it has none", () => {
    const left = { ...counts(100, 2_000, 1_500), deadLettered: 0, leftOnQueue: 2 };
    expect(formatSummary(outcome(left), false)).toContain('\n              2 left on the queue for its redrive policy (no SQS_DLQ_URL)');
    expect(formatSummary({ ...outcome(left), rejectsReturn: true }, false)).toContain('\n              2 left on the queue, which has no redrive policy: they come back (no SQS_DLQ_URL)');
  });

  it('prints an overall rate that agrees with the time it prints (the 1,000-message case)', () => {
    const text = formatSummary(outcome(counts(1000, 1449, 517)), true);
    expect(text.split('\n')[0]).toBe('drained in 1.45 s');
    const o = overall(text);
    expect(o.received).toBe(1000);
    expect(Math.abs(o.rate - o.received / o.seconds) / o.rate).toBeLessThan(0.01);
    // A 0.5 s active span is too short to mean anything: no second rate.
    expect(text).not.toContain('while messages flowed');
  });

  it('one message in 59.6 s is a slow trickle, not 1,000 msg/s', () => {
    const text = formatSummary(outcome(counts(1, 59_600, 1)), true);
    expect(text).toContain('drained in 59.6 s');
    expect(text).toContain('0.017 msg/s overall (1 received in 59.6 s');
    expect(text).not.toContain('while messages flowed');
  });

  it('adds the rate while messages flowed, with its span, when the span is long enough', () => {
    const text = formatSummary(outcome(counts(50_000, 7_120, 5_480)), true);
    expect(text).toContain('7,022 msg/s overall (50,000 received in 7.12 s, start-up included)');
    expect(text).toContain('9,124 msg/s while messages flowed (5.48 s from the first received to the last settled)');
    for (const line of ['received    50,000', 'written     49,998', 'rejected    2   (invalid_json 2)', '2 sent to the dead-letter queue']) expect(text).toContain(line);
  });

  it('an empty queue says so, with the time the check took', () => {
    expect(formatSummary(outcome(counts(0, 1021, 0)), true)).toBe('the queue was empty: nothing to do (checked in 1.02 s)');
  });

  it('an interrupted drain says "interrupted", names the signal and what became of the work in hand', () => {
    const s = counts(12_000, 2_410, 2_000);
    expect(formatSummary(outcome(s, 'signal', 'SIGTERM'), true).split('\n')[0]).toBe(
      'interrupted by SIGTERM after 2.41 s: the queue was not drained; what was in hand was committed and deleted',
    );
    expect(formatSummary(outcome(s, 'shutdown-timeout', 'SIGTERM', true, 230), true).split('\n')[0]).toBe(
      'interrupted by SIGTERM after 2.41 s: the shutdown timeout was reached; 230 unfinished messages will reappear on the queue after their visibility timeout',
    );
    expect(formatSummary(outcome(s, 'second-signal', 'SIGINT', true, 1), true).split('\n')[0]).toBe(
      'interrupted by a second signal (SIGINT) after 2.41 s: 1 unfinished message will reappear on the queue after its visibility timeout',
    );
    expect(formatSummary(outcome(counts(0, 210, 0), 'signal-during-start-up', 'SIGINT'), true)).toBe('interrupted by SIGINT during start-up, after 0.21 s: nothing was received');
    expect(formatSummary(outcome(s, 'signal', 'SIGINT'), true)).toMatch(/4,979 msg\/s overall \(12,000 received in 2\.41 s/);
  });

  it('--json: the counts, times and how it ended', () => {
    expect(summaryJson(outcome(counts(10, 1500, 300)))).toEqual({
      received: 10, written: 8, duplicates: 0, rejected: 2, rejectedByReason: { invalid_json: 2 }, deadLettered: 2, leftOnQueue: 0, deleted: 10,
      tooLargeForDlq: 0, heldBack: 0, blockedGroups: [], blockedMessages: 0, elapsedMs: 1500, activeMs: 300, startupMs: 60, complete: true, ended: 'drained', signal: null, unfinished: 0,
    });
    expect(summaryJson(outcome(counts(10, 1500, 300), 'signal', 'SIGTERM'))).toMatchObject({ complete: false, ended: 'signal', signal: 'SIGTERM' });
  });

  it('formats seconds and rates so that the figures can be checked by hand', () => {
    expect([formatSeconds(0), formatSeconds(1449), formatSeconds(9_994), formatSeconds(9_996), formatSeconds(1_234_567)]).toEqual(['0.00 s', '1.45 s', '9.99 s', '10.0 s', '1,234.6 s']);
    // The same text as Intl gives, on whole milliseconds (what the summary holds), ties included.
    const intl = (ms: number) => {
      const digits = ms < 9995 ? 2 : 1;
      return `${(ms / 1000).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} s`;
    };
    for (const ms of [5, 15, 1445, 9_995, 12_350, 12_345, 99_950, 1_000_050]) expect(formatSeconds(ms)).toBe(intl(ms));
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 1e10 })), (ms) => {
        expect(formatSeconds(ms)).toBe(intl(ms));
      }),
      { numRuns: 20_000 },
    );
    expect([formatRate(0), formatRate(0.01678), formatRate(12.34), formatRate(99.6), formatRate(5063.4)]).toEqual(['0 msg/s', '0.017 msg/s', '12 msg/s', '100 msg/s', '5,063 msg/s']);
  });
});

describe('a FIFO drain stopped by blocked groups', () => {
  const blocked = (n: number, why: 'no_dlq' | 'too_large' = 'no_dlq'): Summary => ({
    ...counts(40, 2_000, 1_500),
    blockedGroups: Array.from({ length: n }, (_, i) => ({ groupId: `user-${i}`, messageId: `m${i}`, reason: 'invalid_json', why })),
    blockedMessages: 17,
  });

  it('one line: the groups, why, how much waits behind them and what to do', () => {
    expect(blockedLine(blocked(2))).toBe(
      '2 message groups are blocked: "user-0", "user-1" by a rejected message left on the queue (no SQS_DLQ_URL); about 17 messages wait on the queue behind them. SQS delivers none of a group\'s later messages while such a message is on the queue: set SQS_DLQ_URL to a FIFO dead-letter queue, or give the queue a redrive policy (maxReceiveCount) so that SQS moves such messages; then drain again',
    );
    const mixed = { ...blocked(1), blockedGroups: [...blocked(1).blockedGroups, { groupId: 'big', messageId: 'm9', reason: 'invalid_json', why: 'too_large' as const }] };
    expect(blockedLine(mixed)).toContain('"user-0" by a rejected message left on the queue (no SQS_DLQ_URL); "big" by a rejected message too large for the DLQ');
    expect(blockedLine(mixed)).toContain("or raise the DLQ's MaximumMessageSize");
  });

  it('names at most 10 groups (the JSON has them all) and escapes what a terminal would act on', () => {
    const many = blockedLine(blocked(25));
    expect(many).toMatch(/^25 message groups are blocked: "user-0", .*"user-9", 15 more by/);
    const odd = blockedLine({ blockedGroups: [{ groupId: 'a\u001b[2Jb', messageId: 'm', reason: 'invalid_json', why: 'no_dlq' }], blockedMessages: 0 });
    expect(odd).toContain('"a\\u001b[2Jb"');
    expect(odd).not.toContain('\u001b');
  });

  it('the summary starts with it; exit code 3; --json has complete: false and the groups', () => {
    const o = outcome(blocked(1), 'blocked');
    expect(formatSummary(o, false).split('\n')[0]).toBe(`drain incomplete after 2.00 s: ${blockedLine(blocked(1))}`);
    expect(exitCode({ ...o, complete: false })).toBe(3);
    expect(summaryJson({ ...o, complete: false })).toMatchObject({ complete: false, ended: 'blocked', blockedGroups: [{ groupId: 'user-0' }], blockedMessages: 17 });
  });

  it('held-back messages and rejects too large for the DLQ are counted in the text', () => {
    const text = formatSummary(outcome({ ...counts(40, 2_000, 1_500), rejected: 3, deadLettered: 2, leftOnQueue: 1, tooLargeForDlq: 1, heldBack: 4 }), true);
    expect(text).toContain('2 sent to the dead-letter queue');
    expect(text).toContain('1 too large for the dead-letter queue: left on the queue for its redrive policy');
    expect(text).toContain('held back   4');
  });
});

describe('exit codes', () => {
  const s = counts(5, 100, 50);
  it('drain: 0 when drained, 130/143 whenever a signal ended it', () => {
    expect(exitCode(outcome(s))).toBe(0);
    expect(exitCode(outcome(s, 'signal', 'SIGINT'))).toBe(130);
    expect(exitCode(outcome(s, 'signal', 'SIGTERM'))).toBe(143);
    expect(exitCode(outcome(s, 'signal-during-start-up', 'SIGTERM'))).toBe(143);
    expect(exitCode(outcome(s, 'shutdown-timeout', 'SIGINT'))).toBe(130);
    expect(exitCode(outcome(s, 'second-signal', 'SIGTERM'))).toBe(143);
  });
  it('run: 0 for a graceful stop (also during start-up); 130/143 when the stop was cut short', () => {
    expect(exitCode(outcome(s, 'signal', 'SIGTERM', false))).toBe(0);
    expect(exitCode(outcome(s, 'signal-during-start-up', 'SIGINT', false))).toBe(0);
    expect(exitCode(outcome(s, 'shutdown-timeout', 'SIGTERM', false))).toBe(143);
    expect(exitCode(outcome(s, 'second-signal', 'SIGINT', false))).toBe(130);
  });
});
