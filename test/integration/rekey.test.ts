import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Keyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { MAX_SKIPPED_ROWS, rekeyTable } from '../../src/sink/rekey.js';
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
    const [result, summary] = await Promise.all([rekeyTable(env.pool, masker, 2, 100), etl]);
    expect(result).toEqual({ moved: 2000, skipped: [], stopped: false });
    expect(summary.written).toBe(3000);
    const [c] = await query<{ total: number; v2: number }>(
      env.url,
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE masked_ip LIKE 's2.%' AND masked_device_id LIKE 's2.%')::int AS v2 FROM user_logins`,
    );
    expect(c).toEqual({ total: 5000, v2: 5000 });
    const [one] = await query<{ masked_ip: string }>(env.url, `SELECT masked_ip FROM user_logins WHERE user_id = 'old-7'`);
    expect(masker.reveal('ip', one?.masked_ip ?? '')).toBe('10.0.0.7');
  });

  it('skips rows whose tokens do not decrypt, once each, and moves all the others', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const old = createTransformer(createMasker(v1, 'siv'));
    const rows = uniqueBodies(300, 'mix').map((b, i) => {
      const r = old(b, String(Date.UTC(2024, 0, 1)));
      if (!r.ok) throw new Error('fixture');
      return { messageId: `mix-${i}`, row: r.row };
    });
    await writeRows(env.pool, rows);
    // Three damaged tokens (one bit flipped in the tag), one from a key version the keyring lacks, one not a token.
    const alien = createMasker({ primary: 3, keys: new Map([[3, Buffer.alloc(32, 3)]]) }, 'siv');
    await query(env.url, `UPDATE user_logins SET masked_ip = overlay(masked_ip placing (CASE substr(masked_ip, 5, 1) WHEN 'A' THEN 'B' ELSE 'A' END) from 5 for 1) WHERE user_id IN ('mix-1', 'mix-2', 'mix-3')`);
    await query(env.url, `UPDATE user_logins SET masked_device_id = $1 WHERE user_id = 'mix-4'`, [alien.mask('device_id', 'dev-4')]);
    await query(env.url, `UPDATE user_logins SET masked_ip = 's1.garbage' WHERE user_id = 'mix-5'`);
    const masker = createMasker(v2, 'siv');
    const batches: number[] = [];
    const r = await rekeyTable(env.pool, masker, 2, 7, (moved) => batches.push(moved));
    expect(r.moved).toBe(295);
    expect(r.stopped).toBe(false);
    expect(r.skipped.map((s) => [s.field, s.reason, s.version]).sort()).toEqual(
      [['device_id', 'unknown_version', 3], ['ip', 'auth_failed', 1], ['ip', 'auth_failed', 1], ['ip', 'auth_failed', 1], ['ip', 'not_a_token', 1]].sort(),
    );
    // Each skipped row was looked at once, not re-selected batch after batch.
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(300 / 7) + 1);
    const left = await query<{ user_id: string }>(env.url, `SELECT user_id FROM user_logins WHERE masked_ip NOT LIKE 's2.%' OR masked_device_id NOT LIKE 's2.%' ORDER BY user_id`);
    expect(left.map((x) => x.user_id)).toEqual(['mix-1', 'mix-2', 'mix-3', 'mix-4', 'mix-5']);
    // Skipped rows are left exactly as they were: the good token of a bad row keeps its old version too.
    const [four] = await query<{ masked_ip: string }>(env.url, `SELECT masked_ip FROM user_logins WHERE user_id = 'mix-4'`);
    expect(createMasker(v1, 'siv').reveal('ip', four?.masked_ip ?? '')).toBe('10.0.0.4');
    // A second run finds only those five, and moves nothing.
    const again = await rekeyTable(env.pool, masker, 2, 100);
    expect(again.moved).toBe(0);
    expect(new Set(again.skipped.map((s) => s.ctid)).size).toBe(5);
  });

  it('stops when so many rows fail that the keyring is more likely wrong than the rows', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const wrong = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.alloc(32, 8)]]) }, 'siv'));
    const rows = uniqueBodies(MAX_SKIPPED_ROWS + 200, 'bad').map((b, i) => {
      const r = wrong(b, String(Date.UTC(2024, 0, 1)));
      if (!r.ok) throw new Error('fixture');
      return { messageId: `bad-${i}`, row: r.row };
    });
    await writeRows(env.pool, rows);
    const r = await rekeyTable(env.pool, createMasker(v2, 'siv'), 2, 250);
    expect(r.stopped).toBe(true);
    expect(r.moved).toBe(0);
    expect(new Set(r.skipped.map((s) => s.ctid)).size).toBe(MAX_SKIPPED_ROWS);
  });
});
