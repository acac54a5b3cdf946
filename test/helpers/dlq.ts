import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { query, sqsEndpoint } from './services.js';

/** The AWS SDK's own SQS client (not ours), to read what really is in a queue. */
export function sdkClient(): SQSClient {
  return new SQSClient({ endpoint: sqsEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** Every message of a queue, bodies and attributes as SQS holds them, read with the SDK; all are made visible again. */
export async function sdkReadAll(sdk: SQSClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await sdk.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    if (!r.Messages?.length) break;
    out.push(...r.Messages);
  }
  for (let i = 0; i < out.length; i += 10) {
    const group = out.slice(i, i + 10);
    await sdk.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })) }));
  }
  return out;
}

/** Sends one message with the SDK, attributes as given (what the AWS console's DLQ redrive or a hand-made message does). */
export async function sdkSend(sdk: SQSClient, queueUrl: string, body: string, attributes: Record<string, MessageAttributeValue> = {}, groupId?: string): Promise<void> {
  await sdk.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes, ...(groupId ? { MessageGroupId: groupId, MessageDeduplicationId: `${groupId}-${Math.random()}` } : {}) }));
}

/** String and Number attributes of a received message, to send them on or decode with them. */
export const attributesOf = (m: Message): Record<string, { DataType: string; StringValue: string }> =>
  Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { DataType: v.DataType ?? 'String', StringValue: v.StringValue ?? '' }]));

/** Every row of every table and view in the database's own schemas, as text: what a pg_dump would hold. */
export async function dumpAllTables(url: string): Promise<string> {
  const tables = await query<{ s: string; t: string }>(
    url,
    `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  const parts: string[] = [];
  for (const { s, t } of tables) {
    const rows = await query(url, `SELECT * FROM "${s.replace(/"/g, '""')}"."${t.replace(/"/g, '""')}"`);
    parts.push(`${s}.${t}: ${JSON.stringify(rows)}`);
  }
  return parts.join('\n');
}
