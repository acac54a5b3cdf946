import type { Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { createPipelineEvents } from '../../pipeline/events.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { describeWaiting } from '../../pipeline/watchdog.js';
import { createMetrics } from '../../observability/metrics.js';
import { cachedCheck, startHttpEndpoints } from '../../observability/server.js';
import { describePgError } from '../../sink/errors.js';
import { pruneLedger } from '../../sink/ledger.js';
import { checkSchema } from '../../sink/schema.js';
import { describeSqsError } from '../../source/errors.js';
import { queueDepth } from '../../source/queue.js';
import { consume } from '../consume.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom, PIPELINE_KEYS } from '../options.js';

/** A port in use or not allowed, an address not on this host: a setting to change, in one line. */
function listenError(err: unknown, port: number, host: string | undefined): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host ?? 'every address'} port ${port}`;
  if (code === 'EADDRINUSE') return new ConfigError(`cannot serve /metrics on ${where}: the port is in use; choose another with METRICS_PORT (--metrics-port), 0 for any free port`, 'METRICS_PORT', { cause: err });
  if (code === 'EACCES') return new ConfigError(`cannot serve /metrics on ${where}: permission denied (ports below 1024 need privileges); choose another with METRICS_PORT (--metrics-port)`, 'METRICS_PORT', { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError(`cannot serve /metrics on ${where}: METRICS_HOST is not an address of this host`, 'METRICS_HOST', { cause: err });
  return err;
}

export function runCommand(program: Command): void {
  const cmd = program
    .command('run')
    .description('Consume the queue continuously; serve /healthz, /readyz and /metrics; stop gracefully on SIGINT/SIGTERM.');
  addSettingOptions(cmd, [...PIPELINE_KEYS, 'waitTimeSeconds', 'metricsPort']);
  cmd.action(async () => {
    const ctx = createContext(configFrom(cmd));
    const { config: c, log } = ctx;
    const events = createPipelineEvents();
    let pipeline: Pipeline | undefined;
    const { registry, queueMessages } = createMetrics(events, { blockedGroups: () => pipeline?.status().blockedGroupCount ?? 0 });
    const refreshDepth = async () => {
      const d = await queueDepth(ctx.sqs(), c.queueUrl);
      queueMessages.set({ state: 'visible' }, d.visible);
      queueMessages.set({ state: 'in_flight' }, d.inFlight);
      queueMessages.set({ state: 'delayed' }, d.delayed);
    };
    // One query and one SQS call per READY_CACHE_MS at most, however many probes and scrapers ask.
    const dependenciesReady = cachedCheck(async () => {
      try {
        await checkSchema(ctx.pool());
      } catch (err) {
        return { ok: false, reason: err instanceof ConfigError ? err.message : describePgError(err, ctx.pgTarget) };
      }
      try {
        await refreshDepth();
      } catch (err) {
        return { ok: false, reason: describeSqsError(err, c.queueUrl) };
      }
      return { ok: true };
    });
    const http = await startHttpEndpoints({
      port: c.metricsPort,
      host: c.metricsHost,
      registry,
      // What the pipeline already knows comes first and is free; then the cached dependency check.
      ready: async () => {
        const st = pipeline?.status();
        if (st && !st.sink.up) return { ok: false, reason: st.sink.reason ?? 'PostgreSQL unavailable; receiving paused' };
        if (st && !st.source.up) return { ok: false, reason: st.source.reason ?? 'SQS unavailable' };
        // A call blocked past the waiting-line interval (a table lock, a frozen endpoint): the same line as the log's.
        const blocked = st?.waiting[0];
        if (blocked) return { ok: false, reason: describeWaiting(blocked) };
        return dependenciesReady();
      },
    }).catch((err: unknown) => {
      throw listenError(err, c.metricsPort, c.metricsHost);
    });
    log.info({ port: http.port }, 'serving /healthz, /readyz and /metrics');
    if (Number(process.versions.node.split('.')[0]) < 22) {
      log.warn({ node: process.versions.node }, 'Node 20 is past end of life and the AWS SDK requires Node >= 22 from January 2027; run on a current LTS (the container ships Node 24)');
    }
    const depthTimer = setInterval(() => void refreshDepth().catch(() => {}), 15_000);
    const prune = () =>
      pruneLedger(ctx.pool(), c.ledgerRetentionDays).then(
        (n) => n > 0 && log.info({ deleted: n, retentionDays: c.ledgerRetentionDays }, 'pruned the ledger'),
        (err: unknown) => log.warn({ err: { message: describePgError(err, ctx.pgTarget) } }, 'ledger prune failed; will retry'),
      );
    const pruneTimer = setInterval(() => void prune(), c.ledgerPruneIntervalMs);
    depthTimer.unref();
    pruneTimer.unref();
    try {
      await consume(ctx, {
        untilEmpty: false,
        events,
        onStart: (p) => {
          pipeline = p;
          void prune();
          void refreshDepth().catch(() => {});
        },
      });
    } finally {
      clearInterval(depthTimer);
      clearInterval(pruneTimer);
      await http.close();
      await ctx.close();
    }
  });
}
