import type pg from 'pg';
import type { Masker } from '../masking/masker.js';

/**
 * Re-encrypts `siv` tokens written under older key versions to the primary, `batchSize` rows per
 * transaction. Rows are locked with SKIP LOCKED, so it is safe beside a running ETL (which only inserts
 * primary-version tokens) and resumable: each pass picks up whatever still carries an old version.
 */
export async function rekeyTable(pool: pg.Pool, masker: Masker, primary: number, batchSize: number, onBatch?: (n: number) => void): Promise<number> {
  const current = `s${primary}.%`;
  let total = 0;
  for (;;) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ tid: string; masked_ip: string | null; masked_device_id: string | null }>(
        `SELECT ctid::text AS tid, masked_ip, masked_device_id FROM user_logins
          WHERE (masked_ip LIKE 's%' AND masked_ip NOT LIKE $1) OR (masked_device_id LIKE 's%' AND masked_device_id NOT LIKE $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [current, batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return total;
      }
      const swap = (field: 'ip' | 'device_id', t: string | null) => (t?.startsWith('s') ? masker.rekey(field, t) : t);
      await client.query(
        `UPDATE user_logins AS u SET masked_ip = v.ip, masked_device_id = v.dev
           FROM unnest($1::tid[], $2::text[], $3::text[]) AS v(t, ip, dev)
          WHERE u.ctid = v.t AND u.ctid = ANY($1::tid[])`,
        [rows.map((r) => r.tid), rows.map((r) => swap('ip', r.masked_ip)), rows.map((r) => swap('device_id', r.masked_device_id))],
      );
      await client.query('COMMIT');
      total += rows.length;
      onBatch?.(total);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
