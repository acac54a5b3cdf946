import { createHash, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Keyring } from '../../src/masking/keyring.js';
import { deriveSubkey, hkdfSubkey } from '../../src/masking/subkey.js';

const k = (n: number) => createHash('sha256').update(`login-etl test key ${n}`).digest();
const ring: Keyring = { primary: 2, keys: new Map([[1, k(1)], [2, k(2)]]) };

describe('deriveSubkey (purpose subkeys for other streams, e.g. dead-letter bodies)', () => {
  it('is HKDF-SHA-256 with the masking salt and info login-etl/<purpose>/<version>', () => {
    const expected = Buffer.from(hkdfSync('sha256', k(2), 'login-etl/pii-subkey/v1', 'login-etl/dlq/2', 32));
    expect(deriveSubkey(ring, 'dlq')).toEqual({ version: 2, key: expected });
    expect(deriveSubkey(ring, 'dlq', { version: 1 }).key.equals(hkdfSubkey(k(1), 'dlq', 1, 32))).toBe(true);
    expect(deriveSubkey(ring, 'dlq', { length: 64 }).key).toHaveLength(64);
  });

  it('differs by purpose, version and context', () => {
    const keys = [
      deriveSubkey(ring, 'dlq'), deriveSubkey(ring, 'dlq', { version: 1 }), deriveSubkey(ring, 'export'),
      deriveSubkey(ring, 'dlq', { context: 'tenant-a' }), deriveSubkey(ring, 'dlq', { context: 'tenant-b' }),
    ].map((s) => s.key.toString('hex'));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('cannot produce a masking subkey: purposes are single lower-case words other than hmac and siv', () => {
    for (const bad of ['hmac', 'siv', 'siv/ip', 'hmac/device_id', 'DLQ', '', '../x', 'a'.repeat(33)]) expect(() => deriveSubkey(ring, bad)).toThrow(RangeError);
    expect(() => deriveSubkey(ring, 'dlq', { version: 3 })).toThrow(/no key with version 3/);
  });
});
