import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { generateEvents } from '../../demo/generate.js';
import { sendBodies } from '../../source/send.js';
import { createContext, preflightQueue } from '../context.js';
import { addSettingOptions, configFrom } from '../options.js';

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};

/**
 * Message bodies from a file, which is one of:
 * - a JSON array: one message per element (re-serialised compactly);
 * - one JSON value, e.g. a pretty-printed event: one message (re-serialised compactly);
 * - NDJSON: one message per non-empty line, sent as it is; every line must be JSON.
 * Anything else is a ConfigError naming the first line that is not JSON (never its content: it may hold PII).
 */
export function readBodies(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, undefined, { cause: err });
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.trim() === '') throw new ConfigError(`${path} is empty: it should hold a JSON array of events, one JSON event, or NDJSON (one event per line)`);
  let whole: unknown;
  let parsed = true;
  try {
    whole = JSON.parse(text);
  } catch {
    parsed = false;
  }
  if (parsed) {
    if (!Array.isArray(whole)) return [JSON.stringify(whole)];
    if (whole.length === 0) throw new ConfigError(`${path} is an empty JSON array: there is nothing to send`);
    return whole.map((x) => JSON.stringify(x));
  }
  const lines = text.split(/\r?\n/);
  const bodies: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      JSON.parse(line);
    } catch {
      const what = text.trimStart().startsWith('[') ? 'starts with "[" but is not a valid JSON array' : `is not a JSON array, one JSON event, or NDJSON: line ${i + 1} is not valid JSON`;
      throw new ConfigError(`${path} ${what}; fix the file (one event per line for NDJSON)`);
    }
    bodies.push(line);
  }
  return bodies;
}

export function sendCommand(program: Command): void {
  const cmd = program
    .command('send')
    .description('Publish events to the queue: from a file (JSON array, one JSON event, or NDJSON), or N generated ones shaped like the sample.')
    .option('-f, --file <path>', 'events from a file: a JSON array, one JSON event (pretty-printed is fine), or NDJSON (one per line)')
    .option('-n, --generate <count>', 'generate this many events (repeated ips/devices, ~2% malformed)', positiveInt)
    .option('--seed <n>', 'seed for --generate', positiveInt, 1)
    .option('--malformed-ratio <r>', 'share of malformed generated messages', (v) => {
      const n = Number(v);
      if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be between 0 and 1');
      return n;
    }, 0.02);
  addSettingOptions(cmd, ['queueUrl', 'sqsEndpoint', 'region', 'logLevel']);
  cmd.action(async (opts: { file?: string; generate?: number; seed: number; malformedRatio: number }) => {
    if ((opts.file === undefined) === (opts.generate === undefined)) throw new ConfigError('send needs exactly one of --file <path> or --generate <count>');
    const ctx = createContext(configFrom(cmd));
    try {
      const bodies = opts.file !== undefined ? readBodies(opts.file) : generateEvents(opts.generate ?? 0, opts.seed, opts.malformedRatio).bodies;
      await preflightQueue(ctx);
      const n = await sendBodies(ctx.sqs(), ctx.config.queueUrl, bodies);
      process.stdout.write(`sent ${n} messages to ${ctx.config.queueUrl}\n`);
    } finally {
      await ctx.close();
    }
  });
}
