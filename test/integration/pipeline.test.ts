import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { initDb } from '../../src/sink/schema.js';
import { writeRows } from '../../src/sink/writer.js';
import { receiveMessages } from '../../src/source/queue.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { depth, freshDatabase, freshQueues, peekAll, query, sampleBodies, useServices, validSampleBodies } from '../helpers/services.js';

const masker = createMasker({ primary: 1, keys: new Map([[1, Buffer.alloc(32, 5)]]) }, 'hmac');
const transform = createTransformer(masker);
const silent = pino({ level: 'silent' });

describe('pipeline against fauxqs and PostgreSQL', () => {
  const env = useServices();

  const options = (queueUrl: string, dlqUrl?: string): PipelineOptions => ({
    sqs: env.sqs, pool: env.pool, transform, log: silent, queueUrl, dlqUrl, receivers: 4, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30,
    maxInFlight: 200, batchSize: 25, batchMaxAgeMs: 50, sinkConcurrency: 2, retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true,
  });
  const count = async (where = 'true') => (await query<{ n: number }>(env.url, `SELECT count(*)::int AS n FROM user_logins WHERE ${where}`))[0]?.n;

  it('drains the reference sample: 99 rows, 1 dead letter with its reason, an empty queue', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, await sampleBodies());
    const s = await createPipeline(options(queueUrl, dlqUrl)).run();
    expect(s).toMatchObject({ received: 100, written: 99, duplicates: 0, rejected: 1, deadLettered: 1, rejectedByReason: { missing_field: 1 } });
    expect(await count()).toBe(99);
    // 30 of the 100 lack a locale; one of those is the malformed message.
    expect(await count('locale IS NULL')).toBe(29);
    expect(await depth(env.sqs, queueUrl)).toBe(0);
    const dead = await peekAll(env.sqs, dlqUrl);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]?.Body ?? '')).toEqual({ foo: 'oops_wrong_msg_type', bar: '123' });
    expect(dead[0]?.MessageAttributes?.reason?.StringValue).toBe('missing_field');
    expect(dead[0]?.MessageAttributes?.source_message_id?.StringValue).toMatch(/.+/);

    const again = await createPipeline(options(queueUrl, dlqUrl)).run();
    expect(again).toMatchObject({ received: 0, written: 0 });
    expect(await count()).toBe(99);
  });

  it('absorbs a redelivery of messages committed but never deleted', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const { queueUrl } = await freshQueues(env.sqs, 1);
    await sendBodies(env.sqs, queueUrl, (await validSampleBodies()).slice(0, 20));
    const first = await receiveMessages(env.sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 1 });
    const rows = first.map((m) => {
      const r = transform(m.Body ?? '', m.Attributes?.SentTimestamp);
      if (!r.ok) throw new Error('sample row invalid');
      return { messageId: m.MessageId ?? '', row: r.row };
    });
    expect(await writeRows(env.pool, rows)).toBe(first.length);
    await new Promise((r) => setTimeout(r, 1200));
    const s = await createPipeline(options(queueUrl)).run();
    expect(s.duplicates).toBe(first.length);
    expect(s.written).toBe(20 - first.length);
    expect(await count()).toBe(20);
    expect(await depth(env.sqs, queueUrl)).toBe(0);
  });

  it('without a DLQ, leaves rejects on the queue for its redrive policy and still finishes', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, ['{"user_id":', ...(await validSampleBodies()).slice(0, 9)]);
    const s = await createPipeline(options(queueUrl)).run();
    expect(s).toMatchObject({ written: 9, rejected: 1, leftOnQueue: 1, deadLettered: 0, rejectedByReason: { invalid_json: 1 } });
    expect(await depth(env.sqs, queueUrl)).toBe(1);
  });

  it('stop() does not wait out a 20-second long poll on an empty queue', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    const p = createPipeline({ ...options(queueUrl), untilEmpty: false, waitTimeSeconds: 20 });
    const running = p.run();
    await new Promise((r) => setTimeout(r, 300));
    p.stop();
    const outcome = await Promise.race([running.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still polling'), 10_000))]);
    expect(outcome).toBe('stopped');
  });

  it('a poison row costs only itself: Postgres refusing one row still writes the rest', async () => {
    const strict = await freshDatabase();
    await query(strict, `CREATE TABLE user_logins(user_id varchar(128), device_type varchar(32) CHECK (device_type <> 'tablet'), masked_ip varchar(256), masked_device_id varchar(256), locale varchar(32), app_version integer, create_date date)`);
    const p = new pg.Pool({ connectionString: strict, max: 3 });
    try {
      await initDb(p);
      const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
      const bodies = (await validSampleBodies()).slice(0, 40);
      bodies[17] = (bodies[17] ?? '').replace(/"device_type":"\w+"/, '"device_type":"tablet"');
      bodies[31] = 'garbage';
      await sendBodies(env.sqs, queueUrl, bodies);
      const s = await createPipeline({ ...options(queueUrl, dlqUrl), pool: p, batchSize: 50 }).run();
      expect(s).toMatchObject({ written: 38, rejected: 2, rejectedByReason: { db_rejected: 1, invalid_json: 1 } });
      const reasons = (await peekAll(env.sqs, dlqUrl)).map((m) => m.MessageAttributes?.reason?.StringValue).sort();
      expect(reasons).toEqual(['db_rejected', 'invalid_json']);
      expect(await depth(env.sqs, queueUrl)).toBe(0);
    } finally {
      await p.end();
    }
  });

  it('keeps raw ip and device_id out of the table', async () => {
    const raw = (await sampleBodies()).flatMap((b) => {
      const o = JSON.parse(b) as { ip?: string; device_id?: string };
      return [o.ip, o.device_id].filter((v): v is string => typeof v === 'string');
    });
    const dump = JSON.stringify(await query(env.url, 'SELECT * FROM user_logins'));
    for (const v of raw) expect(dump).not.toContain(v);
  });
});
