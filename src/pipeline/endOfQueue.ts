import type { Logger } from 'pino';
import type { SqsClient } from '../source/client.js';
import { sqsErrorCode } from '../source/errors.js';
import { queueDepth, type Message, type QueueDepth } from '../source/queue.js';
import type { PipelineEvents } from './events.js';
import type { Lifecycle } from './lifecycle.js';

export interface EndOfQueueOptions {
  sqs: SqsClient;
  queueUrl: string;
  log: Logger;
  events: PipelineEvents;
  life: Lifecycle;
  /** Anything received and not yet settled (tracked messages, an open batch, writes, DLQ sends). */
  inHand: () => boolean;
  /** FIFO: how many message groups are blocked by a message this drain left on the queue. */
  blockedGroups?: () => number;
  /** Called once, when the queue is found drained (with the depth that showed it); the pipeline then stops. */
  onDrained: (depth: QueueDepth) => void;
}

/**
 * End-of-queue detection for `drain`. The queue is drained when, in this order:
 * 1. a ReceiveMessage came back with no message we have not already left on the queue (see below), and that
 *    receive covered the whole queue: a long poll (WaitTimeSeconds ≥ 1) on AWS, which queries every server,
 *    or any receive on a single-server endpoint (LocalStack, ElasticMQ, fauxqs), where a short poll sees
 *    every visible message;
 * 2. nothing received is still in hand;
 * 3. the queue's attributes then show no visible and no delayed message, and no more in flight (received by
 *    anyone, not yet deleted) than the rejects this drain left on the queue;
 * 4. and still nothing is in hand.
 * On a FIFO queue a message left on the queue blocks its group: SQS delivers none of the group's later messages
 * while it is there, so they count as visible but no receive can bring them. With such blocked groups, visible
 * messages that an empty whole-queue receive did not bring are taken to be behind them: step 3 then asks only
 * for no delayed message and nothing in flight beyond what this drain left; the drain ends, and reports them.
 * On AWS the attributes are approximate (eventually consistent): a message sent around the moment of the
 * check may be left for the next run. Messages left on the queue as rejects (no DLQ, or refused by it) are
 * remembered by MessageId: when they come back they are not received again, and they do not count as work.
 */
export interface EndOfQueue {
  /** The messages of a receive, less those this drain left on the queue. */
  fresh(msgs: Message[]): Message[];
  /** A message this drain leaves on the queue (a reject): it will come back, and does not count as work. */
  leftBehind(id: string): void;
  /** After a receive that brought nothing fresh; `wholeQueue` as in step 1. One check runs at a time. */
  afterEmptyReceive(wholeQueue: boolean): Promise<void>;
}

/** How often `drain` says it is waiting for messages in flight elsewhere. */
const WAITING_LOG_MS = 5_000;

export function createEndOfQueue(o: EndOfQueueOptions): EndOfQueue {
  const left = new Set<string>();
  let checking: Promise<void> | undefined;
  let waitingSince: number | undefined;
  let lastWaitingLog = 0;

  /** Nothing visible, but messages in flight that are not ours: say so now and then rather than wait in silence. */
  function waitingForOthers(d: QueueDepth): void {
    const others = d.inFlight - left.size;
    if (d.visible > 0 || d.delayed > 0 || others <= 0) {
      waitingSince = undefined;
      return;
    }
    const now = Date.now();
    waitingSince ??= now;
    if (now - lastWaitingLog < WAITING_LOG_MS) return;
    lastWaitingLog = now;
    o.log.info(
      { inFlight: others, seconds: Math.round((now - waitingSince) / 1000) },
      `nothing visible on the queue, but ${others} message${others === 1 ? ' is' : 's are'} in flight (received by another consumer, or by an earlier run and not visible again until their visibility timeout): waiting for them`,
    );
  }

  async function drained(): Promise<QueueDepth | undefined> {
    if (o.inHand()) return undefined;
    try {
      const d = await queueDepth(o.sqs, o.queueUrl);
      const blocked = o.blockedGroups?.() ?? 0;
      const done = !o.inHand() && (d.visible === 0 || blocked > 0) && d.delayed === 0 && d.inFlight <= left.size;
      if (!done) {
        o.log.debug({ ...d, leftOnQueue: left.size, blockedGroups: blocked }, 'empty receive, but the queue is not drained yet');
        if (!o.inHand()) waitingForOthers(d);
      }
      return done ? d : undefined;
    } catch (err) {
      o.events.emit('failure', 'sqs', sqsErrorCode(err));
      return undefined;
    }
  }

  return {
    fresh: (msgs) => (left.size === 0 ? msgs : msgs.filter((m) => !left.has(m.MessageId))),
    leftBehind: (id) => void left.add(id),
    afterEmptyReceive(wholeQueue) {
      if (!wholeQueue || o.life.stopping) return Promise.resolve();
      checking ??= drained()
        .then((depth) => {
          if (depth && !o.life.stopping) o.onDrained(depth);
        })
        .finally(() => {
          checking = undefined;
        });
      return checking;
    },
  };
}
