import type { Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { LoginEtlError } from '../../errors.js';
import { openKeyring, type KeyringReport } from '../../masking/keyring.js';
import { createMasker } from '../../masking/masker.js';
import { describePgError, targetText } from '../../sink/errors.js';
import { describeTls } from '../../sink/tls.js';
import { checkSchema, LEDGER, TABLE } from '../../sink/schema.js';
import { describeSqsError } from '../../source/errors.js';
import { queueInfo, type QueueInfo } from '../../source/queueInfo.js';
import { checkQueueTypes, createContext, type AppContext } from '../context.js';
import { NO_DEAD_END } from '../consume.js';
import { addSettingOptions, configFrom, PIPELINE_KEYS } from '../options.js';
import { formatTable } from '../output.js';
import { formatCount } from '../../format.js';

interface Check {
  check: string;
  /** `warn`: works, but likely not as meant; only FAIL makes doctor exit 1. */
  result: 'pass' | 'FAIL' | 'warn' | 'skip';
  detail: string;
}

/**
 * The keyring: where it comes from and, for a KMS keyring, one row per version saying whether kms:Decrypt
 * unwrapped it, or why not. Never a key. File-mode warnings show in the detail.
 */
async function keyChecks(ctx: AppContext): Promise<Check[]> {
  const { config: c } = ctx;
  const warnings: string[] = [];
  let report: KeyringReport;
  try {
    report = await openKeyring(c, { warn: (w) => warnings.push(w), env: ctx.env });
  } catch (err) {
    return [{ check: 'masking key', result: 'FAIL', detail: err instanceof Error ? err.message : String(err) }];
  }
  const kms = report.kmsKeyId ? ` (KMS ${report.kmsKeyId})` : '';
  const rows: Check[] = report.kmsKeyId
    ? report.versions.map((v) => ({ check: `key version ${v.version}`, result: v.ok ? 'pass' : 'FAIL', detail: v.detail }))
    : [];
  const failed = report.versions.filter((v) => !v.ok).length;
  if (!report.keyring) {
    return [{ check: 'masking key', result: 'FAIL', detail: `${report.where}${kms}: ${failed} of ${report.versions.length} key versions could not be unwrapped` }, ...rows];
  }
  let writing: number;
  try {
    const masker = createMasker(report.keyring, c.piiMaskMode, { context: c.piiContext });
    masker.mask('ip', '192.0.2.1');
    writing = masker.writeVersion();
  } catch (err) {
    return [{ check: 'masking key', result: 'FAIL', detail: err instanceof Error ? err.message : String(err) }, ...rows];
  }
  // An HMAC cut-over keeps writing an older version for a while: say which one, and until when.
  const cutover = report.keyring.hmacCutover;
  const writes = !cutover || c.piiMaskMode !== 'hmac'
    ? ''
    : writing !== report.primary
      ? ` (writing v${writing} until ${cutover.until.toISOString()}: hmacCutover)`
      : ` (hmacCutover ended ${cutover.until.toISOString()}: it can be removed from the keyring)`;
  const detail = `${report.where}${kms}: ${report.versions.length} key version(s), primary v${report.primary}${writes}, mode ${c.piiMaskMode}${c.piiContext ? `, PII_CONTEXT ${JSON.stringify(c.piiContext)}` : ''}`;
  return [{ check: 'masking key', result: 'pass', detail: `${detail}${warnings.length ? `; warning: ${warnings.join('; ')}` : ''}` }, ...rows];
}

/** The tuning `run` and `drain` would use with this configuration: valid, or the command would have exited 2. */
const tuning = (c: AppContext['config']): Check => ({
  check: 'settings',
  result: 'pass',
  detail: `${c.receivers} receivers, long poll ${c.waitTimeSeconds} s (drain ${c.drainWaitTimeSeconds} s), visibility ${c.visibilityTimeoutSeconds} s, MAX_IN_FLIGHT ${formatCount(c.maxInFlight)}, batches of ${formatCount(c.batchSize)} rows or ${formatCount(c.batchMaxAgeMs)} ms, SINK_CONCURRENCY ${c.sinkConcurrency}, shutdown ${formatCount(c.shutdownTimeoutMs)} ms`,
});

async function runChecks(ctx: AppContext): Promise<Check[]> {
  const { config: c } = ctx;
  const checks: Check[] = [tuning(c)];
  const attempt = async (name: string, fn: () => Promise<string>, describe: (err: unknown) => string) => {
    try {
      checks.push({ check: name, result: 'pass', detail: await fn() });
      return true;
    } catch (err) {
      checks.push({ check: name, result: 'FAIL', detail: describe(err) });
      return false;
    }
  };
  checks.push(...(await keyChecks(ctx)));
  let source: QueueInfo | undefined;
  await attempt('SQS source queue', async () => {
    const d = (source = await queueInfo(ctx.sqs(), c.queueUrl));
    return `${c.queueUrl}: ${d.fifo ? 'FIFO, ' : ''}~${d.visible} visible, ~${d.inFlight} in flight`;
  }, (e) => describeSqsError(e, c.queueUrl));
  if (c.dlqUrl) {
    const dlq = c.dlqUrl;
    const bodies = c.dlqBody === 'raw' ? 'bodies raw (DLQ_BODY=raw: readable ip and device_id)' : 'bodies encrypted (`login-etl dlq list` reads them)';
    await attempt('SQS dead-letter queue', async () => {
      const d = await queueInfo(ctx.dlqSqs(), dlq);
      // A FIFO source needs a FIFO DLQ and the reverse: the same one line as at start-up.
      if (source) checkQueueTypes({ source, dlq: d }, c.queueUrl, dlq);
      return `${dlq}: ${d.fifo ? 'FIFO, ' : ''}~${formatCount(d.visible)} messages, takes up to ${formatCount(d.maxMessageBytes)} bytes each; ${bodies}`;
    }, (e) => (e instanceof ConfigError ? e.message : describeSqsError(e, dlq)));
  } else if (source && !source.redrivePolicy) {
    checks.push({ check: 'SQS dead-letter queue', result: 'warn', detail: NO_DEAD_END });
  } else {
    const policy = source?.redrivePolicy;
    const moved = policy ? ` until its redrive policy moves them (after ${formatCount(policy.maxReceiveCount)} receive${policy.maxReceiveCount === 1 ? '' : 's'}, to ${policy.deadLetterTargetArn})` : '';
    checks.push({ check: 'SQS dead-letter queue', result: 'skip', detail: `SQS_DLQ_URL not set: rejects stay on the source queue${moved}` });
  }
  // A refused DATABASE_URL (a ConfigError from resolving it) has no target to describe: its message says it all.
  const pgMsg = (e: unknown) => (e instanceof LoginEtlError ? e.message : describePgError(e, ctx.pgTarget));
  let observed: { version: string; tls: string | null } | undefined;
  const pgOk = await attempt('PostgreSQL connection', async () => {
    const { rows } = await ctx.pool(1).query<{ v: string; tls: string | null }>(
      `SELECT pg_catalog.current_setting('server_version') AS v,
              (SELECT s.version FROM pg_catalog.pg_stat_ssl s WHERE s.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND s.ssl) AS tls`,
    );
    observed = { version: rows[0]?.v ?? '?', tls: rows[0]?.tls ?? null };
    // The connection's own warnings (a URL file others can read, one ignored) belong in the table too, as the key's do.
    const { warnings } = ctx.pgConnection();
    return `${targetText(ctx.pgTarget)}, PostgreSQL ${observed.version}${warnings.length ? `; warning: ${warnings.join('; ')}` : ''}`;
  }, pgMsg);
  if (!pgOk || !observed) return checks;
  const tls = ctx.pgConnection().tls;
  const tlsVersion = observed.tls;
  await attempt('PostgreSQL TLS', async () => {
    const detail = `${describeTls(tls)}${tlsVersion ? `, ${tlsVersion}` : ''}`;
    // Encrypted but unchecked, or clear text across a network: works, and still a failure of this check.
    if (tls.mode === 'unverified') throw new Error(`${detail}; use sslmode=verify-full with sslrootcert=/path/to/ca.crt`);
    if (tls.mode === 'off' && !tls.local) throw new Error(`${detail}; remove sslmode=disable to use verify-full`);
    if (tls.mode !== 'off' && !tlsVersion) throw new Error(`${detail}, yet the server reports this connection unencrypted`);
    return detail;
  }, (e) => (e instanceof Error ? e.message : String(e)));
  const schemaOk = await attempt('schema', async () => {
    await checkSchema(ctx.pool(1));
    return `${TABLE} and ${LEDGER} have the expected columns`;
  }, pgMsg);
  if (!schemaOk) {
    // Privileges on tables that are missing or not as expected would only repeat the schema's failure.
    checks.push({ check: 'privileges', result: 'skip', detail: 'not checked until the schema check passes' });
    return checks;
  }
  await attempt('privileges', async () => {
    const wanted: [string, string][] = [[TABLE, 'INSERT'], [LEDGER, 'SELECT'], [LEDGER, 'INSERT'], [LEDGER, 'DELETE']];
    const { rows } = await ctx.pool(1).query<{ ok: boolean[] }>(
      `SELECT ARRAY(SELECT pg_catalog.has_table_privilege(pg_catalog.to_regclass(w.t), w.p)
                      FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) WITH ORDINALITY AS w(t, p, i) ORDER BY w.i) AS ok`,
      [wanted.map((w) => w[0]), wanted.map((w) => w[1])],
    );
    const missing = wanted.filter((_, i) => rows[0]?.ok[i] !== true).map(([t, p]) => `${t} ${p}`);
    if (missing.length) throw new Error(`missing: ${missing.join(', ')} (see sql/roles.sql)`);
    return `INSERT on ${TABLE}; SELECT, INSERT, DELETE on ${LEDGER}`;
  }, (e) => (e instanceof Error && e.message.startsWith('missing') ? e.message : pgMsg(e)));
  return checks;
}

export function doctorCommand(program: Command): void {
  const cmd = program
    .command('doctor')
    .description('Check configuration, key, SQS, PostgreSQL, schema and privileges; print a pass/fail table, with the tuning settings in effect (exit 1 on any failure).');
  addSettingOptions(cmd, PIPELINE_KEYS);
  cmd.action(async () => {
    const ctx = createContext(configFrom(cmd));
    try {
      const checks = await runChecks(ctx);
      process.stdout.write(`${formatTable(checks as unknown as Record<string, unknown>[])}\n`);
      if (checks.some((c) => c.result === 'FAIL')) process.exitCode = 1;
    } finally {
      await ctx.close();
    }
  });
}
