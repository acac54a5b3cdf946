import { acceptingDeadLetters, createDeadLetterEncoder } from '../dlq/codec.js';
import { createPipeline, type Pipeline, type Summary } from '../pipeline/pipeline.js';
import type { PipelineEvents } from '../pipeline/events.js';
import { emptySummary } from '../pipeline/state.js';
import { flushRepeats } from '../observability/repeat.js';
import { parseFieldMap } from '../transform/mapping.js';
import { createTransformer } from '../transform/transform.js';
import { pgFailureToError, sqlState } from '../sink/errors.js';
import { preflightConsumer, type AppContext } from './context.js';
import { handleStopSignals, signalExitCode, type StopSignal } from './signals.js';

export interface ConsumeOptions {
  untilEmpty: boolean;
  events?: PipelineEvents;
  /** Called once the pipeline exists, e.g. to start a progress bar or HTTP endpoints. */
  onStart?: (p: Pipeline) => void | Promise<void>;
  /**
   * Called once with the outcome, before consume returns or the process exits (a stop during start-up, a
   * second signal, the shutdown timeout). Must be synchronous: on those paths the process exits right after.
   */
  report?: (o: Outcome) => void;
  /**
   * false: the caller handles SIGINT/SIGTERM itself. The demo does: a Ctrl-C on a terminal also reaches its
   * embedded PostgreSQL (same process group), so there is nothing left to stop gracefully. Default true.
   */
  handleSignals?: boolean;
}

/**
 * How consuming ended:
 * - `drained`: the queue was empty (drain only);
 * - `blocked`: a FIFO drain went as far as it could: what is left sits behind message groups blocked by a
 *   message left on the queue (a reject with no DLQ, or one the DLQ cannot take); see `summary.blockedGroups`;
 * - `signal`: stopped by a signal; what was in hand was committed and deleted before the end;
 * - `signal-during-start-up`: stopped by a signal before anything was received;
 * - `shutdown-timeout`: stopped by a signal, but the flush outlasted SHUTDOWN_TIMEOUT_MS;
 * - `second-signal`: a second signal cut the graceful stop short.
 * After the last two, `unfinished` messages were in hand; they reappear on the queue after their
 * visibility timeout (rows already committed are skipped by the ledger then).
 */
export type Ended = 'drained' | 'blocked' | 'signal' | 'signal-during-start-up' | 'shutdown-timeout' | 'second-signal';

export interface Outcome {
  /** The pipeline's counts; `elapsedMs` is the wall time from the start-up checks to the end. */
  summary: Summary;
  /** Of `elapsedMs`, the time the start-up checks took (key, PostgreSQL, queues) before receiving began. */
  startupMs: number;
  untilEmpty: boolean;
  ended: Ended;
  /** Only `drain` can be complete: it ended because the queue was empty (not `blocked`). */
  complete: boolean;
  /** The signal that stopped it (for `second-signal`, the second one). */
  signal: StopSignal | null;
  /** Messages received but not settled when the process ended early. */
  unfinished: number;
  /** No SQS_DLQ_URL and no redrive policy on the source queue: a reject left there comes back after each visibility timeout. */
  rejectsReturn: boolean;
}

export const NO_DEAD_END =
  'SQS_DLQ_URL is not set and the source queue has no redrive policy: a rejected message stays on it and comes back after each visibility timeout, until the queue\'s retention period ends; set SQS_DLQ_URL, or give the queue a redrive policy';

/** A drain that finished but could not empty the queue: FIFO groups blocked by rejects left on it. */
export const EXIT_INCOMPLETE = 3;

/**
 * 0 for a drained queue and for a `run` stopped gracefully; 3 for a drain stopped by blocked FIFO groups;
 * 130 (SIGINT) / 143 (SIGTERM) for an interrupted drain, and for any stop that was cut short (second signal,
 * shutdown timeout).
 */
export function exitCode(o: Outcome): number {
  if (o.ended === 'blocked') return EXIT_INCOMPLETE;
  if (o.ended === 'drained' || o.signal === null) return 0;
  if (!o.untilEmpty && (o.ended === 'signal' || o.ended === 'signal-during-start-up')) return 0;
  return signalExitCode(o.signal);
}


/**
 * Checks key, Postgres and queue, then runs the pipeline. The first SIGINT/SIGTERM stops it gracefully
 * (during start-up: at once, as nothing was received); a second one, or a flush that outlasts
 * SHUTDOWN_TIMEOUT_MS, exits at once, and unfinished messages reappear on the queue.
 */
export async function consume(ctx: AppContext, o: ConsumeOptions): Promise<Outcome> {
  const { config: c, log } = ctx;
  const t0 = performance.now();
  let startupMs: number | undefined;
  let pipeline: Pipeline | undefined;
  let stoppedBy: StopSignal | null = null;
  let shutdownTimer: NodeJS.Timeout | undefined;
  let rejectsReturn = false;

  const finish = (summary: Summary, ended: Ended, signal: StopSignal | null, unfinished = 0): Outcome => {
    const outcome: Outcome = {
      summary: { ...summary, elapsedMs: Math.round(performance.now() - t0) },
      startupMs: Math.round(startupMs ?? performance.now() - t0),
      untilEmpty: o.untilEmpty,
      ended,
      complete: ended === 'drained',
      signal,
      unfinished,
      rejectsReturn,
    };
    flushRepeats();
    const { summary: s, untilEmpty, complete, ...how } = outcome;
    // drain prints its summary on stdout: the log line would only repeat it (debug keeps it for log pipelines).
    if (untilEmpty) log.debug({ ...s, ...how, complete }, 'drain finished');
    else log.info({ ...s, ...how }, 'stopped');
    o.report?.(outcome);
    return outcome;
  };
  const exitNow = (outcome: Outcome): never => process.exit(exitCode(outcome));

  // Installed before the first await: from here on, a signal never meets the default action.
  const onSignal = (signal: StopSignal, nth: number): void => {
    if (!pipeline) {
      log.info({ signal }, 'stopped during start-up; nothing was received');
      return exitNow(finish(emptySummary(), 'signal-during-start-up', signal));
    }
    const p = pipeline;
    if (stoppedBy !== null) {
      const inFlight = p.stats().inFlight;
      log.warn({ signal, nth, unfinished: inFlight }, 'second signal: exiting now; unfinished messages will reappear on the queue after their visibility timeout');
      return exitNow(finish(p.stats(), 'second-signal', signal, inFlight));
    }
    stoppedBy = signal;
    log.info({ signal, timeoutMs: c.shutdownTimeoutMs }, 'stopping: flushing and acknowledging what is in hand (a second signal exits at once)');
    p.stop();
    shutdownTimer = setTimeout(() => {
      const inFlight = p.stats().inFlight;
      log.warn({ unfinished: inFlight, timeoutMs: c.shutdownTimeoutMs }, 'shutdown timeout reached; unfinished messages will reappear on the queue after their visibility timeout');
      exitNow(finish(p.stats(), 'shutdown-timeout', signal, inFlight));
    }, c.shutdownTimeoutMs);
    shutdownTimer.unref();
  };
  const restoreSignals = o.handleSignals === false ? () => {} : handleStopSignals(onSignal);

  try {
    const masker = await ctx.masker();
    const keyring = await ctx.keyring();
    const transform = acceptingDeadLetters(createTransformer(masker, parseFieldMap(c.fieldMap)), keyring);
    const queues = await preflightConsumer(ctx);
    if (!c.dlqUrl && !queues.source.redrivePolicy) {
      rejectsReturn = true;
      log.warn(NO_DEAD_END);
    }
    if (c.dlqUrl && c.dlqBody === 'raw') {
      log.warn({ dlqBody: 'raw' }, 'DLQ_BODY=raw: rejected messages go to the DLQ with their original body, raw ip and device_id included; whoever can read the DLQ sees them (docs/privacy.md)');
    }
    pipeline = createPipeline({
      sqs: ctx.sqs(),
      pool: ctx.pool(),
      transform,
      log,
      ...(o.events ? { events: o.events } : {}),
      queueUrl: c.queueUrl,
      fifo: queues.source.fifo,
      groupLabel: await ctx.groupLabel(),
      dlqUrl: c.dlqUrl,
      dlqSqs: ctx.dlqSqs(),
      encodeDeadLetter: c.dlqUrl ? createDeadLetterEncoder(keyring, c.dlqBody) : undefined,
      ...(queues.dlq ? { dlqMaxBytes: queues.dlq.maxMessageBytes } : {}),
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
    startupMs = performance.now() - t0;
    await o.onStart?.(pipeline);
    const summary = await pipeline.run().catch((err: unknown) => {
      // A Postgres fault mid-run (a dropped table, a revoked privilege) becomes the same one-liner as at start-up.
      throw sqlState(err) ? pgFailureToError(err, ctx.pgTarget) : err;
    });
    // The pipeline says whether it ended at the end of the queue; anything else was a stop.
    const ended: Ended = !summary.endOfQueue ? 'signal' : summary.blockedGroups.length > 0 ? 'blocked' : 'drained';
    return finish(summary, ended, stoppedBy);
  } finally {
    clearTimeout(shutdownTimer);
    restoreSignals();
  }
}
