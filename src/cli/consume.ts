import { createPipeline, type Pipeline, type Summary } from '../pipeline/pipeline.js';
import type { PipelineEvents } from '../pipeline/events.js';
import { parseFieldMap } from '../transform/mapping.js';
import { createTransformer } from '../transform/transform.js';
import { pgFailureToError, sqlState } from '../sink/errors.js';
import { preflightConsumer, type AppContext } from './context.js';

export interface ConsumeOptions {
  untilEmpty: boolean;
  events?: PipelineEvents;
  /** Called once the pipeline exists, e.g. to start a progress bar or HTTP endpoints. */
  onStart?: (p: Pipeline) => void | Promise<void>;
}

/**
 * Checks key, Postgres and queue, then runs the pipeline. SIGINT/SIGTERM stop it gracefully; if the
 * flush outlasts SHUTDOWN_TIMEOUT_MS the process exits 0 and unfinished messages reappear on the queue.
 */
export async function consume(ctx: AppContext, o: ConsumeOptions): Promise<Summary> {
  const { config: c, log } = ctx;
  const masker = ctx.masker();
  const transform = createTransformer(masker, parseFieldMap(c.fieldMap));
  await preflightConsumer(ctx);
  const pipeline = createPipeline({
    sqs: ctx.sqs(),
    pool: ctx.pool(),
    transform,
    log,
    ...(o.events ? { events: o.events } : {}),
    queueUrl: c.queueUrl,
    dlqUrl: c.dlqUrl,
    receivers: c.receivers,
    waitTimeSeconds: o.untilEmpty ? c.drainWaitTimeSeconds : c.waitTimeSeconds,
    visibilityTimeoutSeconds: c.visibilityTimeoutSeconds,
    maxInFlight: c.maxInFlight,
    batchSize: c.batchSize,
    batchMaxAgeMs: c.batchMaxAgeMs,
    sinkConcurrency: c.sinkConcurrency,
    retryBaseMs: c.retryBaseMs,
    retryMaxMs: c.retryMaxMs,
    untilEmpty: o.untilEmpty,
  });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting now; unfinished messages will reappear on the queue');
      process.exit(130);
    }
    log.info({ signal: sig, timeoutMs: c.shutdownTimeoutMs }, 'stopping: flushing and acknowledging what is in hand');
    pipeline.stop();
    setTimeout(() => {
      log.warn({ inFlight: pipeline.stats().inFlight }, 'shutdown timeout reached; unfinished messages will reappear on the queue');
      process.exit(0);
    }, c.shutdownTimeoutMs).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await o.onStart?.(pipeline);
    const summary = await pipeline.run().catch((err: unknown) => {
      // A Postgres fault mid-run (a dropped table, a revoked privilege) becomes the same one-liner as at start-up.
      throw sqlState(err) ? pgFailureToError(err, ctx.pgTarget) : err;
    });
    log.info({ ...summary }, o.untilEmpty ? 'drain finished' : 'stopped');
    return summary;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
