import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { pruneLedger } from '../../src/sink/ledger.js';
import { checkSchema, initDb } from '../../src/sink/schema.js';
import { writeRows, type LedgerRow } from '../../src/sink/writer.js';
import { freshDatabase, query } from '../helpers/services.js';

const row = (i: number): LedgerRow => ({
  messageId: `m-${i}`,
  row: { user_id: `u-${i}`, device_type: 'ios', masked_ip: `h1.ip${i % 3}`, masked_device_id: `h1.dev${i}`, locale: i % 2 ? null : 'RU', app_version: 2003000, create_date: '2024-05-01' },
});

describe('Postgres sink', () => {
  let url: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    url = await freshDatabase();
    pool = new pg.Pool({ connectionString: url, max: 4 });
  });
  afterAll(() => pool.end());

  it('refuses to start without the table, with a clear message', async () => {
    await expect(checkSchema(pool)).rejects.toBeInstanceOf(ConfigError);
    await expect(checkSchema(pool)).rejects.toThrow('table user_logins does not exist; run `login-etl init-db`');
  });

  it('init-db is idempotent and creates the reference table exactly', async () => {
    await initDb(pool);
    await initDb(pool);
    await Promise.all([initDb(pool), initDb(pool)]);
    await checkSchema(pool);
    const cols = await query<{ column_name: string; data_type: string; character_maximum_length: number | null }>(
      url,
      `SELECT column_name, data_type, character_maximum_length FROM information_schema.columns WHERE table_name = 'user_logins' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => `${c.column_name}:${c.data_type}:${c.character_maximum_length ?? ''}`)).toEqual([
      'user_id:character varying:128', 'device_type:character varying:32', 'masked_ip:character varying:256',
      'masked_device_id:character varying:256', 'locale:character varying:32', 'app_version:integer:', 'create_date:date:',
    ]);
  });

  it('writes each MessageId once, however often it is redelivered', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => row(i));
    expect(await writeRows(pool, batch)).toBe(50);
    expect(await writeRows(pool, batch)).toBe(0);
    expect(await writeRows(pool, [...batch.slice(0, 10), row(50)])).toBe(1);
    const [n] = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM user_logins');
    expect(n?.n).toBe(51);
  });

  it('stays exactly-once when overlapping batches commit concurrently', async () => {
    const ids = Array.from({ length: 400 }, (_, i) => row(1000 + i));
    const shuffled = [...ids].reverse();
    const results = await Promise.all([writeRows(pool, ids), writeRows(pool, shuffled), writeRows(pool, ids.slice(100, 300))]);
    expect(results.reduce((a, b) => a + b, 0)).toBe(400);
    const [n] = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM user_logins WHERE user_id LIKE 'u-1___'`);
    expect(n?.n).toBe(400);
  });

  it('prunes ledger entries past the retention period only', async () => {
    await query(url, `UPDATE login_etl_ledger SET processed_at = now() - interval '20 days' WHERE message_id IN ('m-1', 'm-2')`);
    expect(await pruneLedger(pool, 15)).toBe(2);
    const [n] = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM login_etl_ledger WHERE message_id IN ('m-1', 'm-2', 'm-3')`);
    expect(n?.n).toBe(1);
  });

  it('reports a table of the wrong shape', async () => {
    const other = await freshDatabase();
    await query(other, 'CREATE TABLE user_logins(user_id varchar(10), device_type varchar(32))');
    const p = new pg.Pool({ connectionString: other });
    try {
      await expect(checkSchema(p)).rejects.toThrow(/column user_id is character varying\(10\); expected varchar\(128\).*column masked_ip is missing/);
    } finally {
      await p.end();
    }
  });

  it('decodes app_version and groups duplicates in the analyst views', async () => {
    const [v] = await query<{ v: string }>(url, 'SELECT login_etl_app_version(96000) AS v');
    expect(v?.v).toBe('0.96.0');
    const ips = await query<{ masked_ip: string; users: number }>(url, 'SELECT masked_ip, users::int FROM login_etl_shared_ips ORDER BY masked_ip');
    expect(ips.map((r) => r.masked_ip)).toEqual(['h1.ip0', 'h1.ip1', 'h1.ip2']);
  });
});
