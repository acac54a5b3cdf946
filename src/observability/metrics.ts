import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineEvents } from '../pipeline/events.js';

/** Prometheus metrics fed by pipeline events. Labels carry codes and reasons only, never values. */
export function createMetrics(events: PipelineEvents, registry = new Registry()): Registry {
  collectDefaultMetrics({ register: registry, prefix: 'login_etl_' });
  const m = {
    received: new Counter({ name: 'login_etl_messages_received_total', help: 'Messages received from SQS.', registers: [registry] }),
    written: new Counter({ name: 'login_etl_rows_written_total', help: 'Rows inserted into user_logins.', registers: [registry] }),
    duplicates: new Counter({ name: 'login_etl_duplicates_skipped_total', help: 'Redelivered messages skipped by the ledger.', registers: [registry] }),
    deleted: new Counter({ name: 'login_etl_messages_deleted_total', help: 'Messages deleted from SQS after commit.', registers: [registry] }),
    rejected: new Counter({ name: 'login_etl_messages_rejected_total', help: 'Messages rejected, by reason.', labelNames: ['reason'], registers: [registry] }),
    errors: new Counter({ name: 'login_etl_dependency_errors_total', help: 'Failed calls to SQS or Postgres, by component and code.', labelNames: ['component', 'code'], registers: [registry] }),
    batchSize: new Histogram({ name: 'login_etl_batch_size', help: 'Rows per committed batch.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500], registers: [registry] }),
    commit: new Histogram({ name: 'login_etl_commit_seconds', help: 'Postgres batch commit latency.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] }),
    inFlight: new Gauge({ name: 'login_etl_messages_in_flight', help: 'Messages received and not yet deleted.', registers: [registry] }),
    sinkUp: new Gauge({ name: 'login_etl_sink_up', help: '1 while Postgres accepts writes, 0 while receiving is paused.', registers: [registry] }),
  };
  m.sinkUp.set(1);
  events.on('received', (n) => m.received.inc(n));
  events.on('written', (n) => m.written.inc(n));
  events.on('duplicates', (n) => m.duplicates.inc(n));
  events.on('deleted', (n) => m.deleted.inc(n));
  events.on('rejected', (reason) => m.rejected.inc({ reason }));
  events.on('failure', (component, code) => m.errors.inc({ component, code }));
  events.on('batch', (size, seconds) => {
    m.batchSize.observe(size);
    m.commit.observe(seconds);
  });
  events.on('inFlight', (n) => m.inFlight.set(n));
  events.on('sink', (state) => m.sinkUp.set(state === 'up' ? 1 : 0));
  return registry;
}

/** Approximate queue depth, refreshed by whoever polls the queue attributes. */
export function queueDepthGauge(registry: Registry): Gauge<'state'> {
  return new Gauge({ name: 'login_etl_queue_depth', help: 'Approximate messages on the source queue, by state (visible, in_flight, delayed).', labelNames: ['state'], registers: [registry] });
}
