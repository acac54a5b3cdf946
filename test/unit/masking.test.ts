import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, RevealError, SIV_PADDED_BYTES } from '../../src/masking/masker.js';
import type { Keyring } from '../../src/masking/keyring.js';
import type { MaskMode, PiiField } from '../../src/masking/token.js';
import { MAX_TOKEN_LENGTH, parseToken } from '../../src/masking/token.js';

const key = (b: number) => Buffer.alloc(32, b);
const ring = (primary: number, ...versions: [number, number][]): Keyring => ({ primary, keys: new Map(versions.map(([v, b]) => [v, key(b)])) });

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.ipV6();
const deviceId = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }).filter((s) => Buffer.byteLength(s) <= 128);

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

  it('a token does not depend on what was masked before (the padded plaintext is built in one reused buffer)', () => {
    fc.assert(
      fc.property(deviceId, deviceId, fc.oneof(ipv4, ipv6), (first, second, ip) => {
        const used = createMasker(ring(1, [1, 1]), 'siv');
        used.mask('device_id', first);
        used.mask('ip', ip);
        expect(used.mask('device_id', second)).toBe(m.mask('device_id', second));
        expect(used.mask('ip', ip)).toBe(m.mask('ip', ip));
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
    // A device_id token under another key: the length says it is not an ip token, in English.
    const foreign = createMasker(ring(1, [1, 9]), 'siv').mask('device_id', '123-45-6789');
    expect(() => m.reveal('ip', foreign)).toThrow(/^not an ip token: a siv ip token is \d+ characters$/);
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

describe('tokens of existing databases', () => {
  // Written by the release before native AES-SIV (HMAC via node:crypto, AES-SIV via @noble/ciphers), with the
  // keys sha256('login-etl test key 1') as v1 and sha256('login-etl test key 2') as v2, v2 primary.
  const kat: [MaskMode, PiiField, string, string][] = [
    ['hmac', 'ip', '192.0.2.1', 'h2.RfJgHF67GdC0-Zvem73kpzZky99p-ebb0UV5NhieuUw'],
    ['hmac', 'ip', '2001:db8::1', 'h2.xPD2HxGK42h3NGwX0PE4uc42HyJk2Zs2oecqFJr9yGY'],
    ['hmac', 'device_id', '123-45-6789', 'h2.OJ034JIz_oF3mVPd6CuxCeXUjlcrHZ3J1KmRlIdk4lM'],
    ['hmac', 'device_id', '€'.repeat(42), 'h2.jLSee_OSOVAQGj7Ihk0ljF2-U7HmiN6bHP6eSI5-o68'],
    ['siv', 'ip', '192.0.2.1', 's2.1S8YXueX7dme4AbPg-5GThh5sybaHzLHBNZpMQ63vG6euC2nG_lIJsb8t4sYWn5bRb8i-0ZFYz1glC3wBkw8wg'],
    ['siv', 'ip', '2001:db8::1', 's2.YZt3VZu_SQvujW1tMKSmyuWoBBPrpU4D9LuQrEjI3eDV86gHD6H4kMVIcOpISfOcqdkaQoERpAyruGpPDKqcbg'],
    ['siv', 'device_id', '123-45-6789', 's2.5-oRc7gcLNzFga-Z8F3MKYKEKkxzHaPnovU-F9STKZnwS4zXZXu7YYv8iOCWXRIVS4BuKi0Pio2IQrhduZcUua6mHeHEhUqDJ0cSMLKaY38fMoZpi4Ujg6b8mQuxAgZX58GDAbFYUuZwDnrdsq6KP2b0V7yANX_zaC5OkZHWFu-VPHwGLK5N4EcVCb_MyO-lq4FpYOGzw6XWY9vr85mefg'],
    ['siv', 'device_id', '€'.repeat(42), 's2.va9ST7a5fJak5nAXtKqJNDuJD-RfVqZJj7pIUc7X-yIODJ7C3ZLL4eMTk4aCgO3YGJQafyLGzhXkskdnVq2aSK11raRESft3y_q_Tn1fwuA5M4cYwfxBCiI9d60Dr2PU_6ggxFt1Lfl4Vqll4imZYuLpug99Z9i9pn7SKkbrqAxW9cvDXBDuRYfs0DgoMu9oy5i5nfIE1BjCDogbpvIvHA'],
  ];
  const k = (n: number) => createHash('sha256').update(`login-etl test key ${n}`).digest();
  const keyring: Keyring = { primary: 2, keys: new Map([[1, k(1)], [2, k(2)]]) };

  it.each(kat)('%s %s %s is written and revealed as before', (mode, field, value, token) => {
    expect(createMasker(keyring, mode).mask(field, value)).toBe(token);
    expect(createMasker(keyring, mode, { context: undefined }).mask(field, value)).toBe(token);
    if (mode === 'siv') expect(createMasker(keyring, 'siv').reveal(field, token)).toBe(value);
  });

  it('gives other tokens under a PII_CONTEXT, different for each context, in both modes', () => {
    for (const [mode, field, value, token] of kat) {
      const a = createMasker(keyring, mode, { context: 'tenant-a' }).mask(field, value);
      const b = createMasker(keyring, mode, { context: 'tenant-b' }).mask(field, value);
      expect(new Set([token, a, b]).size).toBe(3);
      expect(a.length).toBe(token.length);
    }
  });

  it('a siv token of one context does not reveal under another, or without one', () => {
    const a = createMasker(keyring, 'siv', { context: 'tenant-a' });
    const t = a.mask('ip', '192.0.2.1');
    expect(a.reveal('ip', t)).toBe('192.0.2.1');
    for (const other of [createMasker(keyring, 'siv', { context: 'tenant-b' }), createMasker(keyring, 'siv')]) {
      expect(() => other.reveal('ip', t)).toThrow(expect.objectContaining({ code: 'auth_failed', message: expect.stringContaining('PII_CONTEXT') }));
    }
  });
});

describe('reveal takes tokens exactly as written', () => {
  const m = createMasker(ring(1, [1, 1]), 'siv');
  const ip = m.mask('ip', '10.0.0.1');
  const dev = m.mask('device_id', 'dev-1');
  const code = (field: PiiField, token: string) => {
    try {
      m.reveal(field, token);
      return 'revealed';
    } catch (err) {
      return (err as RevealError).code;
    }
  };

  it('has one exact length per field and mode', () => {
    expect(ip).toHaveLength(3 + 86);
    expect(dev).toHaveLength(3 + 214);
    expect(MAX_TOKEN_LENGTH).toBe(6 + 214);
  });

  it('refuses surrounding whitespace', () => {
    for (const t of [` ${ip}`, `${ip} `, `${ip}\n`, `\t${ip}`, `${ip}\r`]) expect(code('ip', t)).toBe('not_a_token');
    expect(code('ip', ip)).toBe('revealed');
  });

  it('refuses non-canonical base64url (unused trailing bits set) and padding', () => {
    // 64 bytes make 86 characters: the last one carries 2 bits, so 4 spellings decode to the same bytes.
    const last = ip.at(-1) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const i = alphabet.indexOf(last);
    expect(i % 16).toBe(0);
    for (let d = 1; d < 16; d++) {
      const twin = ip.slice(0, -1) + alphabet[i + d];
      expect(Buffer.from(twin.slice(3), 'base64url').equals(Buffer.from(ip.slice(3), 'base64url'))).toBe(true);
      expect(code('ip', twin)).toBe('not_a_token');
    }
    expect(code('ip', `${ip}==`)).toBe('not_a_token');
    expect(code('ip', `${ip.slice(0, 10)}+${ip.slice(11)}`)).toBe('not_a_token');
  });

  it('refuses any other length, the other field\'s token by name, and a 20 MB payload at once', () => {
    expect(code('ip', ip.slice(0, -1))).toBe('not_a_token');
    expect(code('ip', `${ip}AA`)).toBe('not_a_token');
    expect(code('ip', dev)).toBe('wrong_field');
    expect(code('device_id', ip)).toBe('wrong_field');
    const huge = `s1.${'A'.repeat(20 * 1024 * 1024)}`;
    expect(() => m.reveal('ip', huge)).toThrow(expect.objectContaining({ code: 'not_a_token', message: expect.stringContaining(`${huge.length} characters, longer than any token`) }));
  });
});
