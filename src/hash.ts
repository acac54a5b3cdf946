import * as crypto from 'node:crypto';

/** `crypto.hash` (Node ≥ 20.12 / 21.7): a one-shot digest without a Hash object. */
type OneShot = (algorithm: string, data: string | Uint8Array, outputEncoding: 'latin1' | 'base64url' | 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** Hex SHA-256 of a string's UTF-8 bytes, one-shot where Node has it. */
export const sha256Hex: (data: string) => string = oneShot ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

const BLOCK = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * HMAC-SHA-256 (RFC 2104) under one key, returning base64url: the masking hot path, two calls per message.
 *
 * Node's `createHmac` builds an OpenSSL context per call (~2.8 µs); this computes the same function as two
 * one-shot `crypto.hash` calls over the key's precomputed inner and outer pads (~0.6 µs, bench/masking.ts).
 * The pads are written once; the value goes into a scratch buffer after the inner pad and is wiped after use.
 * Where `crypto.hash` is missing it falls back to `createHmac`. test/unit/hmac.test.ts pins it to RFC 4231's
 * vectors and to `createHmac` on random keys and values.
 */
export function hmacSha256Base64url(key: Uint8Array): (value: string) => string {
  return hmacSha256(key, 'base64url');
}

/** HMAC-SHA-256 under one key, as above, with the digest in `encoding` (SigV4 signs with hex). */
export function hmacSha256(key: Uint8Array, encoding: 'base64url' | 'hex'): (value: string) => string {
  if (!oneShot) {
    const k = crypto.createSecretKey(Buffer.from(key));
    return (value) => crypto.createHmac('sha256', k).update(value, 'utf8').digest(encoding);
  }
  const hash = oneShot;
  const k = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key;
  let inner = Buffer.alloc(BLOCK + 256, 0);
  const outer = Buffer.alloc(BLOCK + 32, 0);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (k[i] ?? 0) ^ IPAD;
    outer[i] = (k[i] ?? 0) ^ OPAD;
  }
  return (value) => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (BLOCK + value.length * 3 > inner.length) {
      const bigger = Buffer.alloc(BLOCK + value.length * 3);
      inner.copy(bigger, 0, 0, BLOCK);
      inner.fill(0);
      inner = bigger;
    }
    const n = inner.write(value, BLOCK, 'utf8');
    const innerDigest = hash('sha256', inner.subarray(0, BLOCK + n), 'latin1');
    inner.fill(0, BLOCK, BLOCK + n);
    outer.write(innerDigest, BLOCK, 'latin1');
    return hash('sha256', outer, encoding);
  };
}
