import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupLabel } from '../../src/masking/groupLabel.js';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import type { SqsClient } from '../../src/source/client.js';
import { sendAll } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { deleteMessages, receiveMessages, type Message } from '../../src/source/queue.js';
import { depth, fifoQueues, motoSqsClient, query, testKey, useServices } from '../helpers/services.js';

/** Every message of a FIFO queue, received and deleted (a FIFO queue hides a group's next message until the one before is gone). */
async function takeAll(sqs: SqsClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, messageAttributes: ['All'], systemAttributes: ['All'] });
    if (r.length === 0) return out;
    out.push(...r);
    await deleteMessages(sqs, queueUrl, r.map((m) => m.ReceiptHandle));
  }
}

const keyring = { primary: 1, keys: new Map([[1, Buffer.from(testKey(12), 'base64')]]) };
const transform = createTransformer(createMasker(keyring, 'hmac'));
const label = createGroupLabel(keyring);

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }), lines };
}

/** `perGroup` events for each of `groups` groups, interleaved; event i of group g has user_id `${prefix}-g${g}-${i}`. `bad(g, i)` makes one malformed. */
function events(prefix: string, groups: number, perGroup: number, bad: (g: number, i: number) => boolean = () => false) {
  const out: { body: string; groupId: string; deduplicationId: string }[] = [];
  for (let i = 0; i < perGroup; i++) {
    for (let g = 0; g < groups; g++) {
      const user = `${prefix}-g${g}-${i}`;
      const body = bad(g, i) ? `{"user_id": "${user}", "broken` : JSON.stringify({ user_id: user, app_version: '1.0.0', device_type: 'ios', ip: `10.0.${g}.${i}`, locale: null, device_id: `d-${g}-${i}` });
      out.push({ body, groupId: `${prefix}-g${g}`, deduplicationId: `${prefix}-${g}-${i}` });
    }
  }
  return out;
}

/**
 * Commit order per group, as PostgreSQL saw it: a deferred constraint trigger numbers each row when its
 * transaction commits, and a statement trigger makes every batch write take a random 0–40 ms, so that
 * concurrent batches finish out of order unless something keeps them in order.
 */
async function recordCommitOrder(url: string): Promise<void> {
  await query(url, `CREATE TABLE IF NOT EXISTS commit_order (n bigserial, user_id text)`);
  await query(url, `CREATE OR REPLACE FUNCTION note_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO commit_order (user_id) VALUES (NEW.user_id); RETURN NULL; END $$`);
  await query(url, `CREATE OR REPLACE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(random() * 0.04); RETURN NULL; END $$`);
  await query(url, `DROP TRIGGER IF EXISTS note_commit ON user_logins`);
  await query(url, `CREATE CONSTRAINT TRIGGER note_commit AFTER INSERT ON user_logins DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION note_commit()`);
  await query(url, `DROP TRIGGER IF EXISTS slow_write ON user_logins`);
  await query(url, `CREATE TRIGGER slow_write AFTER INSERT ON user_logins FOR EACH STATEMENT EXECUTE FUNCTION slow_write()`);
}

/**
 * moto's SQS with one call at a time, as SQS itself behaves. moto serves calls on threads, and a FIFO receive
 * that runs while a delete frees a group re-reads the group's state halfway through its scan: it can skip a
 * group's next messages and then hand out a later one (seen: g1-5 before g1-3). That is moto's order, not ours.
 */
function oneCallAtATime(c: SqsClient): SqsClient {
  let last: Promise<unknown> = Promise.resolve();
  return {
    ...c,
    call: <T,>(action: Parameters<SqsClient['call']>[0], input: object, co?: Parameters<SqsClient['call']>[2]) => {
      const next = last.then(() => c.call<T>(action, input, co));
      last = next.catch(() => {});
      return next;
    },
  };
}

/** Per group, the event numbers in the order their rows were committed. */
async function committedOrder(url: string, prefix: string): Promise<Map<string, number[]>> {
  const rows = await query<{ user_id: string }>(url, `SELECT user_id FROM commit_order WHERE user_id LIKE $1 ORDER BY n`, [`${prefix}-%`]);
  const by = new Map<string, number[]>();
  for (const { user_id } of rows) {
    const m = /-(g\d+)-(\d+)$/.exec(user_id);
    if (!m) continue;
    by.set(m[1] ?? '', [...(by.get(m[1] ?? '') ?? []), Number(m[2])]);
  }
  return by;
}

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? -1));

describe('FIFO queues: order, dead letters, blocked groups', () => {
  const env = useServices();
  const base = (sqs: SqsClient, queueUrl: string, over: Partial<PipelineOptions> = {}): PipelineOptions => ({
    sqs, pool: env.pool, transform, log: pino({ level: 'silent' }), queueUrl, fifo: true, receivers: 4, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30,
    maxInFlight: 1000, batchSize: 3, batchMaxAgeMs: 20, sinkConcurrency: 3, retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true, groupLabel: label, ...over,
  });
  let moto: SqsClient;
  beforeAll(async () => {
    moto = motoSqsClient();
    await recordCommitOrder(env.url);
  });
  afterAll(() => moto.destroy());

  it('fauxqs, FIFO DLQ, malformed messages: drains to empty; rows per group in order; dead letters keep their group, deduplicated by source id', async () => {
    const { queueUrl, dlqUrl } = await fifoQueues(env.sqs);
    const msgs = events('ff', 5, 12, (g, i) => (g === 1 && i === 4) || (g === 3 && i === 0) || (g === 3 && i === 7));
    await sendAll(env.sqs, queueUrl, msgs, { inOrder: true });
    const s = await createPipeline(base(env.sqs, queueUrl, { dlqUrl })).run();
    expect(s).toMatchObject({ received: 60, written: 57, rejected: 3, deadLettered: 3, leftOnQueue: 0, heldBack: 0, blockedGroups: [] });
    expect(await depth(env.sqs, queueUrl)).toBe(0);
    const order = await committedOrder(env.url, 'ff');
    expect([...order.keys()].sort()).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    for (const [g, seq] of order) expect(ascending(seq), `${g}: ${seq.join(',')}`).toBe(true);
    const dead = await takeAll(env.sqs, dlqUrl ?? '');
    expect(dead.map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(['ff-g1', 'ff-g3', 'ff-g3']);
    for (const m of dead) expect(m.Attributes?.MessageDeduplicationId).toBe(m.MessageAttributes?.source_message_id?.StringValue);
    // Within group 3, the DLQ holds the rejects in their order on the source.
    expect(dead.filter((m) => m.Attributes?.MessageGroupId === 'ff-g3').map((m) => /g3-(\d+)/.exec(m.Body)?.[1])).toEqual(['0', '7']);
  });

  it('moto (several messages of a group per receive), batches of 3 written 3 at a time: each group commits in order', async () => {
    const { queueUrl, dlqUrl } = await fifoQueues(moto);
    const msgs = events('mo', 4, 15, (g, i) => g === 2 && i === 5);
    await sendAll(moto, queueUrl, msgs, { inOrder: true });
    // One receiver, one call at a time: moto's receive is not atomic, so two concurrent receives can both get
    // messages of one group, and a receive beside a delete can skip ahead in a group (SQS does neither). One
    // receive still brings several messages per group, split over batches of 3.
    const s = await createPipeline(base(oneCallAtATime(moto), queueUrl, { dlqUrl, receivers: 1 })).run();
    expect(s).toMatchObject({ received: 60, written: 59, deadLettered: 1, blockedGroups: [] });
    const order = await committedOrder(env.url, 'mo');
    expect([...order.values()].reduce((n, xs) => n + xs.length, 0)).toBe(59);
    for (const [g, seq] of order) expect(ascending(seq), `${g}: ${seq.join(',')}`).toBe(true);
    expect(await depth(moto, queueUrl)).toBe(0);
  });

  it('no DLQ: a reject blocks its group; the drain ends at once, naming it, with the rest of the group unwritten and the other groups done', async () => {
    const { queueUrl } = await fifoQueues(env.sqs, { dlq: false });
    await sendAll(env.sqs, queueUrl, events('nb', 3, 6, (g, i) => g === 1 && i === 2), { inOrder: true });
    const { log, lines } = capture();
    const t0 = Date.now();
    const s = await createPipeline(base(env.sqs, queueUrl, { log })).run();
    // Not the 30 s visibility timeout of the message left behind: the end-of-queue check sees the blocked group.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s).toMatchObject({ endOfQueue: true, written: 14, rejected: 1, leftOnQueue: 1, blockedMessages: 3 });
    // Group ids are shown as their labels: the sender may have grouped by a raw ip or device_id.
    expect(s.blockedGroups).toEqual([{ groupId: label('nb-g1'), messageId: expect.any(String) as unknown as string, reason: 'invalid_json', why: 'no_dlq' }]);
    const written = await query<{ user_id: string }>(env.url, `SELECT user_id FROM user_logins WHERE user_id LIKE 'nb-g1-%' ORDER BY user_id`);
    expect(written.map((r) => r.user_id)).toEqual(['nb-g1-0', 'nb-g1-1']);
    expect(lines.some((l) => l.repeat === 'fifo:blocked' && l.groupId === label('nb-g1'))).toBe(true);
    expect(lines.some((l) => l.repeat === 'reject:invalid_json' && l.groupId === label('nb-g1'))).toBe(true);
    for (const g of ['nb-g0', 'nb-g1', 'nb-g2']) expect(JSON.stringify(lines)).not.toContain(`"${g}"`);
  });

  it('moto, no DLQ: later messages of the group received with the reject are handed back unprocessed, and come back behind it', async () => {
    const { queueUrl } = await fifoQueues(moto, { dlq: false, visibilityTimeout: 2 });
    await sendAll(moto, queueUrl, events('hb', 2, 6, (g, i) => g === 0 && i === 1), { inOrder: true });
    const s = await createPipeline(base(moto, queueUrl, { receivers: 1, batchSize: 50, visibilityTimeoutSeconds: 2 })).run();
    expect(s).toMatchObject({ written: 7, rejected: 1 });
    expect(s.heldBack).toBeGreaterThan(0);
    expect(s.blockedGroups.map((b) => b.groupId)).toEqual([label('hb-g0')]);
    const g0 = await query<{ user_id: string }>(env.url, `SELECT user_id FROM user_logins WHERE user_id LIKE 'hb-g0-%'`);
    expect(g0.map((r) => r.user_id)).toEqual(['hb-g0-0']);
    // After the visibility timeout the group comes back in order, the reject first: it is rejected again, and
    // its later messages are handed back again: nothing of the group is written past it.
    await new Promise((r) => setTimeout(r, 2500));
    const again = await createPipeline(base(moto, queueUrl, { receivers: 1, batchSize: 50, visibilityTimeoutSeconds: 2 })).run();
    expect(again).toMatchObject({ written: 0, rejected: 1, heldBack: 4 });
    expect(again.blockedGroups.map((b) => b.groupId)).toEqual([label('hb-g0')]);
  });
});
