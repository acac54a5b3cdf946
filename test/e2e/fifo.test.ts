import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsClient } from '../../src/source/client.js';
import { createGroupLabel } from '../../src/masking/groupLabel.js';
import { deleteMessages, receiveMessages, type Message } from '../../src/source/queue.js';
import { sendAll } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { depth, fifoQueues, freshDatabase, freshQueues, query, sqsClient, TEST_KEY } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const label = createGroupLabel({ primary: 1, keys: new Map([[1, Buffer.from(TEST_KEY, 'base64')]]) });
const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));

async function takeAll(sqs: SqsClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, messageAttributes: ['All'], systemAttributes: ['All'] });
    if (r.length === 0) return out;
    out.push(...r);
    await deleteMessages(sqs, queueUrl, r.map((m) => m.ReceiptHandle));
  }
}

describe('FIFO queues from the command line (send, drain)', () => {
  let sqs: SqsClient;
  let db: string;
  const dir = tempDir('fifo-e2e-');
  beforeAll(async () => {
    sqs = sqsClient();
    db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  });
  afterAll(() => sqs.destroy());

  it('send to a FIFO queue without a group: one line saying how to give one; nothing sent', async () => {
    const { queueUrl } = await fifoQueues(sqs, { dlq: false });
    const r = await runCli(['send', '--generate', '5'], { SQS_QUEUE_URL: queueUrl });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([`login-etl: ${queueUrl} is a FIFO queue: every message needs a group; add --group-id ID (one group, one strict order) or --group-field user_id (an order per user)`]);
    expect(await depth(sqs, queueUrl)).toBe(0);
    const std = (await freshQueues(sqs)).queueUrl;
    const s = await runCli(['send', '--generate', '5', '--group-id', 'g'], { SQS_QUEUE_URL: std });
    expect(s.code).toBe(2);
    expect(oneLine(s.stderr)[0]).toMatch(/is a standard queue: --group-id and --group-field are for FIFO queues/);
  });

  it('send --group-field user_id: each message in its user\'s group; per-message deduplication keeps identical events, --dedup content collapses them', async () => {
    const { queueUrl } = await fifoQueues(sqs, { dlq: false });
    const file = join(dir, 'twice.ndjson');
    const e = { user_id: 'u-1', app_version: '1.0.0', device_type: 'ios', ip: '192.0.2.7', locale: null, device_id: 'd-1' };
    // The same login twice (events carry no time of their own), another user, and a line without a user_id.
    writeFileSync(file, [e, e, { ...e, user_id: 'u-2' }, { device_type: 'ios' }].map((x) => JSON.stringify(x)).join('\n'));
    const noFallback = await runCli(['send', '--file', file, '--group-field', 'user_id'], { SQS_QUEUE_URL: queueUrl });
    expect(noFallback.code).toBe(2);
    expect(oneLine(noFallback.stderr)).toEqual(['login-etl: message 4 has no usable user_id for a MessageGroupId (missing, not JSON, or not 1 to 128 letters, digits or ASCII punctuation); add --group-id ID as the group of such messages']);
    const byDevice = await runCli(['send', '--file', file, '--group-field', 'device_id'], { SQS_QUEUE_URL: queueUrl });
    expect(byDevice.code).toBe(2);
    expect(oneLine(byDevice.stderr)).toEqual(['login-etl: --group-field device_id would make each raw device_id a MessageGroupId, which SQS keeps and shows unmasked; group by user_id or another field that is not ip or device_id']);
    expect(await depth(sqs, queueUrl)).toBe(0);
    const r = await runCli(['send', '--file', file, '--group-field', 'user_id', '--group-id', 'no-user'], { SQS_QUEUE_URL: queueUrl });
    expect(r.code, r.stderr).toBe(0);
    const got = await takeAll(sqs, queueUrl);
    expect(got.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(['no-user', 'u-1', 'u-1', 'u-2']);
    expect(new Set(got.map((m) => m.Attributes?.MessageDeduplicationId)).size).toBe(4);
    const c = await runCli(['send', '--file', file, '--group-field', 'user_id', '--group-id', 'no-user', '--dedup', 'content'], { SQS_QUEUE_URL: queueUrl });
    expect(c.code, c.stderr).toBe(0);
    expect((await takeAll(sqs, queueUrl)).map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(['no-user', 'u-1', 'u-2']);
  });

  it('a FIFO queue with a FIFO DLQ and malformed messages drains to empty: rows, dead letters with their groups, exit 0', async () => {
    const { queueUrl, dlqUrl } = await fifoQueues(sqs);
    const sent = await runCli(['send', '--generate', '300', '--seed', '3', '--malformed-ratio', '0.05', '--group-field', 'user_id', '--group-id', 'malformed'], { SQS_QUEUE_URL: queueUrl });
    expect(sent.code, sent.stderr).toBe(0);
    const r = await runCli(['drain', '--json'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY });
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson<{ received: number; written: number; rejected: number; deadLettered: number; complete: boolean; blockedGroups: unknown[] }>(r.stdout);
    expect(s).toMatchObject({ received: 300, complete: true, ended: 'drained', blockedGroups: [], leftOnQueue: 0 });
    expect(s.rejected).toBeGreaterThan(0);
    expect(s.deadLettered).toBe(s.rejected);
    expect(s.written).toBe(300 - s.rejected);
    expect(await depth(sqs, queueUrl)).toBe(0);
    const dead = await takeAll(sqs, dlqUrl ?? '');
    expect(dead).toHaveLength(s.rejected);
    for (const m of dead) {
      expect(m.Attributes?.MessageGroupId).toBeTruthy();
      expect(m.Attributes?.MessageDeduplicationId).toBe(m.MessageAttributes?.source_message_id?.StringValue);
    }
    // `dlq list` shows each group id as its label, never as the sender wrote it.
    const groups = new Map(dead.map((m) => [m.MessageAttributes?.source_message_id?.StringValue, m.Attributes?.MessageGroupId ?? '']));
    await sendAll(sqs, dlqUrl ?? '', dead.map((m) => ({ body: m.Body, ...(m.MessageAttributes ? { attributes: m.MessageAttributes } : {}), groupId: m.Attributes?.MessageGroupId ?? '', deduplicationId: `again-${m.MessageId}` })), { inOrder: true });
    const list = await runCli(['dlq', 'list', '--json'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY });
    expect(list.code, list.stderr).toBe(0);
    const entries = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sourceMessageId: string; groupId: string });
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(e.groupId).toBe(label(groups.get(e.sourceMessageId) ?? ''));
  });

  it('no DLQ: the drain does not hang; it ends with one line naming the blocked groups and what to do, exit 3, "complete": false', async () => {
    const { queueUrl } = await fifoQueues(sqs, { dlq: false });
    const file = join(dir, 'blocked.ndjson');
    const ev = (user: string, i: number) => JSON.stringify({ user_id: user, app_version: `1.0.${i}`, device_type: 'ios', ip: `192.0.2.${i}`, locale: null, device_id: `d-${i}` });
    // ub's second event lacks ip and device_id: rejected (missing_field), it blocks ub's later events.
    const lines = [ev('ua', 1), ev('ub', 2), '{"user_id": "ub", "device_type": "ios"}', ev('ub', 3), ev('ub', 4), ev('uc', 5)];
    writeFileSync(file, lines.join('\n'));
    expect((await runCli(['send', '--file', file, '--group-field', 'user_id'], { SQS_QUEUE_URL: queueUrl })).code).toBe(0);
    // A visibility timeout of 2 s: the second drain below finds the rejected message in flight (left by the first)
    // and waits for it to come back, as for any message another consumer holds.
    const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, SQS_VISIBILITY_TIMEOUT: '2' };
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(3);
    const s = lastJson<Record<string, unknown>>(r.stdout);
    expect(s).toMatchObject({ complete: false, ended: 'blocked', written: 3, rejected: 1, leftOnQueue: 1, blockedMessages: 2 });
    expect(s.blockedGroups).toEqual([{ groupId: label('ub'), messageId: expect.any(String) as unknown as string, reason: 'missing_field', why: 'no_dlq' }]);
    expect(r.stdout + r.stderr).not.toContain('"ub"');
    const warn = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg.startsWith('drain incomplete'));
    expect(warn.map((l) => l.msg)).toEqual([
      `drain incomplete: 1 message group is blocked: "${label('ub')}" by a rejected message left on the queue (no SQS_DLQ_URL); about 2 messages wait on the queue behind it. SQS delivers none of a group\'s later messages while such a message is on the queue: set SQS_DLQ_URL to a FIFO dead-letter queue, or give the queue a redrive policy (maxReceiveCount) so that SQS moves such messages; then drain again`,
    ]);
    const users = await query<{ user_id: string; app_version: number }>(db, `SELECT user_id, app_version FROM user_logins WHERE user_id IN ('ua','ub','uc') ORDER BY user_id`);
    expect(users).toEqual([{ user_id: 'ua', app_version: 1000001 }, { user_id: 'ub', app_version: 1000002 }, { user_id: 'uc', app_version: 1000005 }]);
    // As text: the summary starts with the same line.
    const t = await runCli(['drain'], env);
    expect(t.code).toBe(3);
    expect(t.stdout.split('\n')[0]).toMatch(/^drain incomplete after [\d.]+ s: 1 message group is blocked: "g1\.[\w-]{16}" by a rejected message left on the queue \(no SQS_DLQ_URL\)/);
    expect(t.stdout.split('\n')[0]).toContain(label('ub'));
  });

  it('a FIFO source with a standard DLQ is refused at start-up in one line, exit 2', async () => {
    const { queueUrl } = await fifoQueues(sqs, { dlq: false });
    const { dlqUrl } = await freshQueues(sqs);
    const r = await runCli(['drain'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([
      `login-etl: SQS_DLQ_URL (--dlq-url) ${dlqUrl} is a standard queue but the source ${queueUrl} is a FIFO queue: a dead-letter queue must be of the same type as its source (as SQS's redrive policy requires); point SQS_DLQ_URL at a FIFO queue (its name ends in .fifo)`,
    ]);
    const d = await runCli(['doctor'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY });
    expect(d.stdout).toMatch(/SQS source queue\s+pass\s+\S+: FIFO, /);
    expect(d.stdout).toMatch(/SQS dead-letter queue\s+FAIL\s+SQS_DLQ_URL \(--dlq-url\) \S+ is a standard queue but the source/);
  });
});
