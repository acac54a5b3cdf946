import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from 'pino';
import { classifyPgError, sqlState } from '../sink/errors.js';
import { writeSplitting } from '../sink/split.js';
import { writeRows, type LedgerRow } from '../sink/writer.js';
import { classifySqsError, sqsConfigError } from '../source/errors.js';
import { chunk, queueDepth, receiveMessages, sendDeadLetters, SQS_BATCH_LIMIT } from '../source/queue.js';
import type { LoginRow, Transformer } from '../transform/transform.js';
import { rejection, type RejectReason, type Rejection } from '../transform/validate.js';
import { createAcker } from './acker.js';
import { backoffMs, sleep } from './backoff.js';
import { createPipelineEvents, type PipelineEvents } from './events.js';
import { createTracker } from './tracker.js';

export interface PipelineOptions {
  /** SQS client; the caller owns it. */
  sqs: SQSClient;
  /** Postgres pool with at least `sinkConcurrency` connections; the caller owns it. */
  pool: pg.Pool;
  /** Body → row (or rejection). */
  transform: Transformer;
  log: Logger;
  /** Subscribe here for metrics and progress; one is created if not given. */
  events?: PipelineEvents;
  queueUrl: string;
  dlqUrl?: string | undefined;
  receivers: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  maxInFlight: number;
  batchSize: number;
  batchMaxAgeMs: number;
  sinkConcurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** true: finish once the queue is empty (`drain`); false: run until stop() (`run`). */
  untilEmpty: boolean;
}

export interface Summary {
  received: number;
  written: number;
  duplicates: number;
  rejected: number;
  rejectedByReason: Partial<Record<RejectReason, number>>;
  /** Rejects sent to the DLQ (and deleted from the source). */
  deadLettered: number;
  /** Rejects left on the source queue for its redrive policy (no DLQ configured). */
  leftOnQueue: number;
  deleted: number;
  elapsedMs: number;
  /** From the first message received to the last one settled: the basis for msg/s. */
  activeMs: number;
}

export interface Pipeline {
  readonly events: PipelineEvents;
  /** Runs until drained (untilEmpty), stop(), or a fault the user must fix (rejects with it). */
  run(): Promise<Summary>;
  /** Graceful stop: receive no more, flush, commit and delete what is in hand. */
  stop(): void;
  stats(): Summary & { inFlight: number; sinkUp: boolean };
}

/** What the pipeline keeps of a received message, so the SDK's object can be collected early. */
interface Received {
  id: string;
  handle: string;
  /** Kept for the DLQ, should the message be rejected. */
  body: string;
}

/** A transformed message, ready for the sink. */
interface Item extends Received {
  row: LoginRow;
}

/** A small counting semaphore for concurrent Postgres writes. */
function semaphore(n: number) {
  let free = n;
  const queue: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return;
      }
      await new Promise<void>((r) => queue.push(r));
    },
    release(): void {
      const next = queue.shift();
      if (next) next();
      else free++;
    },
  };
}

export function createPipeline(o: PipelineOptions): Pipeline {
  const events = o.events ?? createPipelineEvents();
  const log = o.log;
  const started = Date.now();
  const s: Summary = { received: 0, written: 0, duplicates: 0, rejected: 0, rejectedByReason: {}, deadLettered: 0, leftOnQueue: 0, deleted: 0, elapsedMs: 0, activeMs: 0 };
  let firstAt: number | undefined;
  let lastAt: number | undefined;

  const stopReceiving = new AbortController();
  const stopWaiters = new Set<() => void>();
  /** Aborted only on a fatal fault: retry loops give up and leave their messages to reappear. */
  const abandon = new AbortController();
  let stopping = false;
  let fatal: Error | undefined;
  let sinkUp = true;
  let sinkUpWaiters: (() => void)[] = [];
  const leftRejected = new Set<string>();
  const work = new Set<Promise<unknown>>();
  const slots = semaphore(o.sinkConcurrency);
  let batch: Item[] = [];
  let batchTimer: NodeJS.Timeout | undefined;
  let pendingDlq: { msg: Received; r: Rejection }[] = [];
  let drainCheck: Promise<void> | undefined;

  const tracker = createTracker({
    sqs: o.sqs,
    queueUrl: o.queueUrl,
    visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
    log,
    onSize: (n) => events.emit('inFlight', n),
    onError: (code) => events.emit('failure', 'sqs', code),
  });
  const ack = createAcker({
    sqs: o.sqs,
    queueUrl: o.queueUrl,
    log,
    retryBaseMs: o.retryBaseMs,
    retryMaxMs: o.retryMaxMs,
    signal: abandon.signal,
    onError: (code) => events.emit('failure', 'sqs', code),
  });

  const track = <T>(p: Promise<T>): void => {
    const q = p.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err)))).finally(() => work.delete(q));
    work.add(q);
  };

  function fail(err: Error): void {
    fatal ??= err;
    beginStop();
    abandon.abort();
  }

  function beginStop(): void {
    if (stopping) return;
    stopping = true;
    stopReceiving.abort();
    for (const w of stopWaiters) w();
    stopWaiters.clear();
    setSink(true);
    flushBatch();
  }

  function setSink(up: boolean): void {
    if (up === sinkUp) return;
    sinkUp = up;
    events.emit('sink', up ? 'up' : 'down');
    if (up) {
      for (const w of sinkUpWaiters) w();
      sinkUpWaiters = [];
      log.info('PostgreSQL is reachable again; receiving resumes');
    } else {
      log.warn('PostgreSQL is unavailable; receiving paused while the batch is retried');
    }
  }

  /** Settles as `p` does, or with undefined as soon as the pipeline stops; leaves nothing subscribed either way. */
  function untilStopped<T>(p: Promise<T>): Promise<T | undefined> {
    if (stopping) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve, reject) => {
      const onStop = () => resolve(undefined);
      stopWaiters.add(onStop);
      p.then(resolve, reject).finally(() => stopWaiters.delete(onStop));
    });
  }

  /** Waits until there is room in flight and the sink is up (backpressure). */
  async function gate(): Promise<void> {
    while (!stopping && (!sinkUp || tracker.size + SQS_BATCH_LIMIT > o.maxInFlight)) {
      await untilStopped(sinkUp ? tracker.whenBelow(o.maxInFlight - SQS_BATCH_LIMIT + 1) : new Promise<void>((r) => sinkUpWaiters.push(r)));
    }
  }

  async function receiverLoop(): Promise<void> {
    for (let attempt = 0; !stopping; ) {
      await gate();
      if (stopping) return;
      let msgs: Message[] | undefined;
      try {
        // A stop does not wait out a long poll: the call is left behind, and anything it brings reappears
        // after the visibility timeout, as with an aborted call.
        msgs = await untilStopped(receiveMessages(o.sqs, o.queueUrl, { waitTimeSeconds: o.waitTimeSeconds, visibilityTimeoutSeconds: o.visibilityTimeoutSeconds }));
        if (msgs === undefined) return;
        attempt = 0;
      } catch (err) {
        if (stopping) return;
        events.emit('failure', 'sqs', (err as Error).name);
        if (classifySqsError(err) === 'config') return fail(sqsConfigError(err, o.queueUrl));
        log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, attempt }, 'ReceiveMessage failed; backing off');
        await sleep(backoffMs(attempt++, o.retryBaseMs, o.retryMaxMs), stopReceiving.signal);
        continue;
      }
      const fresh = o.untilEmpty && leftRejected.size > 0 ? msgs.filter((m) => !leftRejected.has(m.MessageId ?? '')) : msgs;
      if (fresh.length > 0) accept(fresh);
      else if (o.untilEmpty) await checkDrained();
    }
  }

  /** Takes received messages into the pipeline: tracked until deleted, transformed, batched. */
  function accept(msgs: readonly Message[]): void {
    const received = msgs.map((m) => ({
      msg: { id: m.MessageId ?? '', handle: m.ReceiptHandle ?? '', body: m.Body ?? '' } satisfies Received,
      sentTimestamp: m.Attributes?.SentTimestamp,
    }));
    tracker.add(received.map(({ msg }) => msg.handle));
    const now = Date.now();
    firstAt ??= now;
    s.received += msgs.length;
    events.emit('received', msgs.length);
    let oldest = now;
    for (const r of received) if (r.sentTimestamp !== undefined) oldest = Math.min(oldest, Number(r.sentTimestamp) || now);
    events.emit('messageAge', (now - oldest) / 1000);
    for (const { msg, sentTimestamp } of received) {
      const result = o.transform(msg.body, sentTimestamp);
      if (!result.ok) {
        reject(msg, result.rejection);
        continue;
      }
      batch.push({ ...msg, row: result.row });
      if (batch.length >= o.batchSize) flushBatch();
    }
    if (batch.length > 0) batchTimer ??= setTimeout(flushBatch, o.batchMaxAgeMs);
  }

  function flushBatch(): void {
    if (batchTimer) clearTimeout(batchTimer);
    batchTimer = undefined;
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    track(commit(items));
  }

  /** Writes a batch exactly once, then deletes it from the queue. */
  async function commit(items: Item[]): Promise<void> {
    const unique = new Map<string, Item>();
    for (const it of items) if (!unique.has(it.id)) unique.set(it.id, it);
    await slots.acquire();
    let result: { written: number; bad: Item[] } | undefined;
    try {
      result = await persist([...unique.values()]);
    } finally {
      slots.release();
    }
    if (!result) {
      tracker.release(items.map((i) => i.handle));
      return;
    }
    const bad = new Set(result.bad);
    s.written += result.written;
    s.duplicates += items.length - result.written - bad.size;
    events.emit('written', result.written);
    events.emit('duplicates', items.length - result.written - bad.size);
    for (const it of result.bad) reject(it, rejection('db_rejected'));
    await deleteAndRelease(items.filter((it) => !bad.has(it)).map((it) => it.handle));
  }

  /** Thrown by writeWithRetry once a fatal fault elsewhere has abandoned the work. */
  const ABANDONED = new Error('abandoned');

  /** One write, retried on transient failures with back-off (receiving pauses meanwhile); other failures throw. */
  async function writeWithRetry(rows: readonly LedgerRow[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      if (abandon.signal.aborted) throw ABANDONED;
      const t0 = performance.now();
      try {
        const written = await writeRows(o.pool, rows);
        events.emit('batch', rows.length, (performance.now() - t0) / 1000);
        setSink(true);
        return written;
      } catch (err) {
        const code = sqlState(err) ?? (err as { code?: string }).code ?? (err as Error).name;
        events.emit('failure', 'pg', code);
        if (classifyPgError(err) !== 'transient') throw err;
        setSink(false);
        const delay = backoffMs(attempt, o.retryBaseMs, o.retryMaxMs);
        log.warn({ sqlstate: code, attempt, retryInMs: delay, rows: rows.length }, 'batch write failed; retrying');
        await sleep(delay, abandon.signal);
      }
    }
  }

  /** Writes a batch, isolating rows Postgres refuses. Resolves undefined if abandoned on a fatal fault. */
  async function persist(items: Item[]): Promise<{ written: number; bad: Item[] } | undefined> {
    const byId = new Map(items.map((it) => [it.id, it]));
    try {
      const r = await writeSplitting(writeWithRetry, items.map((it) => ({ messageId: it.id, row: it.row })), (row, err) =>
        log.warn({ messageId: row.messageId, sqlstate: sqlState(err), constraint: (err as { constraint?: string }).constraint }, 'row refused by PostgreSQL'),
      );
      return { written: r.written, bad: r.refused.map((row) => byId.get(row.messageId)).filter((it) => it !== undefined) };
    } catch (err) {
      if (err === ABANDONED) return undefined;
      throw err;
    }
  }

  async function deleteAndRelease(handles: string[]): Promise<void> {
    if (handles.length === 0) return;
    const n = await ack(handles);
    s.deleted += n;
    lastAt = Date.now();
    events.emit('deleted', n);
    tracker.release(handles);
  }

  function reject(msg: Received, r: Rejection): void {
    s.rejected++;
    s.rejectedByReason[r.reason] = (s.rejectedByReason[r.reason] ?? 0) + 1;
    events.emit('rejected', r.reason);
    log.warn({ messageId: msg.id, reason: r.reason, detail: r.detail }, 'message rejected');
    if (!o.dlqUrl) {
      s.leftOnQueue++;
      lastAt = Date.now();
      // Only a drain needs to recognise them when they come back, to know the queue holds nothing else.
      if (o.untilEmpty) leftRejected.add(msg.id);
      tracker.release([msg.handle]);
      return;
    }
    pendingDlq.push({ msg, r });
    if (pendingDlq.length === 1) setImmediate(() => track(flushDlq()));
  }

  /** Sends pending rejects to the DLQ (retrying transient failures), then deletes them from the source. */
  async function flushDlq(): Promise<void> {
    const all = pendingDlq;
    pendingDlq = [];
    await Promise.all(
      chunk(all).map(async (group) => {
        let pending = group;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (abandon.signal.aborted) return tracker.release(pending.map((p) => p.msg.handle));
          try {
            const failed = await sendDeadLetters(o.sqs, o.dlqUrl ?? '', pending.map(({ msg, r }) => ({ body: msg.body, reason: r.reason, sourceMessageId: msg.id })));
            const failedIdx = new Set(failed.map((f) => Number(f.id)));
            const sent = pending.filter((_, i) => !failedIdx.has(i));
            s.deadLettered += sent.length;
            events.emit('deadLettered', sent.length);
            await deleteAndRelease(sent.map((p) => p.msg.handle));
            pending = pending.filter((_, i) => failedIdx.has(i));
          } catch (err) {
            events.emit('failure', 'sqs', (err as Error).name);
            if (classifySqsError(err) === 'config') throw sqsConfigError(err, o.dlqUrl ?? '');
            log.warn({ err: { name: (err as Error).name }, attempt }, 'sending to the DLQ failed; retrying');
          }
          if (pending.length > 0) await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), abandon.signal);
        }
      }),
    );
  }

  /** Drain ends when nothing is in hand and the queue holds nothing but the rejects we left on it. */
  async function queueIsDrained(): Promise<boolean> {
    if (tracker.size > 0 || batch.length > 0 || work.size > 0) return false;
    try {
      const d = await queueDepth(o.sqs, o.queueUrl);
      return tracker.size === 0 && work.size === 0 && d.visible === 0 && d.delayed === 0 && d.inFlight <= leftRejected.size;
    } catch (err) {
      events.emit('failure', 'sqs', (err as Error).name);
      return false;
    }
  }

  /** One check at a time, however many receivers come up empty together. */
  function checkDrained(): Promise<void> {
    drainCheck ??= queueIsDrained()
      .then((drained) => {
        if (drained) beginStop();
      })
      .finally(() => {
        drainCheck = undefined;
      });
    return drainCheck;
  }

  const snapshot = (): Summary => ({
    ...s,
    rejectedByReason: { ...s.rejectedByReason },
    elapsedMs: Date.now() - started,
    activeMs: firstAt !== undefined && lastAt !== undefined ? lastAt - firstAt : 0,
  });

  return {
    events,
    stop: beginStop,
    stats: () => ({ ...snapshot(), inFlight: tracker.size, sinkUp }),
    async run() {
      tracker.start();
      try {
        await Promise.all(Array.from({ length: o.receivers }, () => receiverLoop()));
        flushBatch();
        if (pendingDlq.length > 0) track(flushDlq());
        while (work.size > 0) await Promise.all([...work]);
      } finally {
        tracker.stop();
      }
      if (fatal) throw fatal;
      return snapshot();
    },
  };
}
