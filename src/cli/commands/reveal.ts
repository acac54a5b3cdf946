import { text } from 'node:stream/consumers';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { audit } from '../../masking/audit.js';
import { RevealError } from '../../masking/masker.js';
import type { PiiField } from '../../masking/token.js';
import { createLogger } from '../../observability/logger.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom } from '../options.js';

export function revealCommand(program: Command): void {
  const cmd = program
    .command('reveal')
    .description('Decrypt siv tokens back to the original values, one per line, in order. Audited. Tokens from arguments, else stdin (one per line).')
    .addOption(new Option('--field <field>', 'which column the tokens come from').choices(['ip', 'device_id']).makeOptionMandatory())
    .argument('[tokens...]', 'tokens to reveal');
  addSettingOptions(cmd, ['piiKeyFile', 'piiKeyringFile', 'strictKeyFiles', 'auditLogFile', 'logLevel']);
  cmd.action(async (args: string[], opts: { field: PiiField }) => {
    const config = configFrom(cmd);
    // Audit lines are written whatever LOG_LEVEL says.
    const ctx = createContext(config, process.env, createLogger({ level: 'info' }));
    const tokens = args.length > 0 ? args : (await text(process.stdin)).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (tokens.length === 0) throw new ConfigError('reveal needs tokens, as arguments or one per line on stdin');
    const masker = ctx.masker();
    const out: string[] = [];
    for (const [i, token] of tokens.entries()) {
      try {
        out.push(masker.reveal(opts.field, token));
      } catch (err) {
        if (!(err instanceof RevealError)) throw err;
        audit(ctx.log, { action: 'reveal', field: opts.field, tokens: tokens.length, outcome: 'refused', reason: err.code }, config.auditLogFile);
        throw new ConfigError(`token ${i + 1} of ${tokens.length}: ${err.message}; nothing was revealed`);
      }
    }
    audit(ctx.log, { action: 'reveal', field: opts.field, tokens: tokens.length, outcome: 'ok' }, config.auditLogFile);
    process.stdout.write(`${out.join('\n')}\n`);
  });
}
