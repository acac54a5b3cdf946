import type { Message } from '../source/queue.js';
import { DeadLetterError, DLQ_ATTR, ENCODING, isEncryptedDeadLetter, type DeadLetterInput, type DecodedDeadLetter, type DecodeFailure } from './codec.js';
import type { MaskedBody } from './display.js';

/** One dead letter as the `dlq` commands show it. Nothing in it is raw PII unless `revealed` is set. */
export interface DeadLetterEntry {
  /** The id operators know it by: the source message id (what the logs name), else the DLQ's own id. */
  id: string;
  dlqMessageId: string;
  sourceMessageId: string | null;
  /** Reject reason; null for a message the queue's own redrive policy moved (no login-etl attributes). */
  reason: string | null;
  field: string | null;
  /** When it was sent to the DLQ (for a message a redrive policy moved: when it was first sent), ISO 8601. */
  time: string | null;
  /** The original body's size in UTF-8 bytes. */
  bodyBytes: number | null;
  /** `aes-256-gcm+brotli`, `aes-256-gcm`, or `raw` (also for dead letters from before the attribute existed). */
  encoding: string;
  keyVersion: number | null;
  /** FIFO queues. */
  groupId: string | null;
  receiveCount: number | null;
  /** Why the body cannot be read (damaged, swapped, wrong key, a key version the keyring lacks). */
  error?: { failure: DecodeFailure; message: string };
  /** The original body (only used for `--reveal` and `redrive`; never printed otherwise). */
  original?: string;
  /** The body with ip and device_id as tokens, or why it is not shown. */
  masked?: MaskedBody;
}

const num = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);

/**
 * Reads what a dead letter says of itself (attributes and, for an encrypted one, its authenticated header)
 * and decodes its body; the masked body is computed only when asked for.
 */
export function inspect(m: Message, decode: (m: DeadLetterInput) => DecodedDeadLetter, mask?: (body: string) => MaskedBody): DeadLetterEntry {
  const a = m.MessageAttributes ?? {};
  const s = m.Attributes ?? {};
  const text = (name: string) => a[name]?.StringValue ?? null;
  const sent = num(s.SentTimestamp);
  const entry: DeadLetterEntry = {
    id: text(DLQ_ATTR.sourceMessageId) ?? m.MessageId,
    dlqMessageId: m.MessageId,
    sourceMessageId: text(DLQ_ATTR.sourceMessageId),
    reason: text(DLQ_ATTR.reason),
    field: text(DLQ_ATTR.field),
    time: sent === null ? null : new Date(sent).toISOString(),
    bodyBytes: num(text(DLQ_ATTR.bodyBytes) ?? undefined) ?? (isEncryptedDeadLetter(m.Body) ? null : Buffer.byteLength(m.Body)),
    encoding: text(DLQ_ATTR.encoding) ?? (isEncryptedDeadLetter(m.Body) ? ENCODING.encrypted : ENCODING.raw),
    keyVersion: num(text(DLQ_ATTR.keyVersion) ?? undefined),
    groupId: s.MessageGroupId ?? null,
    receiveCount: num(s.ApproximateReceiveCount),
  };
  let d: DecodedDeadLetter;
  try {
    d = decode({ body: m.Body, attributes: m.MessageAttributes });
  } catch (err) {
    if (!(err instanceof DeadLetterError)) throw err;
    entry.error = { failure: err.failure, message: err.message };
    return entry;
  }
  // An encrypted body's header is authentic: it wins over (missing) attributes.
  entry.sourceMessageId ??= d.sourceMessageId ?? null;
  entry.reason ??= d.reason ?? null;
  entry.field ??= d.field ?? null;
  entry.keyVersion ??= d.keyVersion ?? null;
  entry.bodyBytes = Buffer.byteLength(d.body);
  entry.original = d.body;
  if (mask) entry.masked = mask(d.body);
  return entry;
}

/** Whether an id given on the command line names this dead letter (its source message id or its DLQ id). */
export const matches = (e: DeadLetterEntry, id: string): boolean => e.dlqMessageId === id || e.sourceMessageId === id;
