import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import { acceptingDeadLetters, createDeadLetterEncoder, type DeadLetterEncoder } from '../dlq/codec.js';
import { loadKeyring } from '../masking/keyring.js';
import { createMasker } from '../masking/masker.js';
import { createLogger } from '../observability/logger.js';
import { deadLetterBatches, deadLetterOf, identityEncoder, type Encoded } from '../pipeline/rejects.js';
import { classifyPgError, describePgError, pgErrorFields, type PgTarget } from '../sink/errors.js';
import { resolveConnection } from '../sink/connection.js';
import { createPool } from '../sink/pool.js';
import { writeSplitting } from '../sink/split.js';
import { writeRows, type LedgerRow } from '../sink/writer.js';
import { createSqsClient, type SqsClient } from '../source/client.js';
import { sqsErrorCode } from '../source/errors.js';
import { sendMessages } from '../source/queue.js';
import { isFifoQueueUrl, queueInfo } from '../source/queueInfo.js';
import { sqsMessageBytes, SQS_LEGACY_MAX_BYTES } from '../source/size.js';
import { parseFieldMap } from '../transform/mapping.js';
import { createTransformer, type Transformer } from '../transform/transform.js';
import { rejection, type Rejection } from '../transform/validate.js';
import { FullBatchFailureError } from './errors.js';
import { formatCount } from '../format.js';

export { FullBatchFailureError, LAMBDA_ERROR_CODES } from './errors.js';

export interface LambdaDeps {
  pool: pg.Pool;
  /** Who and where the pool connects, for the one line that says what a failed write means (never the password). */
  pgTarget?: PgTarget;
  transform: Transformer;
  log: Logger;
  /** With a DLQ, rejects are sent there and reported as processed; without, they are reported as failures. */
  sqs?: SqsClient;
  dlqUrl?: string | undefined;
  /** The DLQ's type, MaximumMessageSize and ARN (read at cold start); default: standard, 256 KiB. */
  dlq?: { fifo: boolean; maxMessageBytes: number; arn?: string | undefined } | undefined;
  /** Builds each dead letter's body and attributes, as the service does (src/dlq/codec.ts: encrypted or raw; default: the body unchanged). */
  encodeDeadLetter?: DeadLetterEncoder | undefined;
  /**
   * When every record of a batch failed (the database is down), throw FullBatchFailureError instead of returning
   * them all as failures, as AWS Lambda Powertools does: the invocation then counts as an error, so the
   * function's Errors metric and alarms show the outage. Default true.
   */
  throwOnFullBatchFailure?: boolean;
}

type Parsed = { index: number; record: SQSRecord } & ({ ok: true; row: LedgerRow } | { ok: false; r: Rejection });
interface Reject {
  index: number;
  record: SQSRecord;
  r: Rejection;
}

/** A FIFO event source (the queue's ARN ends in .fifo; its records carry a MessageGroupId). */
const isFifo = (event: SQSEvent): boolean => event.Records.some((r) => r.eventSourceARN?.endsWith('.fifo') || r.attributes.MessageGroupId !== undefined);

/**
 * An SQS event-source-mapping handler (ReportBatchItemFailures) on the same transform and sink as the
 * service: valid rows are written exactly once per MessageId; only the failed messages are retried.
 *
 * Standard queues: every record is handled on its own; the failed ones are reported.
 * FIFO queues, as AWS Lambda Powertools' SqsFifoPartialProcessor: records are processed in order, and at the
 * first one that cannot be processed, it and every record after it are reported as failed (not processed),
 * so Lambda retries them in order and no later message of a group is committed before an earlier one. A
 * reject sent to the DLQ counts as processed; a reject without a DLQ (or one the DLQ cannot take) stops there.
 *
 * When every record failed, it throws FullBatchFailureError (see `throwOnFullBatchFailure`).
 */
export function createHandler(d: LambdaDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const records = event.Records;
    const parsed: Parsed[] = records.map((record, index) => {
      const result = d.transform(record.body, record.attributes.SentTimestamp);
      return result.ok ? { index, record, ok: true, row: { messageId: record.messageId, row: result.row } } : { index, record, ok: false, r: result.rejection };
    });
    for (const p of parsed) if (!p.ok) d.log.warn({ messageId: p.record.messageId, reason: p.r.reason, detail: p.r.detail, repeat: `reject:${p.r.reason}` }, 'message rejected');
    const fifo = isFifo(event);
    if (hasDlq(d) && (d.dlq?.fifo ?? isFifoQueueUrl(d.dlqUrl)) !== fifo) {
      throw new ConfigError(`SQS_DLQ_URL ${d.dlqUrl} is a ${fifo ? 'standard' : 'FIFO'} queue but the event source is ${fifo ? 'a FIFO' : 'a standard'} queue: a dead-letter queue must be of the same type as its source`, 'SQS_DLQ_URL', { code: 'ETL_ERR_SQS_DLQ_TYPE' });
    }
    const dlqArn = d.dlq?.arn;
    if (hasDlq(d) && dlqArn !== undefined && records.some((r) => r.eventSourceARN === dlqArn)) {
      throw new ConfigError(`SQS_DLQ_URL ${d.dlqUrl} is the event source queue itself: each reject would come back and be rejected again, without end; point SQS_DLQ_URL at another queue`, 'SQS_DLQ_URL', { code: 'ETL_ERR_SQS_DLQ_IS_SOURCE' });
    }
    const failed = fifo ? await handleFifo(d, parsed) : await handleStandard(d, parsed);
    if (failed.size === records.length && records.length > 0 && d.throwOnFullBatchFailure !== false) {
      throw new FullBatchFailureError(records.length);
    }
    return { batchItemFailures: records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })) };
  };
}

const hasDlq = (d: LambdaDeps): d is LambdaDeps & { sqs: SqsClient; dlqUrl: string } => d.sqs !== undefined && d.dlqUrl !== undefined;

/** Every record on its own: rows written (a refused row is a reject), rejects dead-lettered or failed. */
async function handleStandard(d: LambdaDeps, parsed: Parsed[]): Promise<Set<string>> {
  const failed = new Set<string>();
  const rows = parsed.filter((p) => p.ok);
  const rejects: Reject[] = parsed.flatMap((p) => (p.ok ? [] : [{ index: p.index, record: p.record, r: p.r }]));
  const written = await write(d, rows);
  if (written.outage && rows.length > 0) {
    // PostgreSQL is down: fail the whole batch (Lambda retries it; rejects are dead-lettered on the retry that
    // finds the database up). Dead-lettering the rejects now would make the batch look partly processed, so
    // a batch holding one malformed message would hide the outage from the function's Errors metric.
    for (const p of parsed) failed.add(p.record.messageId);
    return failed;
  }
  rejects.push(...written.refused.map((p) => ({ index: p.index, record: p.record, r: rejection('db_rejected') })));
  if (!hasDlq(d)) {
    for (const x of rejects) failed.add(x.record.messageId);
    return failed;
  }
  const notSent = await deadLetter(d, rejects, false);
  for (const x of notSent) failed.add(x.record.messageId);
  return failed;
}

/** In order, stopping at the first record that cannot be processed: it and all after it fail. */
async function handleFifo(d: LambdaDeps, parsed: Parsed[]): Promise<Set<string>> {
  let cut = parsed.length;
  // Without a DLQ the first reject cannot be processed.
  if (!hasDlq(d)) cut = parsed.find((p) => !p.ok)?.index ?? cut;
  // Rows first: they are idempotent (the ledger), dead letters are not; a failure below only moves the cut earlier.
  const rows = parsed.filter((p) => p.ok && p.index < cut);
  const written = await write(d, rows);
  // PostgreSQL is down: nothing is processed, so the outage counts as a full batch failure (see handleStandard).
  if (written.outage && rows.length > 0) cut = 0;
  const rejects: Reject[] = [
    ...parsed.flatMap((p) => (!p.ok && p.index < cut ? [{ index: p.index, record: p.record, r: p.r }] : [])),
    ...written.refused.filter((p) => p.index < cut).map((p) => ({ index: p.index, record: p.record, r: rejection('db_rejected') })),
  ].sort((a, b) => a.index - b.index);
  if (!hasDlq(d)) cut = Math.min(cut, rejects[0]?.index ?? cut);
  else {
    const notSent = await deadLetter(d, rejects, true);
    cut = Math.min(cut, notSent[0]?.index ?? cut);
  }
  if (cut < parsed.length) d.log.warn({ messageId: parsed[cut]?.record.messageId, failed: parsed.length - cut }, 'FIFO batch: stopped at the first record that could not be processed; it and the records after it are retried in order');
  return new Set(parsed.slice(cut).map((p) => p.record.messageId));
}

/** Writes the rows, isolating rows Postgres refuses; an outage (any other failure) writes none. */
async function write(d: LambdaDeps, rows: Parsed[]): Promise<{ outage: boolean; refused: Parsed[] }> {
  const byId = new Map(rows.map((p) => [p.record.messageId, p]));
  try {
    const { refused } = await writeSplitting((group) => writeRows(d.pool, group), rows.map((p) => (p as Parsed & { row: LedgerRow }).row));
    return { outage: false, refused: refused.map((r) => byId.get(r.messageId)).filter((p) => p !== undefined).sort((a, b) => a.index - b.index) };
  } catch (err) {
    // The CLI's words for the failure; a configuration fault (a password, a privilege) will not pass by itself.
    const what = d.pgTarget ? `: ${describePgError(err, d.pgTarget)}` : '';
    const retried = classifyPgError(err) === 'config' ? 'the messages will be retried, but this needs a fix, not a retry' : 'the messages will be retried';
    d.log.error({ ...pgErrorFields(err), rows: rows.length }, `batch write failed; ${retried}${what}`);
    return { outage: true, refused: [] };
  }
}

/**
 * Sends rejects to the DLQ in batches built by size (the same rule and encoder as the service); returns those
 * not sent, in order. FIFO: in order, stopping at the first that is not sent (those after it are not sent).
 */
async function deadLetter(d: LambdaDeps & { sqs: SqsClient; dlqUrl: string }, rejects: Reject[], fifo: boolean): Promise<Reject[]> {
  if (rejects.length === 0) return [];
  const maxBytes = d.dlq?.maxMessageBytes ?? SQS_LEGACY_MAX_BYTES;
  const encoded: Encoded[] = await Promise.all(
    rejects.map(async (x) => {
      const p = { msg: { id: x.record.messageId, handle: x.record.receiptHandle, body: x.record.body, ...(fifo ? { group: x.record.attributes.MessageGroupId ?? '' } : {}) }, r: x.r };
      const out = await deadLetterOf(p, d.encodeDeadLetter ?? identityEncoder, fifo);
      return { p, out, bytes: sqsMessageBytes(out) };
    }),
  );
  const byId = new Map(rejects.map((x) => [x.record.messageId, x]));
  const notSent = new Set<Reject>();
  const { batches, tooLarge } = deadLetterBatches(encoded, maxBytes);
  for (const e of tooLarge) {
    d.log.error({ messageId: e.p.msg.id, reason: e.p.r.reason, bytes: e.bytes, maxBytes }, `rejected message too large for the DLQ (${formatCount(e.bytes)} bytes with its attributes; the DLQ takes at most ${formatCount(maxBytes)}): reported as failed, for the queue's redrive policy`);
    notSent.add(byId.get(e.p.msg.id) as Reject);
  }
  const sendOne = async (batch: Encoded[]): Promise<void> => {
    try {
      const failed = await sendMessages(d.sqs, d.dlqUrl, batch.map((e) => e.out));
      for (const f of failed) {
        const e = batch[Number(f.id)];
        if (e) notSent.add(byId.get(e.p.msg.id) as Reject);
      }
      if (failed.length > 0) d.log.error({ count: failed.length, code: failed[0]?.code }, 'the DLQ refused messages; reported as failed');
    } catch (err) {
      d.log.error({ err: { code: sqsErrorCode(err), message: (err as Error).message }, count: batch.length }, 'sending to the DLQ failed; the messages are reported as failed');
      for (const e of batch) notSent.add(byId.get(e.p.msg.id) as Reject);
    }
  };
  if (!fifo) await Promise.all(batches.map(sendOne));
  else {
    for (const batch of batches) {
      // Nothing after the first record that is not dead-lettered may be processed.
      const stop = Math.min(...[...notSent].map((x) => x.index));
      const before = batch.filter((e) => (byId.get(e.p.msg.id)?.index ?? 0) < stop);
      if (before.length === 0) break;
      await sendOne(before);
      if (before.length < batch.length) break;
    }
  }
  return [...notSent].sort((a, b) => a.index - b.index);
}

let cached: Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> | undefined;

/** Configured from the environment, like the CLI; the keyring (KMS-wrapped or not) is loaded here, at cold start. */
async function build(): Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> {
  const config = loadConfig(process.env, {}, { flagsOffered: new Set() });
  const log = createLogger({ level: config.logLevel, pretty: false });
  const keyring = await loadKeyring(config, { warn: (m) => log.warn(m) });
  const connection = resolveConnection(config);
  for (const w of connection.warnings) log.warn(w);
  if (config.dlqUrl && config.dlqBody === 'raw') log.warn({ dlqBody: 'raw' }, 'DLQ_BODY=raw: rejected messages go to the DLQ with their original body, raw ip and device_id included (docs/privacy.md)');
  // Only dead letters go out from here: the client is the DLQ's (its URL names the endpoint and region).
  const sqs = config.dlqUrl ? createSqsClient({ ...config, queueUrl: config.dlqUrl }, process.env, { connections: 4, timeoutMs: config.sqsTimeoutMs, log }) : undefined;
  const dlq = sqs && config.dlqUrl ? await queueInfo(sqs, config.dlqUrl) : undefined;
  return createHandler({
    pool: createPool({ connection, max: 1 }),
    pgTarget: connection.target,
    transform: acceptingDeadLetters(createTransformer(createMasker(keyring, config.piiMaskMode, { context: config.piiContext }), parseFieldMap(config.fieldMap)), keyring),
    log,
    ...(sqs && dlq ? { sqs, dlqUrl: config.dlqUrl, dlq: { fifo: dlq.fifo, maxMessageBytes: dlq.maxMessageBytes, arn: dlq.arn }, encodeDeadLetter: createDeadLetterEncoder(keyring, config.dlqBody) } : {}),
  });
}

/** The Lambda entry point, built once per container. A failed build (KMS throttled) is retried on the next event. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const pending = (cached ??= build());
  let handle: (event: SQSEvent) => Promise<SQSBatchResponse>;
  try {
    handle = await pending;
  } catch (err) {
    if (cached === pending) cached = undefined;
    throw err;
  }
  return handle(event);
};
