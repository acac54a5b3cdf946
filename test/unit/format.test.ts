import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCount } from '../../src/format.js';

describe('formatCount', () => {
  it('groups thousands as en-US does', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(-1234567)).toBe('-1,234,567');
  });

  it('equals Intl for every number: whole numbers across magnitudes, and the fractions and oddities it hands to Intl', () => {
    const value = fc.oneof(
      fc.integer({ min: -1e12, max: 1e12 }),
      fc.integer({ min: 0, max: 20 }).map((e) => 10 ** e - 1),
      fc.double({ noNaN: false }),
      fc.constantFrom(-0, 1.005, Number.MAX_SAFE_INTEGER, 1e21, -1e21, Infinity, NaN),
    );
    fc.assert(fc.property(value, (x) => {
      expect(formatCount(x)).toBe(x.toLocaleString('en-US'));
    }), { numRuns: 20_000 });
  });
});
