import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { browseQueue, type Browser } from '../../dlq/browse.js';
import { createDeadLetterDecoder, DeadLetterError } from '../../dlq/codec.js';
import { createBodyMasker } from '../../dlq/display.js';
import { inspect, matches, type DeadLetterEntry } from '../../dlq/inspect.js';
import { LoginEtlError } from '../../errors.js';
import { audit } from '../../masking/audit.js';
import type { GroupLabel } from '../../masking/groupLabel.js';
import { createLogger } from '../../observability/logger.js';
import { queueDepth } from '../../source/queue.js';
import { parseFieldMap } from '../../transform/mapping.js';
import { REJECT_REASONS } from '../../transform/validate.js';
import { createContext, preflightQueue, type AppContext } from '../context.js';
import { escapeControl, safeJson } from '../escape.js';
import { addSettingOptions, configFrom, DLQ_KEYS, positiveInt, SOURCE_KEYS } from '../options.js';
import { formatTable } from '../output.js';
import { stdoutClosed } from '../stdout.js';
import { handleStopSignals, signalExitCode, type StopSignal } from '../signals.js';
import { formatCount } from '../../format.js';
import { flushRepeats } from '../../observability/repeat.js';

/** Most dead letters one listing holds hidden at once. */
export const MAX_LIST = 100_000;
/** Characters of a masked body a listing prints (the whole body: `dlq show`). */
const PREVIEW_TEXT = 72;
const PREVIEW_JSON = 1000;

export const reasonOption = (v: string): string => {
  if (!(REJECT_REASONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be a reject reason: ${REJECT_REASONS.join(', ')}`);
  return v;
};

/** The DLQ to read: SQS_DLQ_URL, checked to answer. */
/** These commands read the DLQ only: calls go to its endpoint (its URL's origin), not the source queue's. */
const readingDlq = <C extends { queueUrl: string; dlqUrl?: string | undefined }>(c: C): C => (c.dlqUrl ? { ...c, queueUrl: c.dlqUrl } : c);

export async function dlqOf(ctx: AppContext, what: string): Promise<{ dlqUrl: string; visible: number }> {
  const { dlqUrl } = ctx.config;
  if (!dlqUrl) throw new ConfigError(`${what} needs SQS_DLQ_URL (--dlq-url): the dead-letter queue to read`, 'SQS_DLQ_URL');
  return { dlqUrl, visible: (await preflightQueue(ctx, dlqUrl)).visible };
}

/**
 * Runs `work` with SIGINT/SIGTERM turned into an abort: the command stops after what it has in hand, makes the
 * messages it holds visible again, and then exits 130/143. A second signal exits at once (they reappear after
 * their hold).
 */
export async function releasingOnStop<T>(browser: Browser, work: (signal: AbortSignal) => Promise<T>, stopped?: (signal: StopSignal) => void): Promise<T> {
  const stop = new AbortController();
  let stoppedBy: StopSignal | undefined;
  const restore = handleStopSignals((signal, nth) => {
    if (nth > 1) process.exit(signalExitCode(signal));
    stoppedBy = signal;
    stop.abort();
  });
  try {
    return await work(stop.signal);
  } finally {
    await browser.release().catch(() => 0);
    restore();
    if (stoppedBy) {
      process.exitCode = signalExitCode(stoppedBy);
      stopped?.(stoppedBy);
    }
  }
}

function bodyText(e: DeadLetterEntry, max: number): { text: string; truncated: boolean; note?: string } {
  if (e.error) return { text: '', truncated: false, note: `cannot be read: ${e.error.message}` };
  if (!e.masked) return { text: '', truncated: false, note: 'not read' };
  if (!e.masked.ok) return { text: '', truncated: false, note: `not shown: ${e.masked.why} (it may hold raw ip or device_id); \`login-etl dlq show ${e.id} --reveal\` prints it, audited` };
  const text = safeJson(e.masked.value);
  return text.length > max ? { text: `${text.slice(0, max - 1)}…`, truncated: true } : { text, truncated: false };
}

/** One listing line for `--json` (NDJSON): everything but the original body, the group id as its label. */
function entryJson(e: DeadLetterEntry, preview: number, label: GroupLabel): Record<string, unknown> {
  const { original: _o, masked: _m, error, ...rest } = e;
  const b = bodyText(e, preview);
  return { ...rest, groupId: e.groupId === null ? null : label(e.groupId), body: b.note ? null : b.text, bodyTruncated: b.truncated, ...(b.note ? { bodyNote: b.note } : {}), ...(error ? { error } : {}) };
}

/** The original body's size in bytes, grouped (`1,234`), or `?` when the dead letter does not say. */
const bodySize = (e: DeadLetterEntry): string => (e.bodyBytes === null ? '?' : formatCount(e.bodyBytes));

/** The text listing's line for a dead letter: no raw body, a masked preview; `revealHint: false` where the queue will be gone (the demo). */
export function listRow(e: DeadLetterEntry, revealHint = true): Record<string, unknown> {
  const b = bodyText(e, PREVIEW_TEXT);
  return {
    id: e.id,
    reason: e.reason ?? '(redrive policy)',
    field: e.field ?? '',
    time: e.time?.replace(/\.\d{3}Z$/, 'Z') ?? '',
    bytes: bodySize(e),
    body: e.encoding === 'raw' ? 'raw' : 'encrypted',
    masked: b.note ? `(${b.note.replace(/ \(it may hold.*$/, revealHint ? `; \`dlq show ${e.id} --reveal\`` : '')})` : b.text,
  };
}
export const LIST_COLUMNS = ['id', 'reason', 'field', 'time', 'bytes', 'body', 'masked'] as const;

/**
 * Reads up to `max` dead letters (of one reason, if given) without consuming them, handing each to `each`,
 * and makes them all visible again at the end (also on SIGINT/SIGTERM). Decrypts with the keyring, masks with
 * the configured mode, PII_CONTEXT and FIELD_MAP.
 */
export async function scanDeadLetters(
  ctx: AppContext,
  dlqUrl: string,
  o: { max: number; reason?: string | undefined },
  each: (e: DeadLetterEntry) => void,
): Promise<{ listed: number; unreadable: number; interrupted?: StopSignal }> {
  const decode = createDeadLetterDecoder(await ctx.keyring());
  const mask = createBodyMasker(await ctx.masker(), parseFieldMap(ctx.config.fieldMap));
  const browser = browseQueue(ctx.sqs(), dlqUrl);
  let listed = 0;
  let unreadable = 0;
  let interrupted: StopSignal | undefined;
  await releasingOnStop(browser, async (signal) => {
    while (listed < o.max && !signal.aborted && !stdoutClosed.aborted) {
      const page = await browser.next();
      if (page.length === 0) break;
      for (const m of page) {
        const e = inspect(m, decode, mask);
        if ((o.reason !== undefined && e.reason !== o.reason) || listed >= o.max) continue;
        listed++;
        if (e.error) {
          unreadable++;
          ctx.log.warn({ messageId: e.id, dlqMessageId: e.dlqMessageId, failure: e.error.failure, repeat: `dlq:unreadable:${e.error.failure}` }, `dead letter cannot be read: ${e.error.message}`);
        }
        each(e);
      }
    }
  }, (signal) => (interrupted = signal));
  return { listed, unreadable, ...(interrupted ? { interrupted } : {}) };
}

function listCommand(dlq: Command): void {
  const cmd = dlq
    .command('list')
    .description(
      'List dead letters without consuming them: id, reason, field, time, body size and the body with ip and device_id as tokens (the configured mask mode, through FIELD_MAP). Bodies that are not JSON are not shown. Messages are received with a visibility timeout and made visible again at the end.',
    )
    .option('--max <n>', `list at most this many (up to ${formatCount(MAX_LIST)})`, positiveInt(MAX_LIST), 100)
    .option('--reason <reason>', 'only dead letters with this reject reason', reasonOption)
    .option('--json', 'one JSON object per dead letter, one per line (NDJSON); the summary goes to stderr');
  addSettingOptions(cmd, [...SOURCE_KEYS, ...DLQ_KEYS]);
  cmd.action(async (opts: { max: number; reason?: string; json?: boolean }) => {
    const ctx = createContext(readingDlq(configFrom(cmd)));
    try {
      await ctx.masker();
      const label = await ctx.groupLabel();
      const { dlqUrl, visible } = await dlqOf(ctx, 'dlq list');
      const rows: Record<string, unknown>[] = [];
      const { listed, unreadable, interrupted } = await scanDeadLetters(ctx, dlqUrl, opts, (e) => {
        if (opts.json) process.stdout.write(`${safeJson(entryJson(e, PREVIEW_JSON, label))}\n`);
        else rows.push(listRow(e));
      });
      flushRepeats();
      const more = listed >= opts.max && visible > listed ? `; about ${formatCount(visible - listed)} more in the queue${opts.reason ? ', of any reason' : ''}: --max to list more` : '';
      const fifo = dlqUrl.endsWith('.fifo') ? ' (on a FIFO queue, only the first messages of each group: SQS gives out the rest once those are gone)' : '';
      const cut = stdoutClosed.aborted ? 'stdout was closed early (e.g. `| head`), so not all of them reached it: ' : '';
      const summary = `${interrupted ? `interrupted by ${interrupted}: ` : ''}${cut}listed ${formatCount(listed)} dead letter${listed === 1 ? '' : 's'} from ${dlqUrl}${more}${fifo}; none consumed${unreadable ? `; ${unreadable} cannot be read (see the log lines above)` : ''}`;
      if (opts.json || stdoutClosed.aborted) {
        process.stderr.write(`${escapeControl(summary)}\n`);
      } else {
        if (rows.length > 0) process.stdout.write(`${formatTable(rows, LIST_COLUMNS)}\n`);
        process.stdout.write(`${summary}\n`);
      }
    } finally {
      await ctx.close();
    }
  });
}

function showCommand(dlq: Command): void {
  const cmd = dlq
    .command('show')
    .description(
      'Show one dead letter: its attributes and its body with ip and device_id as tokens, or with --reveal the original body (raw ip and device_id; audited like reveal). The message stays in the DLQ.',
    )
    .argument('<id>', 'its source message id (as the logs and `dlq list` name it) or its DLQ message id')
    .option('--reveal', 'print the original body, raw ip and device_id included; writes an audit line (log and PII_AUDIT_LOG)')
    .option('--json', 'one JSON object');
  addSettingOptions(cmd, [...SOURCE_KEYS, ...DLQ_KEYS, 'auditLogFile']);
  cmd.action(async (id: string, opts: { reveal?: boolean; json?: boolean }) => {
    const config = configFrom(cmd);
    // Audit lines are written whatever LOG_LEVEL says.
    const ctx = createContext(readingDlq(config), process.env, opts.reveal ? createLogger({ level: 'info' }) : undefined);
    try {
      const decode = createDeadLetterDecoder(await ctx.keyring());
      const mask = createBodyMasker(await ctx.masker(), parseFieldMap(config.fieldMap));
      const { dlqUrl } = await dlqOf(ctx, 'dlq show');
      const browser = browseQueue(ctx.sqs(), dlqUrl);
      let seen = 0;
      const found = await releasingOnStop(browser, async (signal) => {
        while (!signal.aborted) {
          const page = await browser.next();
          if (page.length === 0) return undefined;
          for (const m of page) {
            seen++;
            const e = inspect(m, decode, opts.reveal ? undefined : mask);
            if (matches(e, id)) return e;
          }
        }
        return undefined;
      });
      if (process.exitCode) return;
      if (!found) {
        const fifo = dlqUrl.endsWith('.fifo') ? '; on a FIFO queue only the first messages of each group can be read without consuming them' : '';
        throw new LoginEtlError('ETL_ERR_DLQ_NOT_FOUND', `no dead letter with id ${escapeControl(id)} in ${dlqUrl} (looked at ${formatCount(seen)} messages; give the source message id as the logs name it, or the DLQ message id${fifo})`);
      }
      const record = { action: 'dlq-reveal' as const, messageId: found.id, dlqMessageId: found.dlqMessageId, queue: dlqUrl, rejectReason: found.reason };
      if (found.error) {
        if (opts.reveal) audit(ctx.log, { ...record, outcome: 'refused', reason: found.error.failure }, config.auditLogFile);
        throw new DeadLetterError(found.error.failure, `dead letter ${found.id}: ${found.error.message}; nothing was shown`);
      }
      if (opts.reveal) audit(ctx.log, { ...record, outcome: 'ok' }, config.auditLogFile);
      // --reveal shows what the sender wrote, the group id too; otherwise the group id's label.
      print(found, opts, opts.reveal ? (g) => g : await ctx.groupLabel());
    } finally {
      await ctx.close();
    }
  });
}

function print(e: DeadLetterEntry, opts: { reveal?: boolean; json?: boolean }, label: GroupLabel): void {
  if (opts.json) {
    const { bodyNote, ...base } = entryJson(e, Number.MAX_SAFE_INTEGER, label);
    // Revealed, the body was read: the listing's note on why it is not shown does not apply.
    const body = opts.reveal ? { body: e.original, revealed: true } : { body: e.masked?.ok ? e.masked.value : null, ...(bodyNote ? { bodyNote } : {}) };
    process.stdout.write(`${safeJson({ ...base, ...body, bodyTruncated: false })}\n`);
    return;
  }
  const lines: [string, string | number | null][] = [
    ['id', e.id],
    ['dlq message id', e.dlqMessageId],
    ['reason', e.reason ?? '(none: moved by the queue\'s redrive policy)'],
    ['field', e.field],
    ['time', e.time],
    ['body', `${bodySize(e)} bytes, ${e.encoding === 'raw' ? 'raw in the DLQ' : `encrypted (${e.encoding}, key version ${e.keyVersion ?? '?'})`}`],
    ['group', e.groupId === null ? null : label(e.groupId)],
    ['receive count', e.receiveCount],
  ];
  const head = lines.filter(([, v]) => v !== null && v !== '').map(([k, v]) => `${k.padEnd(16)}${escapeControl(String(v))}`);
  let body: string;
  if (opts.reveal) {
    const original = e.original ?? '';
    // Exactly as received, unless a terminal would act on control characters in it.
    body = `original body (raw ip and device_id; this was audited):\n${process.stdout.isTTY ? escapeControl(original) : original}`;
  } else if (e.masked?.ok) {
    body = `body, ip and device_id as tokens:\n${safeJson(e.masked.value, 2)}`;
  } else {
    body = `body not shown: ${e.masked?.why ?? 'unread'} (it may hold raw ip or device_id); \`login-etl dlq show ${e.id} --reveal\` prints it, audited`;
  }
  process.stdout.write(`${head.join('\n')}\n\n${body}\n`);
}

export function dlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Inspect dead letters without consuming them and without printing raw ip or device_id: `dlq list`, `dlq show ID [--reveal]`.');
  listCommand(dlq);
  showCommand(dlq);
}
