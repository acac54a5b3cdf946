import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** SQS's own per-call limit for receive, delete, visibility and send batches. */
export const SQS_BATCH_LIMIT = 10;

export interface ReceiveOptions {
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
}

/** No per-call options (such as an abort signal): they would bypass the client's cached middleware stack. */
export async function receiveMessages(sqs: SQSClient, queueUrl: string, o: ReceiveOptions): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: SQS_BATCH_LIMIT,
      WaitTimeSeconds: o.waitTimeSeconds,
      VisibilityTimeout: o.visibilityTimeoutSeconds,
      MessageSystemAttributeNames: ['SentTimestamp'],
    }),
  );
  return out.Messages ?? [];
}

export function chunk<T>(items: readonly T[], size = SQS_BATCH_LIMIT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface BatchFailure {
  id: string;
  code: string;
  /** SQS says the fault is the caller's (e.g. an expired receipt handle): retrying will not help. */
  senderFault: boolean;
}

/** Deletes up to 10 messages; returns the entries SQS did not delete. `id` is the index into `handles`. */
export async function deleteMessages(sqs: SQSClient, queueUrl: string, handles: readonly string[]): Promise<BatchFailure[]> {
  const out = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
    }),
  );
  return (out.Failed ?? []).map((f) => ({ id: f.Id ?? '', code: f.Code ?? 'Unknown', senderFault: f.SenderFault ?? false }));
}

export async function extendVisibility(sqs: SQSClient, queueUrl: string, handles: readonly string[], seconds: number): Promise<BatchFailure[]> {
  const out = await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: seconds })),
    }),
  );
  return (out.Failed ?? []).map((f) => ({ id: f.Id ?? '', code: f.Code ?? 'Unknown', senderFault: f.SenderFault ?? false }));
}

export interface DeadLetter {
  body: string;
  reason: string;
  sourceMessageId: string;
}

/** Sends up to 10 rejected bodies, unchanged, with `reason` and `source_message_id` attributes. */
export async function sendDeadLetters(sqs: SQSClient, dlqUrl: string, letters: readonly DeadLetter[]): Promise<BatchFailure[]> {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: dlqUrl,
      Entries: letters.map((l, i) => ({
        Id: String(i),
        MessageBody: l.body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: l.reason },
          source_message_id: { DataType: 'String', StringValue: l.sourceMessageId },
        },
      })),
    }),
  );
  return (out.Failed ?? []).map((f) => ({ id: f.Id ?? '', code: f.Code ?? 'Unknown', senderFault: f.SenderFault ?? false }));
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** Approximate message counts (exact on emulators, eventually consistent on AWS). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
