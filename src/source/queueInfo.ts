import type { CallOptions, SqsClient } from './client.js';
import type { QueueDepth } from './queue.js';
import { SQS_LEGACY_MAX_BYTES } from './size.js';

/** What a consumer or sender needs to know about a queue before it starts. */
export interface QueueInfo extends QueueDepth {
  /** A FIFO queue (`FifoQueue`): messages carry a MessageGroupId, sends need one and a deduplication id. */
  fifo: boolean;
  /** `MaximumMessageSize`: the largest message (body plus attributes) the queue accepts, in bytes. */
  maxMessageBytes: number;
  /** `ContentBasedDeduplication` (FIFO only): SQS derives a deduplication id from the body when none is given. */
  contentBasedDeduplication: boolean;
  /** `QueueArn`, when the endpoint reports it: tells two URLs of one queue apart from two queues. */
  arn?: string | undefined;
  /** The queue's own redrive policy, if it has one: after `maxReceiveCount` receives a message moves to `deadLetterTargetArn`. */
  redrivePolicy?: { maxReceiveCount: number; deadLetterTargetArn: string } | undefined;
}

/** AWS requires a FIFO queue's name to end in `.fifo`. */
export const isFifoQueueUrl = (url: string): boolean => /\.fifo$/i.test(new URL(url).pathname);

function redrive(raw: string | undefined): QueueInfo['redrivePolicy'] {
  if (!raw) return undefined;
  try {
    const p = JSON.parse(raw) as { maxReceiveCount?: unknown; deadLetterTargetArn?: unknown };
    const max = Number(p.maxReceiveCount);
    return Number.isFinite(max) && typeof p.deadLetterTargetArn === 'string' ? { maxReceiveCount: max, deadLetterTargetArn: p.deadLetterTargetArn } : undefined;
  } catch {
    return undefined;
  }
}

/** One GetQueueAttributes call: the queue's type, size limit, redrive policy and approximate depth. */
export async function queueInfo(sqs: SqsClient, queueUrl: string, co?: CallOptions): Promise<QueueInfo> {
  const out = await sqs.call<{ Attributes?: Record<string, string> }>(
    'GetQueueAttributes',
    {
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed',
        'FifoQueue', 'MaximumMessageSize', 'ContentBasedDeduplication', 'RedrivePolicy', 'QueueArn',
      ],
    },
    co,
  );
  const a = out.Attributes ?? {};
  const max = Number(a.MaximumMessageSize);
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    // An endpoint that does not report FifoQueue: the name decides, as AWS requires `.fifo` for FIFO queues.
    fifo: a.FifoQueue !== undefined ? a.FifoQueue === 'true' : isFifoQueueUrl(queueUrl),
    // Not reported: assume the smaller, older limit, so that nothing sent can be too large for the queue.
    maxMessageBytes: Number.isInteger(max) && max > 0 ? max : SQS_LEGACY_MAX_BYTES,
    contentBasedDeduplication: a.ContentBasedDeduplication === 'true',
    arn: a.QueueArn,
    redrivePolicy: redrive(a.RedrivePolicy),
  };
}
