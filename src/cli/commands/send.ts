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

/** Message bodies from a JSON array (each element re-serialised) or NDJSON (each line sent verbatim). */
export function readBodies(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, undefined, { cause: err });
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      const arr: unknown = JSON.parse(trimmed);
      if (Array.isArray(arr)) return arr.map((x) => JSON.stringify(x));
    } catch {
      throw new ConfigError(`${path} starts with "[" but is not a valid JSON array`);
    }
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

export function sendCommand(program: Command): void {
  const cmd = program
    .command('send')
    .description('Publish events to the queue: from a JSON array / NDJSON file, or N generated ones shaped like the sample.')
    .option('-f, --file <path>', 'JSON array or NDJSON file of events')
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
