import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineEvents } from '../pipeline/events.js';
import { REJECT_REASONS } from '../transform/validate.js';

/**
 * prom-client's gauges that end in `_total`, which Prometheus reserves for counters (`promtool check metrics`
 * refuses them). Their per-type twins without the suffix carry the same numbers: `sum(nodejs_active_handles)`.
 */
const NON_COUNTERS_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** How long the oldest-message-age gauge remembers a receive: between half of this and all of it. */
export const MESSAGE_AGE_WINDOW_MS = 60_000;

export interface Metrics {
  registry: Registry;
  /** Approximate messages on the source queue, by state; set by whoever polls the queue attributes. */
  queueMessages: Gauge<'state'>;
}

const packageVersion = (): string => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
};

/**
 * Prometheus metrics fed by pipeline events. Labels carry codes and reasons only, never values.
 * Process and Node.js metrics keep their standard names (`process_cpu_seconds_total`), as stock dashboards expect.
 */
export function createMetrics(events: PipelineEvents, o: { registry?: Registry; now?: () => number; blockedGroups?: () => number } = {}): Metrics {
  const registry = o.registry ?? new Registry();
  const now = o.now ?? Date.now;
  collectDefaultMetrics({ register: registry });
  for (const name of NON_COUNTERS_NAMED_TOTAL) registry.removeSingleMetric(name);
  const registers = [registry];
  const oldestAge = slidingMax(MESSAGE_AGE_WINDOW_MS, now);
  const m = {
    build: new Gauge({ name: 'login_etl_build_info', help: 'Always 1; the version of login-etl in a label.', labelNames: ['version'], registers }),
    received: new Counter({ name: 'login_etl_messages_received_total', help: 'Messages received from SQS.', registers }),
    written: new Counter({ name: 'login_etl_rows_written_total', help: 'Rows inserted into user_logins.', registers }),
    duplicates: new Counter({ name: 'login_etl_duplicates_skipped_total', help: 'Redelivered messages skipped by the ledger.', registers }),
    deleted: new Counter({ name: 'login_etl_messages_deleted_total', help: 'Messages deleted from SQS: committed, skipped as duplicates, or dead-lettered.', registers }),
    rejected: new Counter({ name: 'login_etl_messages_rejected_total', help: 'Messages rejected, by reason.', labelNames: ['reason'], registers }),
    deadLettered: new Counter({ name: 'login_etl_messages_dead_lettered_total', help: 'Rejected messages sent to the dead-letter queue.', registers }),
    errors: new Counter({ name: 'login_etl_dependency_errors_total', help: 'Failed calls to SQS or Postgres, by component and code.', labelNames: ['component', 'code'], registers }),
    batchRows: new Histogram({ name: 'login_etl_batch_rows', help: 'Rows per committed batch.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500], registers }),
    commit: new Histogram({ name: 'login_etl_commit_seconds', help: 'Postgres batch commit latency.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    inFlight: new Gauge({ name: 'login_etl_messages_in_flight', help: 'Messages received and not yet deleted.', registers }),
    sinkUp: new Gauge({ name: 'login_etl_sink_up', help: '1 while Postgres accepts writes, 0 while receiving is paused.', registers }),
  };
  new Gauge({
    name: 'login_etl_oldest_message_age_seconds',
    help: `Age (now - SentTimestamp) of the oldest message received in the last ${MESSAGE_AGE_WINDOW_MS / 2000}-${MESSAGE_AGE_WINDOW_MS / 1000} s; 0 when none was received.`,
    registers,
    collect() {
      this.set(oldestAge.value());
    },
  });
  const blockedGroups = o.blockedGroups ?? (() => 0);
  new Gauge({
    name: 'login_etl_fifo_blocked_groups',
    help: 'FIFO: message groups held back by a message left on the queue (a reject with no DLQ, or one too large for it).',
    registers,
    collect() {
      this.set(blockedGroups());
    },
  });
  const queueMessages = new Gauge({ name: 'login_etl_queue_messages', help: 'Approximate messages on the source queue, by state (visible, in_flight, delayed).', labelNames: ['state'], registers });

  m.build.set({ version: packageVersion() }, 1);
  // Every series a rate or an alert reads exists from the first scrape, at zero.
  for (const reason of REJECT_REASONS) m.rejected.inc({ reason }, 0);
  m.sinkUp.set(1);
  m.inFlight.set(0);

  events.on('received', (n) => m.received.inc(n));
  events.on('written', (n) => m.written.inc(n));
  events.on('duplicates', (n) => m.duplicates.inc(n));
  events.on('deleted', (n) => m.deleted.inc(n));
  events.on('rejected', (reason) => m.rejected.inc({ reason }));
  events.on('deadLettered', (n) => m.deadLettered.inc(n));
  events.on('messageAge', (seconds) => oldestAge.observe(seconds));
  events.on('failure', (component, code) => m.errors.inc({ component, code }));
  events.on('batch', (size, seconds) => {
    m.batchRows.observe(size);
    m.commit.observe(seconds);
  });
  events.on('inFlight', (n) => m.inFlight.set(n));
  events.on('sink', (state) => m.sinkUp.set(state === 'up' ? 1 : 0));
  return { registry, queueMessages };
}

/**
 * The largest value observed recently, in O(1): two buckets of half a window each, the older dropped as time
 * moves on, so an observation counts for at least `windowMs / 2` and at most `windowMs`.
 */
export function slidingMax(windowMs: number, now: () => number = Date.now): { observe(v: number): void; value(): number } {
  const half = windowMs / 2;
  let slot = Math.floor(now() / half);
  let current = 0;
  let previous = 0;
  const roll = () => {
    const s = Math.floor(now() / half);
    if (s === slot) return;
    previous = s === slot + 1 ? current : 0;
    current = 0;
    slot = s;
  };
  return {
    observe(v) {
      roll();
      if (v > current) current = v;
    },
    value() {
      roll();
      return Math.max(current, previous);
    },
  };
}
