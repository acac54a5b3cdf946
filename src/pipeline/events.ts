import { EventEmitter } from 'node:events';
import type { RejectReason } from '../transform/validate.js';

/**
 * What the pipeline reports as it works. Metrics, progress bars and tests subscribe;
 * the pipeline itself knows nothing about Prometheus.
 */
export interface PipelineEventMap {
  received: [count: number];
  written: [count: number];
  duplicates: [count: number];
  rejected: [reason: RejectReason];
  deleted: [count: number];
  /** Rejected messages sent to the DLQ (and deleted from the source). */
  deadLettered: [count: number];
  /** Age (now − SentTimestamp) of the oldest message in one receive, in seconds: how far behind the consumer is. */
  messageAge: [seconds: number];
  /** A committed batch: its size and how long the commit took. */
  batch: [size: number, seconds: number];
  /** A failed call to a dependency, by SQLSTATE or SQS error name. */
  failure: [component: 'sqs' | 'pg', code: string];
  inFlight: [count: number];
  /** Postgres became unavailable (receiving pauses) or available again. */
  sink: [state: 'up' | 'down'];
}

export type PipelineEvents = EventEmitter<PipelineEventMap>;
export const createPipelineEvents = (): PipelineEvents => new EventEmitter<PipelineEventMap>();
