/**
 * (a) The endpoint's own limit: 16 pollers doing ReceiveMessage(10) + DeleteMessageBatch with no processing,
 * over unsigned JSON-protocol HTTP on one undici keep-alive Pool (bench/sqs-json.ts). Each poller stops at its
 * first empty receive. Prints {done, activeMs}: activeMs runs from the first receive sent to the last delete answered.
 * Usage: node raw.js <endpoint> <queueUrl> [pollers]
 */
import { sqsJson } from './sqs-json.js';

const [endpoint = '', url = '', pollersArg = '16'] = process.argv.slice(2);
const pollers = Number(pollersArg);
const sqs = sqsJson(endpoint, pollers);
let done = 0;
let last = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: pollers }, async () => {
    for (;;) {
      const msgs = await sqs.receive(url, 10);
      if (msgs.length === 0) return;
      await sqs.deleteBatch(url, msgs.map((m) => m.ReceiptHandle));
      done += msgs.length;
      last = performance.now();
    }
  }),
);
process.stdout.write(`${JSON.stringify({ done, activeMs: last - t0 })}\n`);
await sqs.close();
