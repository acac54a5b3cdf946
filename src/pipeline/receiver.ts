import type { Logger } from 'pino';
import type { SqsClient } from '../source/client.js';
import { classifySqsError, describeSqsError, sqsConfigError, sqsErrorCode, sqsRepeatKey, SqsError } from '../source/errors.js';
import { extendVisibility, receiveMessages, SQS_BATCH_LIMIT, type Message } from '../source/queue.js';
import { backoffMs, sleep } from './backoff.js';
import type { PipelineEvents } from './events.js';
import type { Health } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import type { Tracker } from './tracker.js';

export interface ReceiverOptions {
  sqs: SqsClient;
  queueUrl: string;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  events: PipelineEvents;
  life: Lifecycle;
  /** In-flight bound: room for 10 is reserved before each receive. */
  tracker: Tracker;
  /** Receiving pauses while the sink is down. */
  sink: Health;
  /** SQS's state as the receivers see it: down while receives fail, up after one succeeds. */
  source: Health;
  /** System attributes to receive with each message (default SentTimestamp; FIFO adds MessageGroupId and SequenceNumber). */
  systemAttributes?: readonly string[];
  /** Drops messages that must not be taken again (a drain's rejects left on the queue); default: none. */
  select?: (msgs: Message[]) => Message[];
  /** Messages received (already tracked): into the pipeline. */
  onMessages: (msgs: Message[]) => void;
  /**
   * A receive that brought nothing (after select); `wholeQueue`: it covered every server (see endOfQueue.ts) and
   * was not full, so `select` cannot have hidden other messages behind the ones it dropped.
   */
  onEmpty: (wholeQueue: boolean) => Promise<void>;
  /**
   * `drain` on a single-server endpoint, after an empty receive: resolves true once what is in hand has settled
   * (or soon after, or at the stop), and the loop then short-polls instead of holding a long poll open, which the
   * stop at the end of the queue would have to wait out (up to DRAIN_WAIT_TIME_SECONDS); false when nothing is
   * in hand and the queue is not drained: the loop long-polls, for messages in flight elsewhere to come back.
   */
  settling?: () => Promise<boolean>;
}

export type ReceiveOutcome = 'messages' | 'empty' | 'stopped' | 'failed';

export interface Receivers {
  /** Runs `n` receive loops until the stop; resolves when all have returned. */
  run(n: number): Promise<void>;
  /** One receive of up to 10 with this wait (0: a short poll), through the same gate and error handling. */
  receiveOnce(waitTimeSeconds: number): Promise<ReceiveOutcome>;
}

/**
 * Longest long poll a stop lets finish (drain's polls are 1 s). SQS may still hand messages to a poll whose
 * connection was closed, and they then stay invisible for the visibility timeout; a poll allowed to finish
 * gives back what it brings at once instead.
 */
const FINISH_POLL_MAX_WAIT_S = 2;

/**
 * The source stage: receive loops with the back-pressure gate. Before each receive a loop waits until the
 * sink is up and reserves room for 10 messages under MAX_IN_FLIGHT, so the bound holds however many loops
 * receive at once. A stop lets a short poll (≤ 2 s) finish and makes whatever it brings visible again at once;
 * it aborts a longer one (`run`'s 20 s), and what SQS had already given that poll reappears after the
 * visibility timeout.
 */
export function createReceivers(o: ReceiverOptions): Receivers {
  const { log, events, life, tracker } = o;
  const select = o.select ?? ((m: Message[]) => m);
  const receiveOptions = (waitTimeSeconds: number) => ({
    waitTimeSeconds,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    ...(o.systemAttributes ? { systemAttributes: o.systemAttributes } : {}),
  });

  /** Waits for a running sink and room in flight, and reserves it; false once stopping. */
  async function gate(): Promise<boolean> {
    for (;;) {
      if (life.stopping) return false;
      if (!o.sink.up) {
        await life.untilStopped(o.sink.whenUp());
        continue;
      }
      if (tracker.tryReserve(SQS_BATCH_LIMIT)) return true;
      await life.untilStopped(tracker.whenRoom(SQS_BATCH_LIMIT));
    }
  }

  /**
   * Aborted when the stop begins if the poll in progress is a long one; one per loop, so a receive adds no
   * listener of its own to a shared signal.
   */
  function stopSignal(): { signal: AbortSignal; polling(waitTimeSeconds: number): void; off: () => void } {
    const abort = new AbortController();
    let wait = 0;
    return {
      signal: abort.signal,
      polling: (w) => (wait = w),
      off: life.onStop(() => {
        if (wait > FINISH_POLL_MAX_WAIT_S || life.fatal) abort.abort();
      }),
    };
  }

  /** Makes messages received after the stop began visible again at once, for the next consumer. */
  async function handBack(msgs: Message[]): Promise<void> {
    try {
      await extendVisibility(o.sqs, o.queueUrl, msgs.map((m) => m.ReceiptHandle), 0);
      log.debug({ count: msgs.length }, 'received after the stop began: made visible again');
    } catch (err) {
      log.warn({ err: { code: sqsErrorCode(err) }, count: msgs.length }, 'could not hand back messages received after the stop began; they reappear after the visibility timeout');
    }
  }

  async function receive(waitTimeSeconds: number, stop: ReturnType<typeof stopSignal>, attempt: number): Promise<ReceiveOutcome> {
    if (!(await gate())) return 'stopped';
    let msgs: Message[];
    stop.polling(waitTimeSeconds);
    try {
      msgs = await receiveMessages(o.sqs, o.queueUrl, receiveOptions(waitTimeSeconds), { signal: stop.signal });
    } catch (err) {
      tracker.unreserve(SQS_BATCH_LIMIT);
      if (life.stopping) return 'stopped';
      failed(err, attempt);
      return 'failed';
    }
    if (life.stopping) {
      tracker.unreserve(SQS_BATCH_LIMIT);
      if (msgs.length > 0) await handBack(msgs);
      return 'stopped';
    }
    if (o.source.markUp()) log.info('SQS answers again; receiving resumes');
    const fresh = select(msgs);
    tracker.add(fresh.map((m) => m.ReceiptHandle), SQS_BATCH_LIMIT);
    if (fresh.length > 0) {
      o.onMessages(fresh);
      return 'messages';
    }
    await o.onEmpty((o.sqs.singleServer || waitTimeSeconds >= 1) && msgs.length < SQS_BATCH_LIMIT);
    return 'empty';
  }

  function failed(err: unknown, attempt: number): void {
    const code = sqsErrorCode(err);
    events.emit('failure', 'sqs', code);
    const kind = classifySqsError(err);
    if (kind === 'config') return life.fail(sqsConfigError(err, o.queueUrl));
    if (kind === 'request') return life.fail(err instanceof SqsError ? new Error(describeSqsError(err, o.queueUrl), { cause: err }) : (err as Error));
    o.source.markDown(code, describeSqsError(err, o.queueUrl));
    log.warn({ err: { code, message: (err as Error).message }, attempt, repeat: sqsRepeatKey('ReceiveMessage', err) }, 'ReceiveMessage failed; backing off');
  }

  async function loop(): Promise<void> {
    const stop = stopSignal();
    try {
      // With `settling` (drain, single server), short polls while the queue yields: a long poll at the end of
      // the queue would hold the stop for its whole wait.
      const busyWait = o.settling ? 0 : o.waitTimeSeconds;
      let wait = busyWait;
      for (let attempt = 0; !life.stopping; ) {
        const outcome = await receive(wait, stop, attempt);
        if (outcome === 'stopped') return;
        // On AWS an empty short poll proves nothing (it samples some servers): the next receive long-polls.
        wait = outcome === 'empty' && wait === 0 && !o.sqs.singleServer ? 1 : outcome === 'empty' ? o.waitTimeSeconds : busyWait;
        if (outcome === 'empty' && o.settling && (await o.settling())) wait = 0;
        if (outcome !== 'failed') {
          attempt = 0;
          continue;
        }
        await sleep(backoffMs(attempt++, o.retryBaseMs, o.retryMaxMs), life.stopSignal);
      }
    } finally {
      stop.off();
    }
  }

  return {
    run: async (n) => void (await Promise.all(Array.from({ length: n }, loop))),
    async receiveOnce(waitTimeSeconds) {
      const stop = stopSignal();
      try {
        return await receive(waitTimeSeconds, stop, 0);
      } finally {
        stop.off();
      }
    },
  };
}
