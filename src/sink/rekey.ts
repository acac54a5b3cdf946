import type pg from 'pg';
import { RevealError, type Masker, type RevealFailure } from '../masking/masker.js';
import type { PiiField } from '../masking/token.js';

/** Undecryptable rows rekey sets aside before it concludes the keyring itself is wrong, and stops. */
export const MAX_SKIPPED_ROWS = 1000;

export interface SkippedRow {
  /** Where the row is now (`SELECT * FROM user_logins WHERE ctid = '(12,3)'`), until it is updated. */
  ctid: string;
  field: PiiField;
  reason: RevealFailure;
  /** The key version the token names, when it names one. */
  version?: number;
}

export interface RekeyResult {
  /** Rows whose tokens now all carry the primary version. */
  moved: number;
  /** Rows left as they were because a token would not decrypt; each is set aside once. */
  skipped: SkippedRow[];
  /** True when it stopped at MAX_SKIPPED_ROWS rather than at the end of the table. */
  stopped: boolean;
}

/**
 * Re-encrypts `siv` tokens written under older key versions to the primary, `batchSize` rows per
 * transaction. Rows are locked with SKIP LOCKED, so it is safe beside a running ETL (which only inserts
 * primary-version tokens) and resumable: each batch picks up whatever still carries an old version.
 * A row with a token that does not decrypt (wrong key, unknown version, damaged) is left unchanged, set aside
 * (not selected again) and reported; past MAX_SKIPPED_ROWS the keyring is more likely wrong than the rows,
 * and it stops.
 */
export async function rekeyTable(
  pool: pg.Pool,
  masker: Masker,
  primary: number,
  batchSize: number,
  onBatch?: (moved: number, skipped: SkippedRow[]) => void,
): Promise<RekeyResult> {
  const current = `s${primary}.%`;
  const skipped: SkippedRow[] = [];
  const skippedTids: string[] = [];
  let moved = 0;
  const client = await pool.connect();
  try {
    for (;;) {
      if (skippedTids.length >= MAX_SKIPPED_ROWS) return { moved, skipped, stopped: true };
      await client.query('BEGIN');
      try {
        const { rows } = await client.query<{ tid: string; masked_ip: string | null; masked_device_id: string | null }>(
          `SELECT ctid::text AS tid, masked_ip, masked_device_id FROM user_logins
            WHERE ((masked_ip LIKE 's%' AND masked_ip NOT LIKE $1) OR (masked_device_id LIKE 's%' AND masked_device_id NOT LIKE $1))
              AND ctid <> ALL ($3::tid[])
            LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [current, batchSize, skippedTids],
        );
        if (rows.length === 0) {
          await client.query('COMMIT');
          return { moved, skipped, stopped: false };
        }
        const updates: { tid: string; ip: string | null; dev: string | null }[] = [];
        for (const r of rows) {
          const failures: SkippedRow[] = [];
          const swap = (field: PiiField, t: string | null): string | null => {
            if (!t?.startsWith('s')) return t;
            try {
              return masker.rekey(field, t);
            } catch (err) {
              if (!(err instanceof RevealError)) throw err;
              const v = /^s([1-9][0-9]{0,3})\./.exec(t)?.[1];
              failures.push({ ctid: r.tid, field, reason: err.code, ...(v ? { version: Number(v) } : {}) });
              return t;
            }
          };
          const ip = swap('ip', r.masked_ip);
          const dev = swap('device_id', r.masked_device_id);
          if (failures.length) {
            skipped.push(...failures);
            skippedTids.push(r.tid);
          } else {
            updates.push({ tid: r.tid, ip, dev });
          }
        }
        if (updates.length) {
          await client.query(
            `UPDATE user_logins AS u SET masked_ip = v.ip, masked_device_id = v.dev
               FROM unnest($1::tid[], $2::text[], $3::text[]) AS v(t, ip, dev)
              WHERE u.ctid = v.t AND u.ctid = ANY($1::tid[])`,
            [updates.map((u) => u.tid), updates.map((u) => u.ip), updates.map((u) => u.dev)],
          );
        }
        await client.query('COMMIT');
        moved += updates.length;
        onBatch?.(moved, skipped);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    client.release();
  }
}
