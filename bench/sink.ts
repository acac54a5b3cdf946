/** Sink strategies side by side on one PostgreSQL: the multi-row INSERT … unnest statement vs COPY into a staging table. */
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { writeRows, type LedgerRow } from '../dist/sink/writer.js';

const row = (i: number, run: string): LedgerRow => ({
  messageId: `${run}-${i}`,
  row: { user_id: `u-${i}`, device_type: 'ios', masked_ip: `h1.${randomBytes(32).toString('base64url')}`, masked_device_id: `h1.${randomBytes(32).toString('base64url')}`, locale: i % 3 ? 'RU' : null, app_version: 2003000, create_date: '2024-05-01' },
});

const esc = (v: string | number | null) => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));

/** COPY the batch into a temp table, then the same ledger-deduplicating insert from it: two round trips. */
async function writeWithCopy(client: pg.PoolClient, rows: readonly LedgerRow[]): Promise<number> {
  await client.query('BEGIN');
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS stage (message_id text, user_id text, device_type text, masked_ip text, masked_device_id text, locale text, app_version int, create_date date) ON COMMIT DELETE ROWS`);
  const text = rows.map(({ messageId: m, row: r }) => [m, r.user_id, r.device_type, r.masked_ip, r.masked_device_id, r.locale, r.app_version, r.create_date].map(esc).join('\t')).join('\n') + '\n';
  await pipeline(Readable.from([text]), client.query(copyFrom('COPY stage FROM STDIN')));
  const res = await client.query<{ written: number }>(`
    WITH fresh AS (INSERT INTO login_etl_ledger (message_id) SELECT message_id FROM stage ORDER BY message_id ON CONFLICT (message_id) DO NOTHING RETURNING message_id),
         written AS (INSERT INTO user_logins (user_id, device_type, masked_ip, masked_device_id, locale, app_version, create_date)
                     SELECT s.user_id, s.device_type, s.masked_ip, s.masked_device_id, s.locale, s.app_version, s.create_date FROM stage s JOIN fresh USING (message_id) RETURNING 1)
    SELECT count(*)::int AS written FROM written`);
  await client.query('COMMIT');
  return res.rows[0]?.written ?? 0;
}

export async function compareSinks(url: string, batches = 200, size = 500): Promise<{ insertUnnestRowsPerSec: number; copyRowsPerSec: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const client = await pool.connect();
  const measure = async (fn: (rows: LedgerRow[]) => Promise<number>, run: string) => {
    const all = Array.from({ length: batches }, (_, b) => Array.from({ length: size }, (_, i) => row(b * size + i, run)));
    const t0 = performance.now();
    let n = 0;
    for (const rows of all) n += await fn(rows);
    if (n !== batches * size) throw new Error(`${run}: wrote ${n}`);
    return Math.round(n / ((performance.now() - t0) / 1000));
  };
  try {
    const insertUnnestRowsPerSec = await measure((rows) => writeRows(client, rows), `unnest-${randomBytes(3).toString('hex')}`);
    const copyRowsPerSec = await measure((rows) => writeWithCopy(client, rows), `copy-${randomBytes(3).toString('hex')}`);
    return { insertUnnestRowsPerSec, copyRowsPerSec };
  } finally {
    client.release();
    await pool.end();
  }
}
