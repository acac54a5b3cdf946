import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeSplitting } from '../../src/sink/split.js';
import type { LedgerRow } from '../../src/sink/writer.js';

const rows = (n: number): LedgerRow[] =>
  Array.from({ length: n }, (_, i) => ({ messageId: `m${i}`, row: { user_id: `u${i}`, device_type: 'ios', masked_ip: 'h1.x', masked_device_id: 'h1.y', locale: null, app_version: null, create_date: '2024-01-01' } }));
const refuse = (code: string) => Object.assign(new Error('refused'), { code });

/** A stand-in for Postgres: a group containing any poison id fails as a whole, like one statement. */
const writer = (poison: Set<string>) => async (group: readonly LedgerRow[]) => {
  if (group.some((r) => poison.has(r.messageId))) throw refuse('23514');
  return group.length;
};

describe('writeSplitting', () => {
  it('isolates exactly the refused rows and writes all the others', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.array(fc.nat(199)), async (n, bad) => {
        const poison = new Set(bad.filter((i) => i < n).map((i) => `m${i}`));
        const seen: string[] = [];
        const r = await writeSplitting(writer(poison), rows(n), (row) => seen.push(row.messageId));
        expect(new Set(r.refused.map((x) => x.messageId))).toEqual(poison);
        expect(seen.sort()).toEqual([...poison].sort());
        expect(r.written).toBe(n - poison.size);
      }),
    );
  });

  it('lets any failure other than a refused value propagate', async () => {
    await expect(writeSplitting(async () => Promise.reject(refuse('08006')), rows(4))).rejects.toMatchObject({ code: '08006' });
    await expect(writeSplitting(async () => Promise.reject(refuse('28P01')), rows(4))).rejects.toMatchObject({ code: '28P01' });
  });
});
