import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type pg from 'pg';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import { acceptingDeadLetters, createDeadLetterEncoder, type DeadLetterEncoder } from '../dlq/codec.js';
import { loadKeyring } from '../masking/keyring.js';
import { createMasker } from '../masking/masker.js';
import { createLogger } from '../observability/logger.js';
import { pgErrorFields } from '../sink/errors.js';
import { resolveConnection } from '../sink/connection.js';
import { createPool } from '../sink/pool.js';
import { writeSplitting } from '../sink/split.js';
import { writeRows, type LedgerRow } from '../sink/writer.js';
import { createSqsClient, type SqsClient } from '../source/client.js';
import { chunk, sendMessages } from '../source/queue.js';
import { parseFieldMap } from '../transform/mapping.js';
import { createTransformer, type Transformer } from '../transform/transform.js';
import type { Rejection } from '../transform/validate.js';

export interface LambdaDeps {
  pool: pg.Pool;
  transform: Transformer;
  log: Logger;
  /** With a DLQ, rejects are sent there and reported as processed; without, they are reported as failures. */
  sqs?: SqsClient;
  dlqUrl?: string | undefined;
  /** Builds each dead letter (src/dlq/codec.ts: encrypted or raw); default: the body unchanged. */
  encodeDeadLetter?: DeadLetterEncoder | undefined;
}

/**
 * An SQS event-source-mapping handler (ReportBatchItemFailures) on the same transform and sink as the
 * service: valid rows are written exactly once per MessageId; only the failed messages are retried.
 */
export function createHandler(d: LambdaDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures = new Set<string>();
    const rows: LedgerRow[] = [];
    const rejects: { record: SQSRecord; r: Rejection }[] = [];
    for (const record of event.Records) {
      const result = d.transform(record.body, record.attributes.SentTimestamp);
      if (result.ok) rows.push({ messageId: record.messageId, row: result.row });
      else rejects.push({ record, r: result.rejection });
    }
    for (const { record, r } of rejects) d.log.warn({ messageId: record.messageId, reason: r.reason, detail: r.detail }, 'message rejected');
    await writeIsolating(d, rows, failures);
    await deadLetter(d, rejects, failures);
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** Writes the batch, isolating rows Postgres refuses; on any other failure (an outage), fails them all. */
async function writeIsolating(d: LambdaDeps, rows: LedgerRow[], failures: Set<string>): Promise<void> {
  try {
    const { refused } = await writeSplitting((group) => writeRows(d.pool, group), rows);
    for (const r of refused) failures.add(r.messageId);
  } catch (err) {
    d.log.error({ ...pgErrorFields(err), rows: rows.length }, 'batch write failed; the messages will be retried');
    for (const r of rows) failures.add(r.messageId);
  }
}

async function deadLetter(d: LambdaDeps, rejects: { record: SQSRecord; r: Rejection }[], failures: Set<string>): Promise<void> {
  if (!d.sqs || !d.dlqUrl) {
    for (const { record } of rejects) failures.add(record.messageId);
    return;
  }
  for (const group of chunk(rejects)) {
    try {
      const letters = group.map(({ record, r }) => {
        const attributes = { reason: r.reason, source_message_id: record.messageId };
        return d.encodeDeadLetter?.(record.body, attributes, { sourceMessageId: record.messageId, reason: r.reason, field: r.field }) ?? { body: record.body, attributes };
      });
      const failed = await sendMessages(d.sqs, d.dlqUrl, letters);
      for (const f of failed) failures.add(group[Number(f.id)]?.record.messageId ?? '');
    } catch {
      for (const { record } of group) failures.add(record.messageId);
    }
  }
}

let cached: Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> | undefined;

/** Configured from the environment, like the CLI; the keyring (KMS-wrapped or not) is loaded here, at cold start. */
async function build(): Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> {
  const config = loadConfig(process.env);
  const log = createLogger({ level: config.logLevel, pretty: false });
  const keyring = await loadKeyring(config, { warn: (m) => log.warn(m) });
  const connection = resolveConnection(config);
  for (const w of connection.warnings) log.warn(w);
  if (config.dlqUrl && config.dlqBody === 'raw') log.warn({ dlqBody: 'raw' }, 'DLQ_BODY=raw: rejected messages go to the DLQ with their original body, raw ip and device_id included (docs/privacy.md)');
  return createHandler({
    pool: createPool({ connection, max: 1 }),
    transform: acceptingDeadLetters(createTransformer(createMasker(keyring, config.piiMaskMode, { context: config.piiContext }), parseFieldMap(config.fieldMap)), keyring),
    log,
    ...(config.dlqUrl
      ? { sqs: createSqsClient(config, process.env, { connections: 4, timeoutMs: config.sqsTimeoutMs, log }), dlqUrl: config.dlqUrl, encodeDeadLetter: createDeadLetterEncoder(keyring, config.dlqBody) }
      : {}),
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
