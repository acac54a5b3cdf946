/** (a) The raw drain limit of an SQS endpoint: 16 pollers, ReceiveMessage(10) + DeleteMessageBatch, no processing. */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const [endpoint = '', url = ''] = process.argv.slice(2);
// The AWS SDK client as login-etl configured it before its own SQS client (src/source/client.ts) replaced it.
const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, cacheMiddleware: true });
let done = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: 16 }, async () => {
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) return;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
    done += msgs.length;
  }
}));
process.stdout.write(`${JSON.stringify({ done, ms: performance.now() - t0 })}\n`);
sqs.destroy();
