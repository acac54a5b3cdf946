/**
 * (c) The naive approach a hand-written script would take: a default AWS SDK client, one poller, one
 * INSERT + COMMIT per message, MD5 "masking", one DeleteMessage per message.
 * Usage: node naive.js <endpoint> <queueUrl> <databaseUrl> <n>. Prints {done, activeMs}.
 */
import { createHash } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';

const [endpoint = '', url = '', dbUrl = '', nArg = '0'] = process.argv.slice(2);
const n = Number(nArg);
const sqs = new SQSClient({ region: 'us-east-1', endpoint, useQueueUrlAsEndpoint: false, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const db = new pg.Client({ connectionString: dbUrl });
await db.connect();
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
let done = 0;
let last = 0;
const t0 = performance.now();
while (done < n) {
  const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  const msgs = r.Messages ?? [];
  if (msgs.length === 0) break;
  for (const m of msgs) {
    let e: Record<string, string | null> = {};
    try {
      e = JSON.parse(m.Body ?? '{}') as Record<string, string | null>;
    } catch {
      /* a naive script would crash here; count it as skipped */
    }
    if (e.user_id && e.ip && e.device_id) {
      await db.query('BEGIN');
      await db.query('INSERT INTO user_logins (user_id, device_type, masked_ip, masked_device_id, locale, app_version, create_date) VALUES ($1,$2,$3,$4,$5,$6,$7)', [
        e.user_id, e.device_type ?? null, md5(e.ip), md5(e.device_id), e.locale ?? null, null, new Date(),
      ]);
      await db.query('COMMIT');
    }
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle ?? '' }));
    done++;
    last = performance.now();
  }
}
process.stdout.write(`${JSON.stringify({ done, activeMs: last - t0 })}\n`);
await db.end();
sqs.destroy();
