import * as crypto from 'node:crypto';
import type { CallOptions, SqsClient } from './client.js';

/** SQS's own per-call limit for receive, delete, visibility and send batches. */
export const SQS_BATCH_LIMIT = 10;

/** A message attribute as SQS's JSON protocol carries it (BinaryValue in base64). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** A received message, in SQS's JSON shape. */
export interface Message {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody?: string;
  /** System attributes asked for (SentTimestamp, MessageGroupId, …). */
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, MessageAttributeValue>;
  /** False when Body does not hash to MD5OfBody: corrupted between SQS and us. Never write such a body. */
  intact: boolean;
}

export interface ReceiveOptions {
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  /** 1–10 (default 10). */
  maxMessages?: number;
  /** System attributes to return (default SentTimestamp). */
  systemAttributes?: readonly string[];
  /** Message attributes to return (default none). */
  messageAttributes?: readonly string[];
}

/** Hex MD5 of a string's UTF-8 bytes, as SQS computes MD5OfBody (one-shot crypto.hash where Node has it, from 21.7). */
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const md5 = oneShot ? (s: string) => oneShot('md5', s) : (s: string) => crypto.createHash('md5').update(s, 'utf8').digest('hex');

/** Receives up to 10 messages, checking each body against MD5OfBody as the AWS SDK does. A stop can abort the long poll (`co.signal`). */
export async function receiveMessages(sqs: SqsClient, queueUrl: string, o: ReceiveOptions, co: CallOptions = {}): Promise<Message[]> {
  const out = await sqs.call<{ Messages?: Omit<Message, 'intact'>[] }>(
    'ReceiveMessage',
    {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: o.maxMessages ?? SQS_BATCH_LIMIT,
      WaitTimeSeconds: o.waitTimeSeconds,
      VisibilityTimeout: o.visibilityTimeoutSeconds,
      MessageSystemAttributeNames: o.systemAttributes ?? ['SentTimestamp'],
      ...(o.messageAttributes ? { MessageAttributeNames: o.messageAttributes } : {}),
    },
    { ...co, waitSeconds: o.waitTimeSeconds },
  );
  const msgs = (out.Messages ?? []) as Message[];
  for (const m of msgs) {
    m.Body ??= '';
    m.intact = m.MD5OfBody === undefined || m.MD5OfBody === md5(m.Body);
  }
  return msgs;
}

export function chunk<T>(items: readonly T[], size = SQS_BATCH_LIMIT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface BatchFailure {
  /** Index of the entry in the batch given. */
  id: string;
  code: string;
  /** SQS says the fault is the caller's (an expired receipt handle, a missing MessageGroupId): retrying will not help. */
  senderFault: boolean;
  /** SQS's explanation, when it gives one (never the message body). */
  message?: string;
}

interface BatchResult {
  Failed?: { Id?: string; Code?: string; SenderFault?: boolean; Message?: string }[];
}
const failures = (out: BatchResult): BatchFailure[] =>
  (out.Failed ?? []).map((f) => ({ id: f.Id ?? '', code: f.Code ?? 'Unknown', senderFault: f.SenderFault ?? false, ...(f.Message ? { message: f.Message.slice(0, 200) } : {}) }));

/** Deletes up to 10 messages; returns the entries SQS did not delete. */
export async function deleteMessages(sqs: SqsClient, queueUrl: string, handles: readonly string[], co?: CallOptions): Promise<BatchFailure[]> {
  const out = await sqs.call<BatchResult>('DeleteMessageBatch', { QueueUrl: queueUrl, Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) }, co);
  return failures(out);
}

/** Sets the visibility timeout of up to 10 messages; returns the entries SQS did not change. */
export async function extendVisibility(sqs: SqsClient, queueUrl: string, handles: readonly string[], seconds: number, co?: CallOptions): Promise<BatchFailure[]> {
  const out = await sqs.call<BatchResult>(
    'ChangeMessageVisibilityBatch',
    { QueueUrl: queueUrl, Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: seconds })) },
    co,
  );
  return failures(out);
}

/** One message to send. `groupId` and `deduplicationId` are for FIFO queues. */
export interface OutgoingMessage {
  body: string;
  /** String attributes, or full attribute values (Number, Binary as base64). */
  attributes?: Record<string, string | MessageAttributeValue>;
  groupId?: string;
  deduplicationId?: string;
  delaySeconds?: number;
}

/**
 * Sends up to 10 messages; returns the entries SQS did not accept. An entry whose MD5OfMessageBody does
 * not match what was sent (corrupted on the way) is reported failed, not a sender fault, so it is sent again.
 */
export async function sendMessages(sqs: SqsClient, queueUrl: string, messages: readonly OutgoingMessage[], co?: CallOptions): Promise<BatchFailure[]> {
  const out = await sqs.call<BatchResult & { Successful?: { Id?: string; MD5OfMessageBody?: string }[] }>(
    'SendMessageBatch',
    {
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({
        Id: String(i),
        MessageBody: m.body,
        ...(m.attributes ? { MessageAttributes: attributeValues(m.attributes) } : {}),
        ...(m.groupId !== undefined ? { MessageGroupId: m.groupId } : {}),
        ...(m.deduplicationId !== undefined ? { MessageDeduplicationId: m.deduplicationId } : {}),
        ...(m.delaySeconds !== undefined ? { DelaySeconds: m.delaySeconds } : {}),
      })),
    },
    co,
  );
  const failed = failures(out);
  for (const s of out.Successful ?? []) {
    const sent = messages[Number(s.Id)];
    if (sent && s.MD5OfMessageBody !== undefined && s.MD5OfMessageBody !== md5(sent.body)) failed.push({ id: s.Id ?? '', code: 'InvalidChecksum', senderFault: false });
  }
  return failed;
}

function attributeValues(a: Record<string, string | MessageAttributeValue>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(a)) out[k] = typeof v === 'string' ? { DataType: 'String', StringValue: v } : v;
  return out;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** Approximate message counts (exact on single-server emulators, eventually consistent on AWS). */
export async function queueDepth(sqs: SqsClient, queueUrl: string, co?: CallOptions): Promise<QueueDepth> {
  const out = await sqs.call<{ Attributes?: Record<string, string> }>(
    'GetQueueAttributes',
    { QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] },
    co,
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Creates a queue (or returns the existing one's URL): the demo and tests. */
export async function createQueue(sqs: SqsClient, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const out = await sqs.call<{ QueueUrl?: string }>('CreateQueue', { QueueName: name, Attributes: attributes });
  return out.QueueUrl ?? '';
}
