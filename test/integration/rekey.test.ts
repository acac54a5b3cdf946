import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Keyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { rekeyTable } from '../../src/sink/rekey.js';
import { writeRows } from '../../src/sink/writer.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { freshQueues, query, uniqueBodies, useServices } from '../helpers/services.js';

const v1: Keyring = { primary: 1, keys: new Map([[1, Buffer.alloc(32, 1)]]) };
const v2: Keyring = { primary: 2, keys: new Map([[1, Buffer.alloc(32, 1)], [2, Buffer.alloc(32, 2)]]) };

describe('rekey', () => {
  const env = useServices();

  it('moves every old-version token to the primary while the ETL keeps writing', async () => {
    const old = createTransformer(createMasker(v1, 'siv'));
    const rows = uniqueBodies(2000, 'old').map((b, i) => {
      const r = old(b, String(Date.UTC(2024, 0, 1)));
      if (!r.ok) throw new Error('fixture');
      return { messageId: `old-${i}`, row: r.row };
    });
    await writeRows(env.pool, rows);
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, uniqueBodies(3000, 'new'), 16);
    const masker = createMasker(v2, 'siv');
    const etl = createPipeline({
      sqs: env.sqs, pool: env.pool, transform: createTransformer(masker), log: pino({ level: 'silent' }), queueUrl, receivers: 2,
      waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, maxInFlight: 500, batchSize: 50, batchMaxAgeMs: 20, sinkConcurrency: 1,
      retryBaseMs: 20, retryMaxMs: 200, untilEmpty: true,
    }).run();
    const [moved, summary] = await Promise.all([rekeyTable(env.pool, masker, 2, 100), etl]);
    expect(moved).toBe(2000);
    expect(summary.written).toBe(3000);
    const [c] = await query<{ total: number; v2: number }>(
      env.url,
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE masked_ip LIKE 's2.%' AND masked_device_id LIKE 's2.%')::int AS v2 FROM user_logins`,
    );
    expect(c).toEqual({ total: 5000, v2: 5000 });
    const [one] = await query<{ masked_ip: string }>(env.url, `SELECT masked_ip FROM user_logins WHERE user_id = 'old-7'`);
    expect(masker.reveal('ip', one?.masked_ip ?? '')).toBe('10.0.0.7');
  });
});
