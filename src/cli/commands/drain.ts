import type { Command } from 'commander';
import { queueDepth } from '../../source/queue.js';
import { consume } from '../consume.js';
import { createContext, type AppContext } from '../context.js';
import { addSettingOptions, configFrom, PIPELINE_KEYS } from '../options.js';
import { formatSummary, progressLine } from '../output.js';
import type { Pipeline, Summary } from '../../pipeline/pipeline.js';

/** Redraws a progress line on stderr every 250 ms while a drain runs on a TTY. */
function startProgress(ctx: AppContext, p: Pipeline): () => void {
  let remaining: number | undefined;
  let doneAtPoll = 0;
  let last = { t: Date.now(), done: 0 };
  let rate = 0;
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
    process.stderr.write(`\r${progressLine(done, Math.max(0, remaining - (done - doneAtPoll)), rate)}\x1b[K`);
  }, 250);
  return () => {
    clearInterval(poll);
    clearInterval(draw);
    process.stderr.write('\r\x1b[K');
  };
}

export async function drainWith(ctx: AppContext, json: boolean, progress: boolean): Promise<Summary> {
  let stopProgress: (() => void) | undefined;
  try {
    const summary = await consume(ctx, {
      untilEmpty: true,
      onStart: (p) => {
        if (progress) stopProgress = startProgress(ctx, p);
      },
    });
    stopProgress?.();
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(`${formatSummary(summary, Boolean(ctx.config.dlqUrl))}\n`);
    return summary;
  } finally {
    stopProgress?.();
  }
}

export function drainCommand(program: Command): void {
  const cmd = program
    .command('drain')
    .description('Process the queue until it is empty, print a summary and exit 0.')
    .option('--json', 'print the summary as one JSON object on the last stdout line')
    .option('--no-progress', 'no progress bar (it only shows on a TTY anyway)');
  addSettingOptions(cmd, [...PIPELINE_KEYS, 'drainWaitTimeSeconds']);
  cmd.action(async (opts: { json?: boolean; progress: boolean }) => {
    const ctx = createContext(configFrom(cmd));
    try {
      await drainWith(ctx, opts.json === true, opts.progress && process.stderr.isTTY === true);
    } finally {
      await ctx.close();
    }
  });
}
