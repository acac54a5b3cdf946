import type pg from 'pg';
import type { Logger } from 'pino';
import type { DeadLetterEncoder } from '../dlq/codec.js';
import type { SqsClient } from '../source/client.js';
import { sqsErrorCode } from '../source/errors.js';
import type { Transformer } from '../transform/transform.js';
import { createAcker } from './acker.js';
import { createBatcher } from './batcher.js';
import { createCommitter } from './committer.js';
import { createEndOfQueue } from './endOfQueue.js';
import { createPipelineEvents, type PipelineEvents } from './events.js';
import { createHealth, type DependencyStatus } from './health.js';
import { createIntake } from './intake.js';
import { createLifecycle } from './lifecycle.js';
import { createReceivers } from './receiver.js';
import { createRejects } from './rejects.js';
import { createCounters, type Item, type Summary } from './state.js';
import { createTracker } from './tracker.js';

export type { Summary } from './state.js';

export interface PipelineOptions {
  /** SQS client (src/source/client.ts); the caller owns it. */
  sqs: SqsClient;
  /** Postgres pool with at least `sinkConcurrency` connections; the caller owns it. */
  pool: pg.Pool;
  /** Body → row (or rejection). */
  transform: Transformer;
  log: Logger;
  /** Subscribe here for metrics and progress; one is created if not given. */
  events?: PipelineEvents;
  queueUrl: string;
  dlqUrl?: string | undefined;
  /** Builds each dead letter's body and attributes (src/dlq/codec.ts); default: the original body, unchanged. */
  encodeDeadLetter?: DeadLetterEncoder | undefined;
  receivers: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  /** Hard bound on messages received and not yet deleted or let go. */
  maxInFlight: number;
  batchSize: number;
  batchMaxAgeMs: number;
  sinkConcurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** true: finish once the queue is empty (`drain`); false: run until stop() (`run`). */
  untilEmpty: boolean;
}

/** What /readyz and operators need to know, at any moment. */
export interface PipelineStatus {
  /** `stopping` from stop() (or the end of the queue) until run() settles. */
  state: 'running' | 'stopping' | 'stopped';
  /** PostgreSQL: down while batch writes fail transiently (receiving is paused meanwhile). */
  sink: DependencyStatus;
  /** SQS: down while receives (or deletes) fail, up again after one succeeds. */
  source: DependencyStatus;
  inFlight: number;
  maxInFlight: number;
}

export interface Pipeline {
  readonly events: PipelineEvents;
  /** Runs until drained (untilEmpty), stop(), or a fault the user must fix (rejects with it). */
  run(): Promise<Summary>;
  /** Graceful stop: receive no more (long polls in progress are aborted), flush, commit and delete what is in hand. */
  stop(): void;
  stats(): Summary & { inFlight: number; sinkUp: boolean };
  status(): PipelineStatus;
}

/**
 * Wires the stages; data flows one way:
 *   receivers (receiver.ts: gate, in-flight bound) → intake (intake.ts: MD5, transform)
 *     → batcher (batcher.ts) → committer (committer.ts: write, retry, split) → ack (acker.ts: delete) → released
 *     └→ rejects (rejects.ts: DLQ, or left on the queue) → ack
 * with the tracker (tracker.ts: in flight, heartbeat) beside them, end-of-queue detection for drain
 * (endOfQueue.ts), and the shared lifecycle (lifecycle.ts), counts (state.ts) and health (health.ts).
 */
export function createPipeline(o: PipelineOptions): Pipeline {
  const events = o.events ?? createPipelineEvents();
  const { log } = o;
  const life = createLifecycle();
  const counters = createCounters();
  const sink = createHealth();
  const source = createHealth();
  let finished = false;
  let lastSize = 0;

  const tracker = createTracker({
    sqs: o.sqs,
    queueUrl: o.queueUrl,
    maxInFlight: o.maxInFlight,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    log,
    onSize(n) {
      events.emit('inFlight', n);
      if (n === 0 && lastSize > 0) setImmediate(probeIfIdle);
      lastSize = n;
    },
    onError: (code) => events.emit('failure', 'sqs', code),
  });
  const acker = createAcker({
    sqs: o.sqs,
    queueUrl: o.queueUrl,
    log,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    signal: life.abandon,
    onError: (err) => events.emit('failure', 'sqs', sqsErrorCode(err)),
    onSuccess: () => source.markUp(),
  });
  const ack = async (handles: string[]): Promise<void> => {
    if (handles.length === 0) return;
    const n = await acker(handles);
    counters.s.deleted += n;
    counters.settledNow();
    events.emit('deleted', n);
    tracker.release(handles);
  };

  const inHand = () => tracker.size > 0 || batcher.size > 0 || life.busy > 0;
  const endOfQueue = o.untilEmpty
    ? createEndOfQueue({
        sqs: o.sqs,
        queueUrl: o.queueUrl,
        log,
        events,
        life,
        inHand,
        onDrained() {
          counters.s.endOfQueue = true;
          log.debug('the queue is drained');
          life.stop();
        },
      })
    : undefined;

  const rejects = createRejects({
    sqs: o.sqs,
    dlqUrl: o.dlqUrl,
    log,
    events,
    life,
    counters,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    ack,
    encode: o.encodeDeadLetter,
    leave(msg) {
      endOfQueue?.leftBehind(msg.id);
      tracker.release([msg.handle]);
    },
  });
  const committer = createCommitter({
    pool: o.pool,
    sinkConcurrency: o.sinkConcurrency,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    log,
    events,
    life,
    counters,
    sink,
    reject: rejects.reject,
    ack,
    letGo: (handles) => tracker.release(handles),
  });
  const batcher = createBatcher<Item>({ maxSize: o.batchSize, maxAgeMs: o.batchMaxAgeMs, onBatch: (items) => life.track(committer.commit(items)) });
  const receivers = createReceivers({
    sqs: o.sqs,
    queueUrl: o.queueUrl,
    waitTimeSeconds: o.waitTimeSeconds,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    log,
    events,
    life,
    tracker,
    sink,
    source,
    ...(endOfQueue ? { select: endOfQueue.fresh } : {}),
    onMessages: createIntake({ transform: o.transform, events, counters, batcher, rejects }),
    onEmpty: (wholeQueue) => endOfQueue?.afterEmptyReceive(wholeQueue) ?? Promise.resolve(),
  });
  life.onStop(() => batcher.flush());

  /**
   * On a single-server endpoint a short poll sees the whole queue, so a drain need not wait out a long poll
   * to learn that it is empty: it probes (a short receive, then the end-of-queue check) at the start and
   * whenever nothing is left in hand. On AWS only long polls count (endOfQueue.ts).
   */
  let probing: Promise<unknown> | undefined;
  const canProbe = () => endOfQueue !== undefined && o.sqs.singleServer && !life.stopping && probing === undefined;
  function probe(): Promise<unknown> {
    // Not tracked as work: the end-of-queue check it runs must not count it as something in hand.
    probing = receivers.receiveOnce(0).finally(() => {
      probing = undefined;
    });
    return probing;
  }
  function probeIfIdle(): void {
    if (canProbe() && !inHand()) void probe();
  }

  return {
    events,
    stop: () => life.stop(),
    stats: () => ({ ...counters.snapshot(), inFlight: tracker.size, sinkUp: sink.up }),
    status: () => ({
      state: finished ? 'stopped' : life.stopping ? 'stopping' : 'running',
      sink: sink.status(),
      source: source.status(),
      inFlight: tracker.size,
      maxInFlight: o.maxInFlight,
    }),
    async run() {
      tracker.start();
      try {
        if (canProbe()) await probe();
        await receivers.run(o.receivers);
        await probing;
        // What is still in hand: the open batch, pending dead letters, and the writes and sends they start.
        for (;;) {
          batcher.flush();
          rejects.flush();
          if (life.busy === 0) break;
          await life.settled();
        }
      } finally {
        tracker.stop();
        finished = true;
      }
      if (life.fatal) throw life.fatal;
      return counters.snapshot();
    },
  };
}
