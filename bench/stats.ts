/** Pure bookkeeping of the bench: medians per column and N, ratios, and the issue's targets. No I/O. */

/** The measured consumers, in table order. */
export const COLUMNS = ['limit', 'sdk', 'hmac', 'siv', 'tty'] as const;
export type Column = (typeof COLUMNS)[number];

export const COLUMN_TITLES: Record<Column, string> = {
  limit: '(a) raw HTTP limit',
  sdk: "(a') SDK poller",
  hmac: '(b) drain hmac',
  siv: '(b) drain siv',
  tty: '(b) drain hmac, TTY',
};

/** One measured process. */
export interface Run {
  column: Column;
  n: number;
  rep: number;
  /** First receive to last delete, as the process itself reports it. */
  activeMs: number;
  /** Spawn to exit, measured by the bench. */
  wallMs: number;
  /** User + system CPU of the whole process. */
  cpuUs: number;
  /** VmHWM of the process. */
  peakRssMb: number;
  /** CPU the SQS server (fauxqs) used during the run. */
  serverCpuUs: number;
  /** Drains: their start-up checks, and the time from the last message settled to the end (end-of-queue detection). */
  startupMs?: number;
  endMs?: number;
}

export interface Cell {
  runs: number;
  /** Medians over the runs: msg/s over the active span and over the whole process, CPU µs per message. */
  activeRate: number;
  wholeRate: number;
  cpuUsPerMsg: number;
  serverCpuUsPerMsg: number;
  /**
   * The endpoint's CPU over the active span, median: the share of fauxqs's time this column kept it busy. msg/s is
   * this ÷ fauxqs's CPU per message, which moves with the VM from round to round; this share moves far less.
   */
  serverBusy: number;
  /** Highest peak RSS of the runs. */
  peakRssMb: number;
  activeRates: number[];
  /** fauxqs's CPU µs per message in each run. */
  serverCpuUsPerMsgs: number[];
  /** Drains: medians of Run.startupMs and Run.endMs. */
  startupMs?: number;
  endMs?: number;
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function summarize(runs: readonly Run[]): Cell {
  const n = runs[0]?.n ?? 0;
  return {
    runs: runs.length,
    activeRate: median(runs.map((r) => n / (r.activeMs / 1000))),
    wholeRate: median(runs.map((r) => n / (r.wallMs / 1000))),
    cpuUsPerMsg: median(runs.map((r) => r.cpuUs / n)),
    serverCpuUsPerMsg: median(runs.map((r) => r.serverCpuUs / n)),
    serverBusy: median(runs.map((r) => r.serverCpuUs / 1000 / r.activeMs)),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    activeRates: runs.map((r) => Math.round(n / (r.activeMs / 1000))),
    serverCpuUsPerMsgs: runs.map((r) => r.serverCpuUs / n),
    ...(runs.some((r) => r.endMs !== undefined)
      ? { startupMs: median(runs.map((r) => r.startupMs ?? NaN)), endMs: median(runs.map((r) => r.endMs ?? NaN)) }
      : {}),
  };
}

export type Cells = Map<number, Partial<Record<Column, Cell>>>;

/** Groups runs by N and column and summarises each group. */
export function tabulate(runs: readonly Run[]): Cells {
  const out: Cells = new Map();
  for (const n of [...new Set(runs.map((r) => r.n))].sort((a, b) => a - b)) {
    const row: Partial<Record<Column, Cell>> = {};
    for (const c of COLUMNS) {
      const rs = runs.filter((r) => r.n === n && r.column === c);
      if (rs.length > 0) row[c] = summarize(rs);
    }
    out.set(n, row);
  }
  return out;
}

/**
 * The order of the columns in repetition `rep`: rotated each time, so no column always runs first or last. Within a
 * repetition each column follows the same one (hmac follows the SDK poller); over 33 full runs the hmac drain cost
 * on average within 1.2 µs per message of the TTY drain of the same code in each repetition (single rounds differ
 * by up to ±16), so that order does not measurably bias it.
 */
export function rotation<T>(xs: readonly T[], rep: number): T[] {
  const k = xs.length === 0 ? 0 : rep % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

export const ratio = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);

/** A ratio of msg/s split into its two factors where fauxqs sets the pace: msg/s = busy share ÷ fauxqs's CPU per message. */
export interface RateSplit {
  /** The msg/s ratio (medians), as the targets judge it. */
  rate: number;
  /** How busy `a` kept fauxqs over how busy `b` did. */
  busy: number;
  /** fauxqs's CPU per message serving `b` over serving `a`: below 1 when `a` cost fauxqs more per message. */
  cost: number;
}

export const splitRate = (a: Cell | undefined, b: Cell | undefined): RateSplit => ({
  rate: ratio(a?.activeRate, b?.activeRate),
  busy: ratio(a?.serverBusy, b?.serverBusy),
  cost: ratio(b?.serverCpuUsPerMsg, a?.serverCpuUsPerMsg),
});

export interface Target {
  label: string;
  /** The measured figure, NaN when not measured. */
  value: number;
  op: '>=' | '<=';
  limit: number;
  unit: string;
  met: boolean | undefined;
  /** Where it was judged, and anything that weakens the verdict. */
  where: string;
}

/** The N at which issue 9 states its throughput and memory targets. */
export const TARGET_N = 200_000;

/** The largest of the figures measured; NaN if none was. */
const worst = (xs: readonly (number | undefined)[]): number => {
  const d = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return d.length ? Math.max(...d) : NaN;
};

function target(label: string, value: number, op: Target['op'], limit: number, unit: string, where: string): Target {
  const met = Number.isFinite(value) ? (op === '>=' ? value >= limit : value <= limit) : undefined;
  return { label, value, op, limit, unit, met, where };
}

/**
 * Issue 9's targets (and issue 10's TTY target), judged at the largest N measured; marked provisional when
 * that is not 200,000. CPU per message is the whole process's CPU over N, start-up included.
 */
export function evaluateTargets(cells: Cells, emptyDrainMs: number): Target[] {
  const ns = [...cells.keys()];
  const top = Math.max(...ns);
  const at = cells.get(top) ?? {};
  const where = `N = ${top.toLocaleString('en-US')}${top === TARGET_N ? '' : ` (provisional: the target is for N = ${TARGET_N.toLocaleString('en-US')})`}`;
  // Flat across N: no growth with the number of messages. Judged from the next size down, not the smallest: a
  // 10,000-message drain ends within ~2 s, before V8's heap has grown to its working size, so its lower peak is
  // warm-up, not a sign of growth (the 12-05 runs: 88–97 MB at 10,000, 107–112 at 50,000 and at 200,000).
  const sorted = [...ns].sort((a, b) => a - b);
  const from = sorted.length > 2 ? (sorted[sorted.length - 2] as number) : (sorted[0] as number);
  const flat = worst((['hmac', 'siv'] as const).map((c) => {
    const [a, b] = [cells.get(from)?.[c]?.peakRssMb, at[c]?.peakRssMb];
    return ns.length > 1 && a !== undefined && b !== undefined ? b / a : undefined;
  }));
  return [
    target('drain hmac ÷ raw limit (a), active span', ratio(at.hmac?.activeRate, at.limit?.activeRate), '>=', 0.85, '×', where),
    target('CPU per message, drain hmac', at.hmac?.cpuUsPerMsg ?? NaN, '<=', 45, 'µs', where),
    target('CPU per message, drain siv', at.siv?.cpuUsPerMsg ?? NaN, '<=', 60, 'µs', where),
    target('drain siv ÷ drain hmac, active span', ratio(at.siv?.activeRate, at.hmac?.activeRate), '>=', 0.85, '×', where),
    target('peak RSS, drain (worst of hmac, siv)', worst([at.hmac?.peakRssMb, at.siv?.peakRssMb]), '<=', 150, 'MB', where),
    target('peak RSS flat: largest N ÷ next size down', flat, '<=', 1.15, '×', ns.length > 1 ? `N = ${from.toLocaleString('en-US')} → ${top.toLocaleString('en-US')}${top === TARGET_N ? '' : ' (provisional)'}` : 'needs two sizes'),
    target('empty-queue drain, wall (median)', emptyDrainMs / 1000, '<=', 0.6, 's', 'spawn to exit'),
    target('drain on a TTY ÷ without, active span', ratio(at.tty?.activeRate, at.hmac?.activeRate), '>=', 0.9, '×', where),
  ];
}

/** 12345.6 → "12,346"; NaN → "–". */
export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A Markdown table with padded columns: readable in a terminal, pasteable into the README. `align` has one
 * letter per column, `l` or `r`; by default the first column is left-aligned and the rest right-aligned.
 */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], align = `l${'r'.repeat(Math.max(0, head.length - 1))}`): string {
  const w = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = (i: number) => align[i] === 'r';
  const line = (cells: readonly string[]) => `| ${w.map((x, i) => (right(i) ? (cells[i] ?? '').padStart(x) : (cells[i] ?? '').padEnd(x))).join(' | ')} |`;
  const rule = `|${w.map((x, i) => (right(i) ? `${'-'.repeat(x + 1)}:` : '-'.repeat(x + 2))).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}
