import type { Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { deleteMessages, receiveMessages } from '../../source/queue.js';
import { sendBodies } from '../../source/send.js';
import { createContext, preflightQueue } from '../context.js';
import { addSettingOptions, configFrom, SOURCE_KEYS } from '../options.js';

export function redriveCommand(program: Command): void {
  const cmd = program
    .command('redrive')
    .description('Move dead-lettered messages back to the source queue (after fixing what rejected them).')
    .option('--max <n>', 'move at most this many', (v) => Math.max(1, Number.parseInt(v, 10) || 1), Number.MAX_SAFE_INTEGER);
  addSettingOptions(cmd, [...SOURCE_KEYS, 'logLevel']);
  cmd.action(async (opts: { max: number }) => {
    const ctx = createContext(configFrom(cmd));
    const { queueUrl, dlqUrl } = ctx.config;
    if (!dlqUrl) throw new ConfigError('redrive needs SQS_DLQ_URL (--dlq-url): the queue to move messages from', 'SQS_DLQ_URL');
    try {
      await preflightQueue(ctx, dlqUrl);
      await preflightQueue(ctx);
      let moved = 0;
      while (moved < opts.max) {
        const msgs = (await receiveMessages(ctx.sqs(), dlqUrl, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 60 })).slice(0, opts.max - moved);
        if (msgs.length === 0) break;
        // Send first, then delete: a crash in between can leave a copy in the DLQ, but never loses a message.
        await sendBodies(ctx.sqs(), queueUrl, msgs.map((m) => m.Body ?? ''));
        const failed = await deleteMessages(ctx.sqs(), dlqUrl, msgs.map((m) => m.ReceiptHandle ?? ''));
        moved += msgs.length - failed.length;
      }
      process.stdout.write(`moved ${moved} messages from ${dlqUrl} to ${queueUrl}\n`);
    } finally {
      await ctx.close();
    }
  });
}
