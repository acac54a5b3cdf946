import { classifyPgError } from './errors.js';
import type { LedgerRow } from './writer.js';

/** Writes one group of rows and resolves with how many were new, or throws. */
export type WriteGroup = (rows: readonly LedgerRow[]) => Promise<number>;

export interface SplitResult {
  written: number;
  /** Rows Postgres refused (SQLSTATE class 22 or 23), each isolated on its own. */
  refused: LedgerRow[];
}

/**
 * Writes rows with `write`; when Postgres refuses a value, splits the group in halves until each refused row
 * stands alone, so a poison row costs only itself. Any other failure propagates to the caller.
 */
export async function writeSplitting(write: WriteGroup, rows: readonly LedgerRow[], onRefused?: (row: LedgerRow, err: unknown) => void): Promise<SplitResult> {
  if (rows.length === 0) return { written: 0, refused: [] };
  try {
    return { written: await write(rows), refused: [] };
  } catch (err) {
    if (classifyPgError(err) !== 'data') throw err;
    const [row] = rows;
    if (rows.length === 1 && row) {
      onRefused?.(row, err);
      return { written: 0, refused: [row] };
    }
    const mid = rows.length >> 1;
    const a = await writeSplitting(write, rows.slice(0, mid), onRefused);
    const b = await writeSplitting(write, rows.slice(mid), onRefused);
    return { written: a.written + b.written, refused: [...a.refused, ...b.refused] };
  }
}
