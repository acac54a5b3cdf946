import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAppVersion, encodeAppVersion } from '../../src/transform/appVersion.js';

describe('app_version encoding', () => {
  it.each([
    ['2.3.0', 2003000],
    ['0.96', 96000],
    ['3.7', 3007000],
    ['2.00', 2000000],
    ['7', 7000000],
    ['999.999.999', 999999999],
  ])('%s → %i', (text, n) => {
    expect(encodeAppVersion(text)).toBe(n);
  });

  it.each(['', '1.2.3.4', '1000.0', 'v1.2', '1..2', '1.2.', ' 1.2', '-1.0', '1.2a'])('rejects %j', (text) => {
    expect(encodeAppVersion(text)).toBeUndefined();
  });

  it('preserves order and decodes exactly', () => {
    const part = fc.integer({ min: 0, max: 999 });
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (a, b) => {
        const ea = encodeAppVersion(a.join('.')) ?? -1;
        const eb = encodeAppVersion(b.join('.')) ?? -1;
        const cmp = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
        expect(Math.sign(ea - eb)).toBe(Math.sign(cmp));
        expect(decodeAppVersion(ea)).toBe(a.join('.'));
        expect(ea).toBeLessThanOrEqual(2 ** 31 - 1);
      }),
    );
  });
});
