import type { Command } from 'commander';
import { pgFailureToError } from '../../sink/errors.js';
import { initDb } from '../../sink/schema.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom, SINK_KEYS } from '../options.js';

export function initDbCommand(program: Command): void {
  const cmd = program
    .command('init-db')
    .description('Create user_logins if missing, the idempotency ledger and the analyst views. Idempotent.');
  addSettingOptions(cmd, [...SINK_KEYS, 'logLevel']);
  cmd.action(async () => {
    const ctx = createContext(configFrom(cmd));
    try {
      await initDb(ctx.pool(1)).catch((err: unknown) => {
        throw pgFailureToError(err, ctx.pgTarget);
      });
      process.stdout.write(`schema ready on ${ctx.pgTarget.host}:${ctx.pgTarget.port}/${ctx.pgTarget.database}: user_logins, login_etl_ledger, login_etl_shared_ips, login_etl_shared_devices\n`);
    } finally {
      await ctx.close();
    }
  });
}
