import type { Command } from 'commander';
import { audit } from '../../masking/audit.js';
import { createMasker, RevealError } from '../../masking/masker.js';
import { ConfigError } from '../../config/errors.js';
import { createLogger } from '../../observability/logger.js';
import { pgFailureToError } from '../../sink/errors.js';
import { rekeyTable } from '../../sink/rekey.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom, SINK_KEYS } from '../options.js';

export function rekeyCommand(program: Command): void {
  const cmd = program
    .command('rekey')
    .description('Re-encrypt siv tokens in user_logins from older key versions to the primary. Batched, resumable, safe while the ETL runs.')
    .option('--batch-size <n>', 'rows per transaction', (v) => Math.max(1, Number.parseInt(v, 10) || 1000), 1000);
  addSettingOptions(cmd, [...SINK_KEYS, 'piiKeyFile', 'piiKeyringFile', 'strictKeyFiles', 'auditLogFile', 'logLevel']);
  cmd.action(async (opts: { batchSize: number }) => {
    const ctx = createContext(configFrom(cmd), process.env, createLogger({ level: 'info' }));
    try {
      const keyring = ctx.keyring();
      const masker = createMasker(keyring, 'siv');
      let n: number;
      try {
        n = await rekeyTable(ctx.pool(1), masker, keyring.primary, opts.batchSize, (done) => ctx.log.debug({ done }, 'rekey progress'));
      } catch (err) {
        if (err instanceof RevealError) throw new ConfigError(`rekey stopped: ${err.message}; add the missing key version to the keyring and run it again`);
        throw pgFailureToError(err, ctx.pgTarget);
      }
      audit(ctx.log, { action: 'rekey', tokens: n, outcome: 'ok' }, ctx.config.auditLogFile);
      process.stdout.write(`re-encrypted ${n} rows to key version ${keyring.primary}\n`);
    } finally {
      await ctx.close();
    }
  });
}
