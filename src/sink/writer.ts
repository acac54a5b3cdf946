import type pg from 'pg';
import type { LoginRow } from '../transform/transform.js';
import { arrayLiteral } from './arrayLiteral.js';

export interface LedgerRow {
  /** The SQS MessageId: the idempotency key. */
  messageId: string;
  row: LoginRow;
}

/**
 * One statement, hence one transaction: record every MessageId in the ledger, skipping ids already there,
 * and insert only the rows whose id was new. Ids are sorted so concurrent batches lock in one order.
 * Built-ins are schema-qualified, so a function planted in a writable schema cannot stand in for them (sql/init.sql).
 */
const WRITE_SQL = `
WITH batch AS (
  -- ROWS FROM (…) is what unnest(a, b, …) expands to; the multi-array form cannot be schema-qualified.
  SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]),
                           pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::int[]), pg_catalog.unnest($8::date[]))
    AS b(message_id, user_id, device_type, masked_ip, masked_device_id, locale, app_version, create_date)
), fresh AS (
  INSERT INTO login_etl_ledger (message_id)
  SELECT message_id FROM batch ORDER BY message_id
  ON CONFLICT (message_id) DO NOTHING
  RETURNING message_id
), written AS (
  INSERT INTO user_logins (user_id, device_type, masked_ip, masked_device_id, locale, app_version, create_date)
  SELECT b.user_id, b.device_type, b.masked_ip, b.masked_device_id, b.locale, b.app_version, b.create_date
    FROM batch b JOIN fresh USING (message_id)
  RETURNING 1
)
SELECT pg_catalog.count(*)::int AS written FROM written`;

/** The batch as one array per column, in WRITE_SQL's parameter order. */
function columnsOf(rows: readonly LedgerRow[]): (string | number | null)[][] {
  const cols: (string | number | null)[][] = [[], [], [], [], [], [], [], []];
  for (const { messageId, row: r } of rows) {
    cols[0]!.push(messageId);
    cols[1]!.push(r.user_id);
    cols[2]!.push(r.device_type);
    cols[3]!.push(r.masked_ip);
    cols[4]!.push(r.masked_device_id);
    cols[5]!.push(r.locale);
    cols[6]!.push(r.app_version);
    cols[7]!.push(r.create_date);
  }
  return cols;
}

/** Writes rows exactly once per MessageId. `rows` must not repeat a MessageId. Returns how many were new. */
export async function writeRows(db: pg.Pool | pg.PoolClient, rows: readonly LedgerRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await db.query<{ written: number }>({ name: 'login-etl-write', text: WRITE_SQL, values: columnsOf(rows).map(arrayLiteral) });
  return res.rows[0]?.written ?? 0;
}
