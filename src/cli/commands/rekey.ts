import type { Command } from 'commander';
import { audit } from '../../masking/audit.js';
import { createMasker } from '../../masking/masker.js';
import { createLogger } from '../../observability/logger.js';
import { pgFailureToError } from '../../sink/errors.js';
import { MAX_SKIPPED_ROWS, rekeyTable, type SkippedRow } from '../../sink/rekey.js';
import { LoginEtlError } from '../../errors.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom, positiveInt, SINK_KEYS } from '../options.js';
import { formatCount } from '../../format.js';

const plural = (n: number, noun: string) => `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;

/** `auth_failed 2, unknown_version 1 (v3)`: why rows were skipped, with the versions their tokens name. */
function reasons(skipped: SkippedRow[]): string {
  const by = new Map<string, Set<number>>();
  const count = new Map<string, number>();
  for (const s of skipped) {
    count.set(s.reason, (count.get(s.reason) ?? 0) + 1);
    const vs = by.get(s.reason) ?? new Set<number>();
    if (s.version !== undefined) vs.add(s.version);
    by.set(s.reason, vs);
  }
  return [...count].map(([r, n]) => `${r} ${n}${by.get(r)?.size ? ` (v${[...(by.get(r) ?? [])].sort((a, b) => a - b).join(', v')})` : ''}`).join(', ');
}

export function rekeyCommand(program: Command): void {
  const cmd = program
    .command('rekey')
    .description(
      'Re-encrypt siv tokens in user_logins from older key versions to the primary. Batched, resumable, safe while the ETL runs. ' +
        'Rows whose tokens do not decrypt are left as they are, counted and reported; it then exits 1.',
    )
    .option('--batch-size <n>', 'rows per rekey transaction (1 to 100,000; not BATCH_SIZE)', positiveInt(100_000), 1000);
  addSettingOptions(cmd, [...SINK_KEYS, 'piiKeyFile', 'piiKeyringFile', 'piiContext', 'strictKeyFiles', 'region', 'auditLogFile', 'logLevel']);
  cmd.action(async (opts: { batchSize: number }) => {
    const ctx = createContext(configFrom(cmd), process.env, createLogger({ level: 'info' }));
    try {
      const keyring = await ctx.keyring();
      const masker = createMasker(keyring, 'siv', { context: ctx.config.piiContext });
      let logged = 0;
      const result = await rekeyTable(ctx.pool(1), masker, keyring.primary, opts.batchSize, (moved, skipped) => {
        for (const s of skipped.slice(logged)) ctx.log.warn({ ctid: s.ctid, field: s.field, reason: s.reason, version: s.version, repeat: `rekey:skip:${s.reason}` }, 'rekey: token does not decrypt; row left as it is');
        logged = skipped.length;
        ctx.log.debug({ moved, skipped: skipped.length }, 'rekey progress');
      }).catch((err: unknown) => {
        throw pgFailureToError(err, ctx.pgTarget);
      });
      const { moved, skipped, stopped } = result;
      const rows = new Set(skipped.map((s) => s.ctid)).size;
      audit(ctx.log, { action: 'rekey', tokens: moved, outcome: rows ? 'incomplete' : 'ok', ...(rows ? { skipped: rows } : {}) }, ctx.config.auditLogFile);
      process.stdout.write(`re-encrypted ${plural(moved, 'row')} to key version ${keyring.primary}${rows ? `; skipped ${plural(rows, 'row')} whose tokens do not decrypt (by token: ${reasons(skipped)})` : ''}\n`);
      if (rows) {
        const why = stopped
          ? `stopped after ${MAX_SKIPPED_ROWS} rows that do not decrypt: the keyring (a key version, PII_CONTEXT) is more likely wrong than the rows`
          : `${plural(rows, 'row')} ${rows === 1 ? 'was' : 'were'} skipped because ${rows === 1 ? 'its' : 'their'} tokens do not decrypt (by token: ${reasons(skipped)})`;
        throw new LoginEtlError(
          'ETL_ERR_REKEY_INCOMPLETE',
          `rekey incomplete: ${why}; the log names each row's ctid. Add missing key versions or fix PII_CONTEXT and run it again; keep the old keys until it reports none`,
        );
      }
    } finally {
      await ctx.close();
    }
  });
}
