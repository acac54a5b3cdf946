import { createHash } from 'node:crypto';
import { aessiv } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, RevealError, SIV_PADDED_BYTES } from '../../src/masking/masker.js';
import type { Keyring } from '../../src/masking/keyring.js';
import { parseToken } from '../../src/masking/token.js';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const key = (b: number) => Buffer.alloc(32, b);
const ring = (primary: number, ...versions: [number, number][]): Keyring => ({ primary, keys: new Map(versions.map(([v, b]) => [v, key(b)])) });

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.ipV6();
const deviceId = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }).filter((s) => Buffer.byteLength(s) <= 128);

describe('AES-SIV (RFC 5297 test vectors)', () => {
  it('A.1 deterministic authenticated encryption', () => {
    const out = aessiv(hex('fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'), hex('101112131415161718191a1b1c1d1e1f2021222324252627')).encrypt(
      hex('112233445566778899aabbccddee'),
    );
    expect(Buffer.from(out).toString('hex')).toBe('85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c');
  });

  it('A.2 nonce-based authenticated encryption', () => {
    const out = aessiv(
      hex('7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f'),
      hex('00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100'),
      hex('102030405060708090a0'),
      hex('09f911029d74e35bd84156c5635688c0'),
    ).encrypt(hex('7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553'));
    expect(Buffer.from(out).toString('hex')).toBe(
      '7bdb6e3b432667eb06f4d14bff2fbd0f' + 'cb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d',
    );
  });
});

describe.each(['hmac', 'siv'] as const)('%s masking', (mode) => {
  const m = createMasker(ring(1, [1, 1]), mode);

  it('is deterministic and injective on random ips and device ids', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.oneof(ipv4, ipv6), (a, b) => {
        expect(m.mask('ip', a)).toBe(m.mask('ip', a));
        expect(m.mask('ip', a) === m.mask('ip', b)).toBe(a === b);
      }),
    );
    fc.assert(
      fc.property(deviceId, deviceId, (a, b) => {
        expect(m.mask('device_id', a) === m.mask('device_id', b)).toBe(a === b);
      }),
    );
  });

  it('gives different tokens for the same value in different fields', () => {
    fc.assert(
      fc.property(ipv4, (v) => {
        expect(m.mask('ip', v)).not.toBe(m.mask('device_id', v));
      }),
    );
  });

  it('depends on the key: another key gives other tokens', () => {
    const other = createMasker(ring(1, [1, 2]), mode);
    expect(other.mask('ip', '10.0.0.1')).not.toBe(m.mask('ip', '10.0.0.1'));
  });

  it('is not an unkeyed hash of the value', () => {
    const t = parseToken(m.mask('ip', '10.0.0.1'));
    for (const algo of ['md5', 'sha1', 'sha256']) {
      expect(t?.payload.equals(createHash(algo).update('10.0.0.1').digest())).toBe(false);
    }
  });

  it('fits varchar(256) and carries mode and key version, even for the longest inputs', () => {
    const longest = ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'd'.repeat(128), '€'.repeat(42)];
    for (const v of longest) {
      const t = m.mask(v.includes(':') ? 'ip' : 'device_id', v);
      expect(t.length).toBeLessThanOrEqual(256);
      expect(parseToken(t)).toMatchObject({ mode, version: 1 });
    }
  });
});

describe('siv reveal', () => {
  const m = createMasker(ring(1, [1, 1]), 'siv');

  it('round-trips random IPv4, IPv6 and device ids', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), (v) => {
        expect(m.reveal('ip', m.mask('ip', v))).toBe(v);
      }),
    );
    fc.assert(
      fc.property(deviceId, (v) => {
        expect(m.reveal('device_id', m.mask('device_id', v))).toBe(v);
      }),
    );
  });

  it('hides value length: every token of a field has one length', () => {
    const lengths = new Set(['1.2.3.4', '255.255.255.255', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'].map((v) => m.mask('ip', v).length));
    expect(lengths.size).toBe(1);
    expect(parseToken(m.mask('ip', '1.2.3.4'))?.payload.length).toBe(16 + SIV_PADDED_BYTES.ip);
  });

  it('rejects tokens of another field', () => {
    fc.assert(
      fc.property(ipv4, (v) => {
        expect(() => m.reveal('device_id', m.mask('ip', v))).toThrow(expect.objectContaining({ code: 'wrong_field' }));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses HMAC tokens, garbage, unknown versions and the wrong key, without leaking plaintext', () => {
    const hmacToken = createMasker(ring(1, [1, 1]), 'hmac').mask('ip', '10.9.8.7');
    const cases: [string, string][] = [
      [hmacToken, 'irreversible'],
      ['nope', 'not_a_token'],
      [m.mask('ip', '10.9.8.7').replace(/^s1/, 's7'), 'unknown_version'],
      [createMasker(ring(1, [1, 9]), 'siv').mask('ip', '10.9.8.7'), 'auth_failed'],
    ];
    for (const [token, code] of cases) {
      try {
        m.reveal('ip', token);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(RevealError);
        expect((err as RevealError).code).toBe(code);
        expect((err as Error).message).not.toContain('10.9.8.7');
      }
    }
  });

  it('detects a tampered token', () => {
    const t = m.mask('ip', '10.0.0.1');
    const flipped = t.slice(0, -2) + (t.endsWith('A') ? 'B' : 'A') + t.slice(-1);
    expect(() => m.reveal('ip', flipped)).toThrow(RevealError);
  });
});

describe('rotation', () => {
  it('v1 tokens still reveal after v2 becomes primary; rekey moves them to v2', () => {
    const v1 = createMasker(ring(1, [1, 1]), 'siv');
    const v2 = createMasker(ring(2, [1, 1], [2, 2]), 'siv');
    const old = v1.mask('ip', '192.0.2.10');
    expect(v2.reveal('ip', old)).toBe('192.0.2.10');
    const moved = v2.rekey('ip', old);
    expect(parseToken(moved)?.version).toBe(2);
    expect(moved).toBe(v2.mask('ip', '192.0.2.10'));
    expect(v2.rekey('ip', moved)).toBe(moved);
  });

  it('an HMAC rotation starts a new epoch: equality holds only within a version', () => {
    const v1 = createMasker(ring(1, [1, 1]), 'hmac');
    const v2 = createMasker(ring(2, [1, 1], [2, 2]), 'hmac');
    expect(v2.mask('ip', '192.0.2.10')).not.toBe(v1.mask('ip', '192.0.2.10'));
  });

  it('HMAC cut-over keeps writing the old version until the date, then the primary', () => {
    const until = new Date('2030-01-01T00:00:00Z');
    const m = createMasker({ ...ring(2, [1, 1], [2, 2]), hmacCutover: { version: 1, until } }, 'hmac');
    const v1 = createMasker(ring(1, [1, 1]), 'hmac');
    expect(m.mask('ip', '192.0.2.10', new Date('2029-12-31T23:59:59Z'))).toBe(v1.mask('ip', '192.0.2.10'));
    expect(parseToken(m.mask('ip', '192.0.2.10', until))?.version).toBe(2);
  });
});
