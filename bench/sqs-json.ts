/**
 * A near-zero-cost SQS client for the bench: the JSON protocol (`application/x-amz-json-1.0`,
 * `X-Amz-Target: AmazonSQS.<Action>`), unsigned, over one undici keep-alive Pool. fauxqs does not check
 * signatures. Deliberately independent of src/, so it stays a fixed yardstick while login-etl's own client changes.
 */
import { Pool } from 'undici';

export interface SqsMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
}

/** An error response: `type` is the short error name (`QueueDoesNotExist`, `ThrottlingException`). */
export class SqsJsonError extends Error {
  constructor(
    readonly action: string,
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(`SQS ${action} failed: HTTP ${status} ${type}${message ? `: ${message}` : ''}`);
    this.name = 'SqsJsonError';
  }
}

/**
 * The error of a non-2xx JSON-protocol response. `__type` may carry a namespace
 * (`com.amazonaws.sqs#QueueDoesNotExist`); the `x-amzn-query-error` header (`AWS.SimpleQueueService.NonExistentQueue;Sender`)
 * is the fallback when the body is not JSON.
 */
export function parseSqsError(action: string, status: number, body: string, queryError?: string): SqsJsonError {
  let type = '';
  let message = '';
  try {
    const j = JSON.parse(body) as { __type?: unknown; message?: unknown; Message?: unknown };
    if (typeof j.__type === 'string') type = j.__type.slice(j.__type.lastIndexOf('#') + 1);
    const m = j.message ?? j.Message;
    if (typeof m === 'string') message = m;
  } catch {
    /* not JSON: fall back to the header */
  }
  if (!type && queryError) type = queryError.split(';')[0] ?? '';
  return new SqsJsonError(action, status, type || 'UnknownError', message);
}

export interface SqsJson {
  call<T>(action: string, input: object): Promise<T>;
  createQueue(name: string): Promise<string>;
  deleteQueue(queueUrl: string): Promise<void>;
  receive(queueUrl: string, max?: number): Promise<SqsMessage[]>;
  /** Deletes by receipt handle; throws if any entry fails. */
  deleteBatch(queueUrl: string, handles: readonly string[]): Promise<void>;
  /** Sends up to 10 bodies; throws if any entry fails. */
  sendBatch(queueUrl: string, bodies: readonly string[]): Promise<void>;
  /** ApproximateNumberOfMessages (+ NotVisible, Delayed). */
  depth(queueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }>;
  close(): Promise<void>;
}

/** `connections` keep-alive sockets to `endpoint` (an origin such as http://127.0.0.1:4566), one request each at a time. */
export function sqsJson(endpoint: string, connections: number): SqsJson {
  const pool = new Pool(new URL(endpoint).origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  async function call<T>(action: string, input: object): Promise<T> {
    const res = await pool.request({
      path: '/',
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` },
      body: JSON.stringify(input),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const q = res.headers['x-amzn-query-error'];
      throw parseSqsError(action, res.statusCode, text, Array.isArray(q) ? q[0] : q);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }
  const failed = (action: string, out: { Failed?: { Id: string; Code?: string; Message?: string }[] }) => {
    const f = out.Failed?.[0];
    if (f) throw new SqsJsonError(action, 200, f.Code ?? 'EntryFailed', `${out.Failed?.length} entries failed, e.g. ${f.Message ?? ''}`);
  };
  return {
    call,
    async createQueue(name) {
      return (await call<{ QueueUrl: string }>('CreateQueue', { QueueName: name })).QueueUrl;
    },
    async deleteQueue(queueUrl) {
      await call('DeleteQueue', { QueueUrl: queueUrl });
    },
    async receive(queueUrl, max = 10) {
      return (await call<{ Messages?: SqsMessage[] }>('ReceiveMessage', { QueueUrl: queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 0 })).Messages ?? [];
    },
    async deleteBatch(queueUrl, handles) {
      failed('DeleteMessageBatch', await call('DeleteMessageBatch', { QueueUrl: queueUrl, Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) }));
    },
    async sendBatch(queueUrl, bodies) {
      failed('SendMessageBatch', await call('SendMessageBatch', { QueueUrl: queueUrl, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
    },
    async depth(queueUrl) {
      const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'];
      const a = (await call<{ Attributes?: Record<string, string> }>('GetQueueAttributes', { QueueUrl: queueUrl, AttributeNames: names })).Attributes ?? {};
      return { visible: Number(a[names[0] as string] ?? 0), inFlight: Number(a[names[1] as string] ?? 0), delayed: Number(a[names[2] as string] ?? 0) };
    },
    close: () => pool.close(),
  };
}

/** Sends `bodies` in batches of 10 with `workers` concurrent SendMessageBatch calls. */
export async function loadQueue(sqs: SqsJson, queueUrl: string, bodies: readonly string[], workers = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const from = next;
      next += 10;
      await sqs.sendBatch(queueUrl, bodies.slice(from, from + 10));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}
