import { describe, expect, it } from 'vitest';
import { evaluateTargets, fmt, markdownTable, median, rotation, splitRate, summarize, tabulate, type Run } from '../../bench/stats.js';
import { parseSqsError } from '../../bench/sqs-json.js';

const run = (over: Partial<Run>): Run => ({ column: 'hmac', n: 1000, rep: 0, activeMs: 1000, wallMs: 2000, cpuUs: 50_000, peakRssMb: 100, serverCpuUs: 10_000, ...over });

describe('bench: medians and summaries', () => {
  it('takes the middle value, averages the middle two, and ignores NaN', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('rotates the column order by repetition, so no column always runs first', () => {
    expect(rotation(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotation(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotation(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
  });

  it('turns runs into msg/s over the active span and the whole process, CPU per message and the highest RSS', () => {
    const c = summarize([run({ activeMs: 500, wallMs: 1000, cpuUs: 40_000, peakRssMb: 120 }), run({ activeMs: 250 }), run({ activeMs: 1000, peakRssMb: 90 })]);
    expect(c.activeRate).toBe(2000); // median of 2000, 4000, 1000 msg/s
    expect(c.wholeRate).toBe(500);
    expect(c.cpuUsPerMsg).toBe(50);
    expect(c.serverCpuUsPerMsg).toBe(10);
    expect(c.serverBusy).toBeCloseTo(0.02); // fauxqs's 10 ms of CPU over 500, 250 and 1,000 ms: 0.02, 0.04, 0.01
    expect(c.peakRssMb).toBe(120);
    expect(c.activeRates).toEqual([2000, 4000, 1000]);
  });

  it('keeps how busy a column kept the endpoint apart from the endpoint\'s own speed', () => {
    // The same client against an emulator twice as slow per message: half the msg/s, the endpoint as busy.
    const fast = summarize([run({ activeMs: 1000, serverCpuUs: 900_000 })]);
    const slow = summarize([run({ activeMs: 2000, serverCpuUs: 1_800_000 })]);
    expect(slow.activeRate / fast.activeRate).toBe(0.5);
    expect(slow.serverBusy).toBeCloseTo(0.9);
    expect(slow.serverBusy).toBeCloseTo(fast.serverBusy);
  });

  it('splits a msg/s ratio into the busy share and fauxqs\'s cost per message, whose product it is', () => {
    const a = summarize([run({ activeMs: 1000, serverCpuUs: 900_000 })]); // 1,000 msg/s, fauxqs 90% busy at 900 µs per message
    const b = summarize([run({ activeMs: 800, serverCpuUs: 800_000 })]); // 1,250 msg/s, fauxqs 100% busy at 800 µs per message
    const x = splitRate(a, b);
    expect(x.rate).toBeCloseTo(0.8);
    expect(x.busy).toBeCloseTo(0.9);
    expect(x.cost).toBeCloseTo(800 / 900);
    expect(x.busy * x.cost).toBeCloseTo(x.rate);
    expect(a.serverCpuUsPerMsgs).toEqual([900]);
  });

  it('groups runs by N and column', () => {
    const cells = tabulate([run({ n: 2000, column: 'limit' }), run({ n: 1000 }), run({ n: 1000, column: 'siv' })]);
    expect([...cells.keys()]).toEqual([1000, 2000]);
    expect(Object.keys(cells.get(1000) ?? {}).sort()).toEqual(['hmac', 'siv']);
    expect(Object.keys(cells.get(2000) ?? {})).toEqual(['limit']);
  });
});

describe('bench: targets', () => {
  const at = (n: number, rss: number, over: Partial<Record<'limit' | 'hmac' | 'siv' | 'tty', Partial<Run>>> = {}) => [
    run({ n, column: 'limit', activeMs: (n / 20_000) * 1000, ...over.limit }),
    run({ n, column: 'hmac', activeMs: (n / 18_000) * 1000, cpuUs: n * 40, peakRssMb: rss, ...over.hmac }),
    run({ n, column: 'siv', activeMs: (n / 16_000) * 1000, cpuUs: n * 55, peakRssMb: rss, ...over.siv }),
    run({ n, column: 'tty', activeMs: (n / 17_000) * 1000, ...over.tty }),
  ];

  it('judges every target at the largest N, here 200,000, and reports the figures', () => {
    const t = evaluateTargets(tabulate([...at(10_000, 120), ...at(200_000, 130)]), 500);
    expect(t.map((x) => x.met)).toEqual([true, true, true, true, true, true, true, true]);
    expect(t[0]?.value).toBeCloseTo(0.9);
    expect(t[1]?.value).toBe(40);
    expect(t[5]?.value).toBeCloseTo(130 / 120);
    expect(t[0]?.where).toBe('N = 200,000');
  });

  it('fails a target that is missed, and marks verdicts at a smaller N as provisional', () => {
    const t = evaluateTargets(tabulate([...at(5000, 100), ...at(20_000, 160, { hmac: { cpuUs: 20_000 * 46 } })]), 1400);
    const byLabel = Object.fromEntries(t.map((x) => [x.label, x]));
    expect(byLabel['CPU per message, drain hmac']?.met).toBe(false);
    expect(byLabel['peak RSS, drain (worst of hmac, siv)']?.met).toBe(false);
    expect(byLabel['peak RSS flat: largest N ÷ next size down']?.met).toBe(false);
    expect(byLabel['empty-queue drain, wall (median)']?.met).toBe(false);
    expect(byLabel['drain hmac ÷ raw limit (a), active span']?.where).toMatch(/provisional/);
    expect(byLabel['peak RSS flat: largest N ÷ next size down']?.where).toBe('N = 5,000 → 20,000 (provisional)');
  });

  it('judges RSS flatness from the next size down: a short run with a lower peak (warm-up) passes, growth from 50,000 to 200,000 does not', () => {
    const flat = (rss50k: number) =>
      evaluateTargets(tabulate([...at(10_000, 88), ...at(50_000, rss50k), ...at(200_000, 110)]), 500).find((x) => x.label.startsWith('peak RSS flat'));
    expect(flat(108)).toMatchObject({ met: true, where: 'N = 50,000 → 200,000' });
    expect(flat(108)?.value).toBeCloseTo(110 / 108);
    expect(flat(90)).toMatchObject({ met: false });
  });

  it('leaves a target unjudged when its column was not run', () => {
    const t = evaluateTargets(tabulate(at(200_000, 100).filter((r) => r.column !== 'tty')), NaN);
    expect(t.find((x) => x.label.startsWith('drain on a TTY'))?.met).toBeUndefined();
    expect(t.find((x) => x.label.startsWith('empty-queue'))?.met).toBeUndefined();
    expect(t.find((x) => x.label.startsWith('peak RSS flat'))?.met).toBeUndefined();
  });
});

describe('bench: output', () => {
  it('prints an aligned Markdown table', () => {
    expect(markdownTable(['N', 'rate'], [['10,000', '5'], ['5', '12,345']])).toBe(
      ['| N      |   rate |', '|--------|-------:|', '| 10,000 |      5 |', '| 5      | 12,345 |'].join('\n'),
    );
    expect(fmt(12345.6)).toBe('12,346');
    expect(fmt(NaN)).toBe('–');
    expect(fmt(0.8567, 2)).toBe('0.86');
  });
});

describe('bench: SQS JSON error parsing', () => {
  it('takes the error name from __type, without its namespace', () => {
    const e = parseSqsError('ReceiveMessage', 400, JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' }));
    expect(e.type).toBe('QueueDoesNotExist');
    expect(e.status).toBe(400);
    expect(e.message).toBe('SQS ReceiveMessage failed: HTTP 400 QueueDoesNotExist: The specified queue does not exist.');
  });

  it('falls back to x-amzn-query-error when the body is not JSON', () => {
    expect(parseSqsError('SendMessageBatch', 503, '<html>busy</html>', 'AWS.SimpleQueueService.ServiceUnavailable;Receiver').type).toBe('AWS.SimpleQueueService.ServiceUnavailable');
    expect(parseSqsError('SendMessageBatch', 500, '').type).toBe('UnknownError');
  });
});
