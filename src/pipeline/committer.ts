import type pg from 'pg';
import type { Logger } from 'pino';
import { classifyPgError, pgErrorFields, pgErrorLabel, pgProblem } from '../sink/errors.js';
import { writeSplitting } from '../sink/split.js';
import { writeRows, type LedgerRow } from '../sink/writer.js';
import { rejection, type Rejection } from '../transform/validate.js';
import { backoffMs, sleep } from './backoff.js';
import type { PipelineEvents } from './events.js';
import type { Health } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import type { Counters, Item, Received } from './state.js';
import type { Watch } from './watchdog.js';

export interface CommitterOptions {
  pool: pg.Pool;
  /** Batches written at once. */
  sinkConcurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  events: PipelineEvents;
  life: Lifecycle;
  counters: Counters;
  /** PostgreSQL's state: down while a write fails transiently (receiving pauses), up after a write succeeds. */
  sink: Health;
  /** Rows Postgres refused go here (the reject stage). */
  reject: (msg: Received, r: Rejection) => void;
  /** Committed messages go here (delete from SQS, then stop tracking). */
  ack: (handles: string[]) => Promise<void>;
  /** Messages abandoned on a fatal fault: stop tracking them; they reappear on the queue. */
  letGo: (handles: string[]) => void;
  /** Batch writes in progress are watched, so that one blocked by a lock is reported (watchdog.ts). */
  watch?: Watch;
}

/** Thrown inside the retry loop once a fatal fault elsewhere has abandoned the work. */
const ABANDONED = new Error('abandoned');

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

/** SQS may deliver one message twice in a batch (standard queues): write it once, delete both copies. */
function firstOfEachId(items: readonly Item[]): Item[] {
  const unique = new Map<string, Item>();
  for (const it of items) if (!unique.has(it.id)) unique.set(it.id, it);
  return [...unique.values()];
}

/**
 * The sink stage: writes each batch exactly once (rows and MessageIds in one statement), retrying transient
 * failures with back-off while receiving pauses, isolating rows Postgres refuses; then hands the batch to
 * the ack stage. Any other failure (a dropped table, a revoked privilege) rejects, which stops the pipeline.
 */
export function createCommitter(o: CommitterOptions): { commit(items: Item[]): Promise<void> } {
  const slots = semaphore(o.sinkConcurrency);
  const { log, events, sink } = o;

  o.life.onStop(() => {
    if (!sink.up) log.warn({ code: sink.status().code }, 'stopping while PostgreSQL is unavailable: the batches in hand are retried until the shutdown timeout; what is not written by then reappears on the queue');
  });

  async function writeWithRetry(rows: readonly LedgerRow[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      if (o.life.abandon.aborted) throw ABANDONED;
      const t0 = performance.now();
      try {
        const written = await (o.watch ? o.watch.track('PostgreSQL', 'batch write', writeRows(o.pool, rows)) : writeRows(o.pool, rows));
        events.emit('batch', rows.length, (performance.now() - t0) / 1000);
        if (sink.markUp()) {
          events.emit('sink', 'up');
          log.info(o.life.stopping ? 'PostgreSQL is reachable again; finishing the stop' : 'PostgreSQL is reachable again; receiving resumes');
        }
        return written;
      } catch (err) {
        const label = pgErrorLabel(err);
        const fields = pgErrorFields(err);
        events.emit('failure', 'pg', label);
        if (classifyPgError(err) !== 'transient') throw err;
        const problem = pgProblem(err);
        if (sink.markDown(label, `PostgreSQL unavailable: ${problem}; receiving paused while the batch is retried`)) {
          events.emit('sink', 'down');
          log.warn({ ...fields }, `PostgreSQL is unavailable; receiving paused while the batch is retried: ${problem}`);
        }
        const delay = backoffMs(attempt, o.retryBaseMs, o.retryMaxMs);
        log.warn({ ...fields, attempt, retryInMs: delay, rows: rows.length, repeat: `pg:${label}` }, 'batch write failed; retrying');
        await sleep(delay, o.life.abandon);
      }
    }
  }

  /** Writes a batch, isolating rows Postgres refuses. Resolves undefined if abandoned on a fatal fault. */
  async function persist(items: Item[]): Promise<{ written: number; refused: Item[] } | undefined> {
    const byId = new Map(items.map((it) => [it.id, it]));
    try {
      const r = await writeSplitting(writeWithRetry, items.map((it) => ({ messageId: it.id, row: it.row })), (row, err) =>
        log.warn({ messageId: row.messageId, ...pgErrorFields(err), constraint: (err as { constraint?: string }).constraint, repeat: `pg:${pgErrorLabel(err)}` }, 'row refused by PostgreSQL'),
      );
      return { written: r.written, refused: r.refused.map((row) => byId.get(row.messageId)).filter((it) => it !== undefined) };
    } catch (err) {
      if (err === ABANDONED) return undefined;
      throw err;
    }
  }

  return {
    async commit(items) {
      await slots.acquire();
      let result: Awaited<ReturnType<typeof persist>>;
      try {
        result = await persist(firstOfEachId(items));
      } finally {
        slots.release();
      }
      if (!result) return o.letGo(items.map((i) => i.handle));
      const refused = new Set(result.refused);
      const duplicates = items.length - result.written - refused.size;
      o.counters.s.written += result.written;
      o.counters.s.duplicates += duplicates;
      events.emit('written', result.written);
      events.emit('duplicates', duplicates);
      for (const it of result.refused) o.reject(it, rejection('db_rejected'));
      await o.ack(items.filter((it) => !refused.has(it)).map((it) => it.handle));
    },
  };
}
