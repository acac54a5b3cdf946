import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { generateEvents } from '../../demo/generate.js';
import type { OutgoingMessage } from '../../source/queue.js';
import { MessageTooLargeError, sendAll } from '../../source/send.js';
import { flatten, isPlainObject } from '../../transform/flatten.js';
import { DEFAULT_FIELD_MAP, parseFieldMap, type FieldMap } from '../../transform/mapping.js';
import { PII_FIELDS } from '../../masking/token.js';
import { createContext, preflightQueueInfo } from '../context.js';
import { addSettingOptions, configFrom, positiveInt } from '../options.js';
import { formatCount } from '../../format.js';
import { sha256Hex } from '../../hash.js';

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

/** What SQS accepts as a MessageGroupId: 1–128 characters, letters, digits and ASCII punctuation. */
const GROUP_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

export interface FifoIdOptions {
  /** MessageGroupId for every message; with `groupField`, for the messages that have no usable value there. */
  groupId?: string | undefined;
  /** Dotted path of the event field whose value is the MessageGroupId, e.g. `user_id`. */
  groupField?: string | undefined;
  /**
   * `message` (default): a new id per message, so two identical events (login events carry no time of their own)
   * stay two messages; `content`: the SHA-256 of the body, as SQS's ContentBasedDeduplication does, so
   * re-sending the same events within SQS's 5-minute window adds nothing, but identical events collapse into one.
   */
  dedup: 'message' | 'content';
  /** Where the events keep ip and device_id (FIELD_MAP): `groupField` may not be one of them. Default: the flat mapping. */
  fieldMap?: FieldMap;
}

/**
 * MessageGroupId and MessageDeduplicationId for each body sent to a FIFO queue. A message whose group field is
 * missing, not a string or number, or not a valid group id takes `groupId`; without one it is a ConfigError
 * naming the message's position (never its content, which may hold PII).
 */
export function withFifoIds(bodies: readonly string[], o: FifoIdOptions): OutgoingMessage[] {
  if (o.groupId !== undefined && !GROUP_ID.test(o.groupId)) {
    throw new ConfigError('--group-id must be 1 to 128 letters, digits or ASCII punctuation (what SQS accepts as a MessageGroupId)');
  }
  const pii = PII_FIELDS.find((f) => (o.fieldMap ?? DEFAULT_FIELD_MAP)[f] === o.groupField);
  if (pii) {
    throw new ConfigError(`--group-field ${o.groupField} would make each raw ${pii} a MessageGroupId, which SQS keeps and shows unmasked; group by user_id or another field that is not ip or device_id`);
  }
  const depth = o.groupField?.split('.').length ?? 0;
  return bodies.map((body, i) => {
    let group = o.groupId;
    if (o.groupField !== undefined) {
      let value: unknown;
      try {
        const event: unknown = JSON.parse(body);
        value = isPlainObject(event) ? flatten(event, depth).get(o.groupField) : undefined;
      } catch {
        value = undefined;
      }
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text === 'string' && GROUP_ID.test(text)) group = text;
      else if (group === undefined) {
        throw new ConfigError(
          `message ${i + 1} has no usable ${o.groupField} for a MessageGroupId (missing, not JSON, or not 1 to 128 letters, digits or ASCII punctuation); add --group-id ID as the group of such messages`,
        );
      }
    }
    const deduplicationId = o.dedup === 'content' ? sha256Hex(body) : randomUUID();
    return { body, groupId: group as string, deduplicationId };
  });
}

export function sendCommand(program: Command): void {
  const cmd = program
    .command('send')
    .description('Publish events to the queue: from a file (JSON array, one JSON event, or NDJSON), or N generated ones shaped like the sample.')
    .option('-f, --file <path>', 'events from a file: a JSON array, one JSON event (pretty-printed is fine), or NDJSON (one per line)')
    .option('-n, --generate <count>', 'generate this many events (repeated ips/devices, ~2% malformed)', positiveInt())
    .option('--seed <n>', 'seed for --generate', positiveInt(), 1)
    .option('--malformed-ratio <r>', 'share of malformed generated messages', (v) => {
      const n = Number(v);
      if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be between 0 and 1');
      return n;
    }, 0.02)
    .option('--group-id <id>', 'FIFO queues: the MessageGroupId of every message (one group: one strict order), or, with --group-field, of messages without that field')
    .option('--group-field <path>', 'FIFO queues: the event field whose value is the MessageGroupId, e.g. user_id (order per user; groups are processed in parallel)')
    .addOption(
      new Option('--dedup <how>', 'FIFO queues: MessageDeduplicationId per message (message: a new id each, so identical events stay distinct) or from the body (content: SHA-256, like ContentBasedDeduplication: a re-send within 5 minutes adds nothing, identical events collapse)')
        .choices(['message', 'content'])
        .default('message'),
    );
  addSettingOptions(cmd, ['queueUrl', 'sqsEndpoint', 'region', 'logLevel']);
  cmd.action(async (opts: { file?: string; generate?: number; seed: number; malformedRatio: number; groupId?: string; groupField?: string; dedup: 'message' | 'content' }) => {
    if ((opts.file === undefined) === (opts.generate === undefined)) throw new ConfigError('send needs exactly one of --file <path> or --generate <count>');
    const ctx = createContext(configFrom(cmd));
    const { queueUrl } = ctx.config;
    try {
      const bodies = opts.file !== undefined ? readBodies(opts.file) : generateEvents(opts.generate ?? 0, opts.seed, opts.malformedRatio).bodies;
      const queue = await preflightQueueInfo(ctx);
      const grouped = opts.groupId !== undefined || opts.groupField !== undefined;
      if (queue.fifo && !grouped) {
        throw new ConfigError(`${queueUrl} is a FIFO queue: every message needs a group; add --group-id ID (one group, one strict order) or --group-field user_id (an order per user)`);
      }
      if (!queue.fifo && grouped) {
        throw new ConfigError(`${queueUrl} is a standard queue: --group-id and --group-field are for FIFO queues (their names end in .fifo)`);
      }
      const messages = queue.fifo ? withFifoIds(bodies, { groupId: opts.groupId, groupField: opts.groupField, dedup: opts.dedup, fieldMap: parseFieldMap(ctx.config.fieldMap) }) : bodies.map((body) => ({ body }));
      const n = await sendAll(ctx.sqs(), queueUrl, messages, { maxBytes: queue.maxMessageBytes, inOrder: queue.fifo }).catch((err: unknown) => {
        throw err instanceof MessageTooLargeError ? new ConfigError(`${err.message}; nothing was sent`, undefined, { cause: err }) : err;
      });
      process.stdout.write(`sent ${formatCount(n)} message${n === 1 ? '' : 's'} to ${queueUrl}\n`);
    } finally {
      await ctx.close();
    }
  });
}
