import { aessiv } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAesSiv } from '../../src/masking/siv.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const key = fc.constantFrom(32, 48, 64).chain((n) => bytes(n, n));
const ads = fc.array(bytes(0, 80), { maxLength: 4 });
// Around the block boundaries that change S2V's and CMAC's paths: < 16, 16, whole blocks, partial blocks.
const plaintext = fc.oneof(bytes(0, 17), bytes(30, 50), bytes(140, 150), bytes(0, 300));

describe('native AES-SIV: RFC 5297 test vectors', () => {
  it('A.1 deterministic authenticated encryption (one associated-data string)', () => {
    const siv = createAesSiv(hex('fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'));
    const ad = hex('101112131415161718191a1b1c1d1e1f2021222324252627');
    const out = siv.encrypt(hex('112233445566778899aabbccddee'), ad);
    expect(out.toString('hex')).toBe('85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c');
    expect(siv.bind(ad).encrypt(hex('112233445566778899aabbccddee')).toString('hex')).toBe(out.toString('hex'));
    expect(siv.decrypt(out, ad)?.toString('hex')).toBe('112233445566778899aabbccddee');
  });

  it('A.2 nonce-based authenticated encryption (three associated-data strings)', () => {
    const siv = createAesSiv(hex('7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f'));
    const ad = [hex('00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100'), hex('102030405060708090a0'), hex('09f911029d74e35bd84156c5635688c0')];
    const p = hex('7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553');
    const out = siv.encrypt(p, ...ad);
    expect(out.toString('hex')).toBe('7bdb6e3b432667eb06f4d14bff2fbd0f' + 'cb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d');
    expect(siv.bind(...ad).decrypt(out)?.equals(p)).toBe(true);
  });
});

describe('native AES-SIV against @noble/ciphers aessiv (random keys, associated data, plaintexts)', () => {
  it('encrypts to the same bytes, bound or not', () => {
    fc.assert(
      fc.property(key, ads, plaintext, (k, ad, p) => {
        const expected = Buffer.from(aessiv(k, ...ad).encrypt(p)).toString('hex');
        const siv = createAesSiv(k);
        expect(siv.encrypt(p, ...ad).toString('hex')).toBe(expected);
        expect(siv.bind(...ad).encrypt(p).toString('hex')).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('decrypts what noble encrypted, and noble decrypts what it encrypted', () => {
    fc.assert(
      fc.property(key, ads, plaintext, (k, ad, p) => {
        const siv = createAesSiv(k);
        expect(siv.bind(...ad).decrypt(aessiv(k, ...ad).encrypt(p))?.equals(Buffer.from(p))).toBe(true);
        expect(Buffer.from(aessiv(k, ...ad).decrypt(siv.encrypt(p, ...ad))).equals(Buffer.from(p))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any altered bit, other associated data and another key, as noble does', () => {
    fc.assert(
      fc.property(key, ads, bytes(0, 100), fc.nat(), (k, ad, p, pick) => {
        const siv = createAesSiv(k);
        const c = siv.encrypt(p, ...ad);
        const bit = pick % (c.length * 8);
        const tampered = Buffer.from(c);
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        expect(siv.decrypt(tampered, ...ad)).toBeUndefined();
        expect(() => aessiv(k, ...ad).decrypt(tampered)).toThrow();
        expect(siv.decrypt(c, ...ad, Uint8Array.of(0))).toBeUndefined();
        const other = Uint8Array.from(k, (b, i) => (i === 0 ? b ^ 1 : b));
        expect(createAesSiv(other).decrypt(c, ...ad)).toBeUndefined();
        expect(siv.decrypt(c.subarray(0, 15), ...ad)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('keeps one instance consistent across many calls (its CBC context is reused)', () => {
    const k = Buffer.alloc(64, 7);
    const siv = createAesSiv(k).bind(Buffer.from('ip|v1'));
    for (let i = 0; i < 200; i++) {
      const p = Buffer.alloc(i % 3 === 0 ? 48 : i % 3 === 1 ? 144 : i % 40, i);
      const c = siv.encrypt(p);
      expect(c.equals(Buffer.from(aessiv(k, Buffer.from('ip|v1')).encrypt(p)))).toBe(true);
      if (i % 7 === 0) expect(siv.decrypt(Buffer.concat([Buffer.of(c[0]! ^ 0x80), c.subarray(1)]))).toBeUndefined();
      expect(siv.decrypt(c)?.equals(p)).toBe(true);
    }
  });

  it('refuses keys of other sizes', () => {
    expect(() => createAesSiv(Buffer.alloc(16))).toThrow(RangeError);
    expect(() => createAesSiv(Buffer.alloc(65))).toThrow(RangeError);
  });
});
