import type { Command } from 'commander';
import { stderrStatusLine } from '../../observability/statusLine.js';
import { queueDepth } from '../../source/queue.js';
import { consume, exitCode, type Outcome } from '../consume.js';
import { createContext, type AppContext } from '../context.js';
import { addSettingOptions, configFrom, PIPELINE_KEYS } from '../options.js';
import { blockedLine, formatSummary, progressLine, summaryJson } from '../output.js';
import type { Pipeline } from '../../pipeline/pipeline.js';

/**
 * Shows a progress line at the bottom of the terminal (stderr), redrawn every 250 ms while a drain runs;
 * log lines print above it. Returns a function that removes it.
 */
function startProgress(ctx: AppContext, p: Pipeline): () => void {
  const status = stderrStatusLine();
  let remaining: number | undefined;
  let doneAtPoll = 0;
  let last = { t: Date.now(), done: 0 };
  let rate = 0;
  let stopped = false;
  const settled = () => {
    const s = p.stats();
    return s.written + s.duplicates + s.rejected;
  };
  const refresh = () => {
    const before = settled();
    queueDepth(ctx.sqs(), ctx.config.queueUrl).then(
      (d) => {
        remaining = d.visible + d.inFlight;
        doneAtPoll = before;
      },
      () => {},
    );
  };
  refresh();
  const poll = setInterval(refresh, 1000);
  const draw = setInterval(() => {
    if (remaining === undefined) return;
    const done = settled();
    const now = Date.now();
    rate = 0.7 * rate + 0.3 * (((done - last.done) * 1000) / Math.max(1, now - last.t));
    last = { t: now, done };
    // Between polls, count down from the last figure by what has been settled since.
    status.set(progressLine(done, Math.max(0, remaining - (done - doneAtPoll)), rate));
  }, 250);
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(poll);
    clearInterval(draw);
    status.clear();
  };
}

/** Drains the queue and prints the summary (text, or JSON on the last stdout line); returns how it ended. */
export interface DrainOutput {
  /** The summary as one JSON object on the last stdout line, instead of text. */
  json: boolean;
  /** A progress bar on stderr (a TTY). */
  progress: boolean;
  /** See ConsumeOptions.handleSignals. */
  handleSignals?: boolean;
}

export async function drainWith(ctx: AppContext, { json, progress, handleSignals }: DrainOutput): Promise<Outcome> {
  let stopProgress: (() => void) | undefined;
  try {
    return await consume(ctx, {
      untilEmpty: true,
      ...(handleSignals === false ? { handleSignals } : {}),
      onStart: (p) => {
        if (progress) stopProgress = startProgress(ctx, p);
      },
      report: (o) => {
        stopProgress?.();
        // The text summary starts with this line; with --json it goes to the log too, so a person sees it.
        if (json && o.ended === 'blocked') ctx.log.warn({ blockedGroups: o.summary.blockedGroups.length, blockedMessages: o.summary.blockedMessages }, `drain incomplete: ${blockedLine(o.summary)}`);
        process.stdout.write(`${json ? JSON.stringify(summaryJson(o)) : formatSummary(o, Boolean(ctx.config.dlqUrl))}\n`);
      },
    });
  } finally {
    stopProgress?.();
  }
}

export function drainCommand(program: Command): void {
  const cmd = program
    .command('drain')
    .description('Process the queue until it is empty, print a summary and exit 0 (3 if FIFO groups stay blocked by rejects; 130/143 if interrupted by SIGINT/SIGTERM).')
    .option('--json', 'print the summary as one JSON object on the last stdout line')
    .option('--no-progress', 'no progress bar (it only shows on a TTY anyway)');
  addSettingOptions(cmd, [...PIPELINE_KEYS, 'drainWaitTimeSeconds']);
  cmd.action(async (opts: { json?: boolean; progress: boolean }) => {
    const ctx = createContext(configFrom(cmd));
    try {
      const outcome = await drainWith(ctx, { json: opts.json === true, progress: opts.progress && process.stderr.isTTY === true });
      process.exitCode = exitCode(outcome);
    } finally {
      await ctx.close();
    }
  });
}
