import { createCipheriv, timingSafeEqual, type Cipher } from 'node:crypto';

/**
 * AES-SIV (RFC 5297) on Node's native (OpenSSL) AES: S2V over AES-CMAC (RFC 4493) and AES-CTR.
 * Byte-for-byte the construction of `@noble/ciphers`' `aessiv`, about ten times faster (bench/masking.ts):
 * each call is two OpenSSL calls on long-lived cipher contexts instead of pure-JS AES.
 *
 * - CMAC is CBC-MAC with a last-block tweak. One `aes-*-cbc` context stays open (never finalised), so its
 *   chaining value is the previous call's last ciphertext block; XOR-ing that into the first block of the
 *   next message gives CBC with a zero IV again, without a new context (and key schedule) per message.
 * - CTR is the keystream `AES(Q), AES(Q+1), …` from one `aes-*-ecb` call on the counter blocks, XOR-ed in.
 * - `bind(ad)` runs the part of S2V that depends only on the associated data once, so a masking call pays
 *   for the plaintext only.
 */

const BLOCK = 16;
const ZERO = Buffer.alloc(BLOCK);

export interface AesSiv {
  /** `V || C` for the plaintext and the associated-data strings, in order (RFC 5297 §2.6). */
  encrypt(plaintext: Uint8Array, ...ad: Uint8Array[]): Buffer;
  /** The plaintext, or undefined when the tag does not verify (RFC 5297 §2.7; constant-time compare). */
  decrypt(ciphertext: Uint8Array, ...ad: Uint8Array[]): Buffer | undefined;
  /** Encryption and decryption with fixed associated data, its share of S2V computed once. */
  bind(...ad: Uint8Array[]): BoundSiv;
}

export interface BoundSiv {
  encrypt(plaintext: Uint8Array): Buffer;
  decrypt(ciphertext: Uint8Array): Buffer | undefined;
}

/** dbl() of RFC 5297 §2.3: multiplication by x in GF(2^128), into a new buffer. */
function dbl(b: Uint8Array): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK - 1; i++) out[i] = ((b[i]! << 1) | (b[i + 1]! >>> 7)) & 0xff;
  out[BLOCK - 1] = ((b[BLOCK - 1]! << 1) ^ (b[0]! & 0x80 ? 0x87 : 0)) & 0xff;
  return out;
}

function xorInto(target: Uint8Array, offset: number, x: Uint8Array): void {
  for (let i = 0; i < x.length; i++) target[offset + i]! ^= x[i]!;
}

const xor = (a: Uint8Array, b: Uint8Array): Buffer => {
  const out = Buffer.from(a);
  xorInto(out, 0, b);
  return out;
};

/** An AES-SIV instance for a 32-, 48- or 64-byte key (two AES-128, -192 or -256 keys: S2V, then CTR). */
export function createAesSiv(key: Uint8Array): AesSiv {
  if (![32, 48, 64].includes(key.length)) throw new RangeError(`AES-SIV needs a 32-, 48- or 64-byte key, not ${key.length}`);
  const half = key.length / 2;
  const bits = half * 8;
  const macKey = Buffer.from(key.subarray(0, half));
  const ctrKey = Buffer.from(key.subarray(half));

  // CMAC subkeys (RFC 4493 §2.3).
  const ecbMac = createCipheriv(`aes-${bits}-ecb`, macKey, null).setAutoPadding(false);
  const k1 = dbl(ecbMac.update(ZERO));
  const k2 = dbl(k1);
  const cbc: Cipher = createCipheriv(`aes-${bits}-cbc`, macKey, ZERO).setAutoPadding(false);
  let chain: Buffer = Buffer.from(ZERO);
  const ecb: Cipher = createCipheriv(`aes-${bits}-ecb`, ctrKey, null).setAutoPadding(false);
  macKey.fill(0);
  ctrKey.fill(0);

  // Scratch space, reused so a call allocates only what OpenSSL returns and the result: `work` holds T of S2V
  // (derived from the plaintext: wiped after each use), `counters` the CTR counter blocks.
  let work: Buffer = Buffer.alloc(0);
  let counters: Buffer = Buffer.alloc(0);
  const q = Buffer.alloc(BLOCK);
  const room = (b: Buffer, n: number): Buffer => (b.length >= n ? b : Buffer.alloc(Math.max(n, 2 * b.length)));

  /** CBC-MAC with a zero IV of `m` (whole blocks, already tweaked); consumes `m`. The result is not to be written to. */
  function cbcMac(m: Buffer): Buffer {
    xorInto(m, 0, chain);
    const out = cbc.update(m);
    if (out.length !== m.length) throw new Error('AES-CBC returned a partial block');
    chain = out.subarray(out.length - BLOCK);
    return chain;
  }

  /** AES-CMAC (RFC 4493) of any message. */
  function cmac(m: Uint8Array): Buffer {
    const whole = m.length > 0 && m.length % BLOCK === 0;
    const buf = Buffer.alloc(whole ? m.length : (Math.floor(m.length / BLOCK) + 1) * BLOCK);
    buf.set(m);
    if (!whole) buf[m.length] = 0x80;
    xorInto(buf, buf.length - BLOCK, whole ? k1 : k2);
    return cbcMac(buf);
  }

  /** S2V's running value D after the associated data (RFC 5297 §2.4, the loop over S1…Sn-1). */
  function prefix(ad: Uint8Array[]): Buffer {
    if (ad.length > 126) throw new RangeError('AES-SIV takes at most 126 associated-data strings');
    let d = cmac(ZERO);
    for (const s of ad) d = xor(dbl(d), cmac(s));
    return d;
  }

  /** V = S2V(K1, ad…, plaintext), given D after the associated data and the precomputed tweaks. */
  function finish(d: Buffer, dk1: Buffer, dblDk1: Buffer, p: Uint8Array): Buffer {
    // T, CMAC-padded and tweaked in place, in the scratch buffer (wiped after use).
    const n = p.length < BLOCK ? BLOCK : Math.ceil(p.length / BLOCK) * BLOCK;
    work = room(work, n);
    const t = work.subarray(0, n);
    t.set(p);
    t.fill(0, p.length);
    if (p.length < BLOCK) {
      // T = dbl(D) xor pad(P): one whole block, tweaked with K1.
      t[p.length] = 0x80;
      xorInto(t, 0, dblDk1);
    } else if (p.length === n) {
      // T = P xorend D; for whole blocks CMAC's tweak K1 lands on the same last block: D ^ K1.
      xorInto(t, n - BLOCK, dk1);
    } else {
      // T = P xorend D, then CMAC's padding and tweak K2 on the partial last block.
      xorInto(t, p.length - BLOCK, d);
      t[p.length] = 0x80;
      xorInto(t, n - BLOCK, k2);
    }
    try {
      return cbcMac(t);
    } finally {
      t.fill(0);
    }
  }

  /** CTR with the counter Q = V with bits 63 and 31 cleared, incremented as a 128-bit big-endian number: `data` XOR the keystream, into `out` at `at`. */
  function ctr(v: Uint8Array, data: Uint8Array, out: Uint8Array, at: number): void {
    const n = Math.ceil(data.length / BLOCK);
    counters = room(counters, n * BLOCK);
    q.set(v.subarray(0, BLOCK));
    q[8]! &= 0x7f;
    q[12]! &= 0x7f;
    for (let b = 0; b < n; b++) {
      q.copy(counters, b * BLOCK);
      for (let i = BLOCK - 1; i >= 0 && ++q[i]! === 256; i--) q[i] = 0;
    }
    ecb.update(counters.subarray(0, n * BLOCK)).copy(out, at, 0, data.length);
    xorInto(out, at, data);
  }

  function bound(d: Buffer): BoundSiv {
    const dk1 = xor(d, k1);
    const dblDk1 = xor(dbl(d), k1);
    return {
      encrypt(p) {
        const v = finish(d, dk1, dblDk1, p);
        const out = Buffer.allocUnsafe(BLOCK + p.length);
        v.copy(out, 0);
        ctr(v, p, out, BLOCK);
        return out;
      },
      decrypt(c) {
        if (c.length < BLOCK) return undefined;
        const v = c.subarray(0, BLOCK);
        const p = Buffer.alloc(c.length - BLOCK);
        ctr(v, c.subarray(BLOCK), p, 0);
        if (timingSafeEqual(finish(d, dk1, dblDk1, p), v)) return p;
        p.fill(0);
        return undefined;
      },
    };
  }

  return {
    encrypt: (p, ...ad) => bound(prefix(ad)).encrypt(p),
    decrypt: (c, ...ad) => bound(prefix(ad)).decrypt(c),
    bind: (...ad) => bound(prefix(ad)),
  };
}
