/**
 * (a') The same loop as raw.ts through the AWS SDK v3 SQSClient, configured as login-etl configured it before
 * its own client (middleware resolved once per command: `cacheMiddleware`). Shows what the SDK's per-request
 * machinery costs on this endpoint. Usage: node sdk.js <endpoint> <queueUrl> [pollers]
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const [endpoint = '', url = '', pollersArg = '16'] = process.argv.slice(2);
const pollers = Number(pollersArg);
const sqs = new SQSClient({
  region: 'us-east-1',
  endpoint,
  useQueueUrlAsEndpoint: false,
  cacheMiddleware: true,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
let done = 0;
let last = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: pollers }, async () => {
    for (;;) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const msgs = r.Messages ?? [];
      if (msgs.length === 0) return;
      const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
      if (out.Failed?.length) throw new Error(`DeleteMessageBatch: ${out.Failed.length} entries failed (${out.Failed[0]?.Code ?? '?'})`);
      done += msgs.length;
      last = performance.now();
    }
  }),
);
process.stdout.write(`${JSON.stringify({ done, activeMs: last - t0 })}\n`);
sqs.destroy();
