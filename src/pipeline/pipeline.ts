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
import { lockWaits } from '../sink/locks.js';
import { chunk, extendVisibility } from '../source/queue.js';
import { createFifoOrder, type FifoOrder, type Sequenced } from './groups.js';
import { createReceivers } from './receiver.js';
import { createRejects } from './rejects.js';
import { createCounters, type BlockedGroup, type Item, type Received, type Summary } from './state.js';
import { createTracker } from './tracker.js';
import { ephemeralGroupLabel, type GroupLabel } from '../masking/groupLabel.js';
import { createWatch, startWatchdog, type Waiting } from './watchdog.js';

export type { Summary } from './state.js';
export type { DeadLetterEncoder } from '../dlq/codec.js';

/** While a call to PostgreSQL or SQS is blocked this long, a waiting line is logged at this interval. */
export const WAIT_LOG_INTERVAL_MS = 5_000;
/** `drain`, single-server endpoint: longest wait for what is in hand to settle before polling again. */
const SETTLE_WAIT_MS = 250;

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
  /** The source is a FIFO queue: per-group order from receive to commit (groups.ts), FIFO dead letters. */
  fifo?: boolean;
  /** How a MessageGroupId is shown in logs, the summary and status (never raw: it may be an ip or device_id); default labels under a random key. */
  groupLabel?: GroupLabel;
  dlqUrl?: string | undefined;
  /** The DLQ's client, when SQS_DLQ_URL is served at another endpoint or region than the source (default: `sqs`). */
  dlqSqs?: SqsClient | undefined;
  /** The DLQ's MaximumMessageSize in bytes (read at start-up; default 256 KiB): caps each dead letter and each batch. */
  dlqMaxBytes?: number;
  /** Builds the body and attributes of each dead letter (default: the original body, unchanged); the size rule applies to its result. */
  encodeDeadLetter?: DeadLetterEncoder | undefined;
  /** Waiting lines: a call blocked this long is logged, then again at this interval (default WAIT_LOG_INTERVAL_MS). */
  waitLogIntervalMs?: number;
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
  /** Calls to PostgreSQL or SQS blocked for at least the waiting-line interval: what, for how long, and why if known. */
  waiting: Waiting[];
  /** FIFO: message groups blocked by a message left on the queue (at most 10 listed; `blockedGroupCount` has them all). */
  blockedGroups: BlockedGroup[];
  blockedGroupCount: number;
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
  const watch = createWatch();
  // Every SQS call is watched, so a frozen endpoint is never silent (a long poll's own wait does not count).
  const watched = (c: SqsClient): SqsClient => ({
    origin: c.origin,
    region: c.region,
    singleServer: c.singleServer,
    destroy: () => c.destroy(),
    call: (action, input, co) => watch.track('SQS', action, c.call(action, input, co), (co?.waitSeconds ?? 0) * 1000),
  });
  const sqs = watched(o.sqs);
  const dlqSqs = o.dlqSqs && o.dlqSqs !== o.sqs ? watched(o.dlqSqs) : sqs;
  let finished = false;
  let lastSize = 0;

  const tracker = createTracker({
    sqs,
    queueUrl: o.queueUrl,
    maxInFlight: o.maxInFlight,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    log,
    onSize(n) {
      events.emit('inFlight', n);
      if (n === 0 && lastSize > 0) {
        wakeSettlers();
        setImmediate(probeIfIdle);
      }
      lastSize = n;
    },
    onError: (code) => events.emit('failure', 'sqs', code),
    // Everything in flight waits to be grouped, and nothing being received, written, sent or deleted will free
    // room: only BATCH_MAX_AGE_MS would (MAX_IN_FLIGHT close to BATCH_SIZE, or dead letters holding the last of it).
    onNoRoom: () => {
      if (tracker.reserved === 0 && tracker.size <= batcher.size + rejects.pending) handOn();
    },
  });
  const acker = createAcker({
    sqs,
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

  /**
   * FIFO: messages that must wait for an earlier message of their group, left on the queue, are made visible
   * again at once (the group stays locked by that message, so they come back after it, in order).
   */
  function handBack(msgs: Sequenced[]): void {
    tracker.release(msgs.map((m) => m.handle));
    counters.s.heldBack += msgs.length;
    counters.settledNow();
    log.info({ count: msgs.length, groupIds: [...new Set(msgs.map((m) => m.group))].slice(0, 10).map(label), repeat: 'fifo:held_back' }, 'messages of a blocked group handed back unprocessed: they follow the message left ahead of them');
    // Latest first: an emulator that puts a returned message at the head of its group then keeps the order.
    const handles = [...msgs].sort((a, b) => b.seq - a.seq).map((m) => m.handle);
    life.track(
      (async () => {
        for (const group of chunk(handles)) {
          await extendVisibility(sqs, o.queueUrl, group, 0).catch((err: unknown) =>
            log.warn({ err: { code: sqsErrorCode(err) }, count: group.length }, 'could not hand back messages of a blocked group; they reappear after their visibility timeout'),
          );
        }
      })(),
    );
  }
  const label = o.groupLabel ?? ephemeralGroupLabel();
  const order: FifoOrder | undefined = o.fifo ? createFifoOrder({ handBack, abandon: life.abandon, ...(o.untilEmpty ? {} : { forgetAfterMs: o.visibilityTimeoutSeconds * 1000 }) }) : undefined;
  /** The blocked groups as they may be shown: each group id as its label. */
  const blocked = (): BlockedGroup[] => (order?.blocked() ?? []).map((b) => ({ ...b, groupId: label(b.groupId) }));

  const inHand = () => tracker.size > 0 || batcher.size > 0 || life.busy > 0;

  /** Receive loops waiting for what is in hand to settle (see ReceiverOptions.settling); woken by the tracker. */
  let settlers: (() => void)[] = [];
  const wakeSettlers = () => {
    const wake = settlers;
    settlers = [];
    for (const w of wake) w();
  };
  life.onStop(wakeSettlers);
  async function settling(): Promise<boolean> {
    if (life.stopping) return false;
    if (!inHand()) {
      // The check after this receive may have seen the last batch still settling: look again before a long poll.
      await endOfQueue?.afterEmptyReceive(true);
      return false;
    }
    await new Promise<void>((resolve) => {
      // A bound, so a slow commit does not keep the loop from noticing messages that come back meanwhile.
      const timer = setTimeout(resolve, SETTLE_WAIT_MS);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      settlers.push(wake);
      // Messages still tracked: woken when the tracker empties. Only background work left (the last deletes):
      // woken when it ends.
      if (tracker.size === 0) void life.settled().then(wake);
    });
    return true;
  }
  const endOfQueue = o.untilEmpty
    ? createEndOfQueue({
        sqs,
        queueUrl: o.queueUrl,
        log,
        events,
        life,
        inHand,
        ...(order ? { blockedGroups: () => order.blocked().length } : {}),
        onDrained(depth) {
          counters.s.endOfQueue = true;
          if (order) {
            counters.s.blockedGroups = blocked();
            if (counters.s.blockedGroups.length > 0) counters.s.blockedMessages = depth.visible;
          }
          log.debug('the queue is drained');
          life.stop();
        },
      })
    : undefined;

  const rejects = createRejects({
    sqs: dlqSqs,
    dlqUrl: o.dlqUrl,
    ...(o.dlqMaxBytes !== undefined ? { dlqMaxBytes: o.dlqMaxBytes } : {}),
    ...(o.encodeDeadLetter ? { encode: o.encodeDeadLetter } : {}),
    fifo: order !== undefined,
    groupLabel: label,
    log,
    events,
    life,
    counters,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    maxAgeMs: o.batchMaxAgeMs,
    ack,
    leave(msg, reason, why) {
      endOfQueue?.leftBehind(msg.id);
      const until = tracker.deadlineOf(msg.handle);
      tracker.release([msg.handle]);
      if (order && msg.group !== undefined) {
        order.left(msg as Sequenced, reason, why, until);
        log.warn(
          { groupId: label(msg.group), messageId: msg.id, reason, why, repeat: 'fifo:blocked' },
          'message group blocked: a message stays on the queue ahead of the group\'s later messages, which SQS holds back until it is gone (SQS_DLQ_URL, or the queue\'s redrive policy, moves it)',
        );
      }
    },
    ...(order
      ? {
          sending: (msg: Received) => order.rejecting(msg as Sequenced),
          deadLettered: (msg: Received) => order.deadLettered(msg as Sequenced),
        }
      : {}),
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
    watch,
  });
  const onBatch = order ? (items: Item[]) => life.track(order.commit(items as (Item & Sequenced)[], committer.commit)) : (items: Item[]) => life.track(committer.commit(items));
  const batcher = createBatcher<Item>({ maxSize: o.batchSize, maxAgeMs: o.batchMaxAgeMs, onBatch });
  /** Hands on what waits to be grouped: the open batch, and the dead letters waiting to share a send. */
  const handOn = () => {
    batcher.flush();
    rejects.flush();
  };
  const receivers = createReceivers({
    sqs,
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
    ...(order ? { systemAttributes: ['SentTimestamp', 'MessageGroupId', 'SequenceNumber'] } : {}),
    onMessages: createIntake({ transform: o.transform, events, counters, batcher, rejects, fifo: order ? { order, handBack } : undefined }),
    onEmpty: (wholeQueue) => {
      if (!endOfQueue) return Promise.resolve();
      // drain: this receive found nothing, so the open batch and dead letters go now, not after BATCH_MAX_AGE_MS.
      handOn();
      return endOfQueue.afterEmptyReceive(wholeQueue);
    },
    ...(endOfQueue && o.sqs.singleServer ? { settling } : {}),
  });
  life.onStop(() => batcher.flush());
  const watchdog = startWatchdog({ watch, log, intervalMs: o.waitLogIntervalMs ?? WAIT_LOG_INTERVAL_MS, explain: () => lockWaits(o.pool) });

  /**
   * On a single-server endpoint a short poll sees the whole queue, so a drain need not wait out a long poll
   * to learn that it is empty: it probes (a short receive, then the end-of-queue check) at the start and
   * whenever nothing is left in hand. On AWS only long polls count (endOfQueue.ts).
   */
  let probing: Promise<unknown> | undefined;
  const canProbe = () => endOfQueue !== undefined && sqs.singleServer && !life.stopping && probing === undefined;
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
    stats: () => ({ ...counters.snapshot(), ...(order && !finished ? { blockedGroups: blocked() } : {}), inFlight: tracker.size, sinkUp: sink.up }),
    status: () => {
      const groups = blocked();
      return {
        state: finished ? 'stopped' : life.stopping ? 'stopping' : 'running',
        sink: sink.status(),
        source: source.status(),
        inFlight: tracker.size,
        maxInFlight: o.maxInFlight,
        waiting: watchdog.current(),
        blockedGroups: groups.slice(0, 10),
        blockedGroupCount: groups.length,
      };
    },
    async run() {
      tracker.start();
      try {
        if (canProbe()) await probe();
        await receivers.run(o.receivers);
        await probing;
        // What is still in hand: the open batch, pending dead letters, and the writes and sends they start.
        for (;;) {
          handOn();
          if (life.busy === 0) break;
          await life.settled();
        }
      } finally {
        tracker.stop();
        watchdog.stop();
        finished = true;
      }
      if (life.fatal) throw life.fatal;
      return counters.snapshot();
    },
  };
}
