import { Option, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { createDeadLetterDecoder } from '../../dlq/codec.js';
import { redrive } from '../../dlq/redrive.js';
import { LoginEtlError } from '../../errors.js';
import { formatCount } from '../../format.js';
import { createContext, preflightQueue } from '../context.js';
import { addSettingOptions, configFrom, DLQ_KEYS, positiveInt, SOURCE_KEYS } from '../options.js';
import { handleStopSignals, signalExitCode, type StopSignal } from '../signals.js';
import { reasonOption } from './dlq.js';
import { flushRepeats } from '../../observability/repeat.js';

export function redriveCommand(program: Command): void {
  const cmd = program
    .command('redrive')
    .description(
      'Move dead-lettered messages back to the source queue (after fixing what rejected them): encrypted bodies are decrypted first, FIFO group ids kept. What cannot be decrypted stays in the DLQ, and the command exits 1.',
    )
    .addOption(new Option('--max <n>', 'move at most this many').argParser(positiveInt()).default(Number.MAX_SAFE_INTEGER, 'all'))
    .option('--reason <reason>', 'move only dead letters with this reject reason', reasonOption);
  addSettingOptions(cmd, [...SOURCE_KEYS, ...DLQ_KEYS.filter((k) => k !== 'fieldMap' && k !== 'piiMaskMode')]);
  cmd.action(async (opts: { max: number; reason?: string }) => {
    const ctx = createContext(configFrom(cmd));
    const { queueUrl, dlqUrl } = ctx.config;
    if (!dlqUrl) throw new ConfigError('redrive needs SQS_DLQ_URL (--dlq-url): the queue to move messages from', 'SQS_DLQ_URL');
    const stop = new AbortController();
    let stoppedBy: StopSignal | undefined;
    const restore = handleStopSignals((signal, nth) => {
      if (nth > 1) process.exit(signalExitCode(signal));
      stoppedBy = signal;
      stop.abort();
    });
    try {
      // Raw dead letters need no key: without one, only encrypted bodies are refused (and named).
      const keyring = await ctx.keyring().catch((err: unknown) => {
        if (err instanceof LoginEtlError && err.code === 'ETL_ERR_KEY_MISSING') return undefined;
        throw err;
      });
      const decode = createDeadLetterDecoder(keyring);
      await preflightQueue(ctx, dlqUrl, ctx.dlqSqs());
      await preflightQueue(ctx);
      const r = await redrive({ sqs: ctx.sqs(), dlqSqs: ctx.dlqSqs(), dlqUrl, queueUrl, max: opts.max, reason: opts.reason, decode, log: ctx.log, signal: stop.signal });
      flushRepeats(); // the counts of summarised log lines come before the summary, as in drain
      const copies = r.duplicates === 0 ? '' : `; deleted ${formatCount(r.duplicates)} duplicate ${r.duplicates === 1 ? 'copy' : 'copies'} from the DLQ (a message dead-lettered once per delivery: one copy was moved)`;
      process.stdout.write(`moved ${formatCount(r.moved)} message${r.moved === 1 ? '' : 's'} from ${dlqUrl} to ${queueUrl}${copies}${stoppedBy ? ` (interrupted by ${stoppedBy})` : ''}\n`);
      const left = Object.entries(r.skipped);
      if (stoppedBy) {
        process.exitCode = signalExitCode(stoppedBy);
      } else if (left.length > 0) {
        const n = left.reduce((a, [, c]) => a + c, 0);
        throw new LoginEtlError(
          'ETL_ERR_DLQ_REDRIVE_INCOMPLETE',
          `redrive incomplete: ${n} dead letter${n === 1 ? '' : 's'} stayed in the DLQ (${left.map(([why, c]) => `${why} ${c}`).join(', ')}); the log lines above name them. A body that does not decrypt needs the key version it was written with (keyring) or was altered`,
        );
      }
    } finally {
      restore();
      await ctx.close();
    }
  });
}
