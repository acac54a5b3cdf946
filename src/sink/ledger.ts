import type pg from 'pg';

/** Deletes ledger entries older than `days`, in small batches so it never holds long locks. Returns the count. */
export async function pruneLedger(db: pg.Pool, days: number, batch = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await db.query(
      `DELETE FROM login_etl_ledger WHERE message_id IN (
         SELECT message_id FROM login_etl_ledger WHERE processed_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int) LIMIT $2)`,
      [days, batch],
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < batch) return total;
  }
}
