/**
 * Masking micro-benchmark: µs per mask, per field, for
 *   hmac          HMAC-SHA-256 on one-shot crypto.hash over precomputed pads (src/hash.ts), the default mode;
 *   hmac (createHmac)  the same tokens with a node:crypto Hmac object per call: what hmac mode ran before;
 *   siv (noble)   AES-SIV from @noble/ciphers, pure JS: what siv mode ran before;
 *   siv (native)  AES-SIV on Node's OpenSSL AES (src/masking/siv.ts): what it runs now.
 * Same keys, subkeys, padding and token format for all; the two SIVs are checked to give identical tokens
 * before anything is timed. Rounds are interleaved and the median is printed (2 shared cores are noisy).
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node .bench-dist/masking.js [--rounds 7] [--n 20000]
 */
import { createCipheriv, createHash, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { aessiv } from '@noble/ciphers/aes.js';
import { createMasker } from '../dist/masking/masker.js';
import { hkdfSubkey } from '../dist/masking/subkey.js';
import { formatToken, SIV_PADDED_BYTES, type PiiField } from '../dist/masking/token.js';
import type { Keyring } from '../dist/masking/keyring.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1] ?? fallback) : fallback;
};
const rounds = arg('rounds', 7);
const n = arg('n', 20_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const keyring: Keyring = { primary: 1, keys: new Map([[1, createHash('sha256').update('bench').digest()]]) };
const values: Record<PiiField, string[]> = {
  ip: Array.from({ length: 4096 }, (_, i) => (i % 4 ? `10.${(i >> 8) & 255}.${i & 255}.${i % 251}` : `2001:db8::${i.toString(16)}`)),
  device_id: Array.from({ length: 4096 }, () => `${randomBytes(3).readUIntBE(0, 3) % 1000}-${randomBytes(1)[0]! % 100}-${randomBytes(2).readUInt16BE(0) % 10000}`),
};

/** The siv masking of the previous release: @noble/ciphers' aessiv on the same subkey, AD and padding. */
function nobleSiv(field: PiiField): (value: string) => string {
  const key = hkdfSubkey(keyring.keys.get(1)!, `siv/${field}`, 1, 64);
  const ad = Buffer.from(`${field}|v1`);
  return (value) => {
    const p = new Uint8Array(SIV_PADDED_BYTES[field]);
    const b = Buffer.from(value, 'utf8');
    p.set(b);
    p[b.length] = 0x80;
    return formatToken('siv', 1, aessiv(key, ad).encrypt(p));
  };
}

/** The hmac masking of the previous release: an Hmac object per token. */
function createHmacMask(field: PiiField): (value: string) => string {
  const key = createSecretKey(hkdfSubkey(keyring.keys.get(1)!, `hmac/${field}`, 1, 32));
  return (value) => formatToken('hmac', 1, createHmac('sha256', key).update(value, 'utf8').digest());
}

const hmac = createMasker(keyring, 'hmac');
const native = createMasker(keyring, 'siv');
const impls: Record<string, (field: PiiField) => (v: string) => string> = {
  hmac: (f) => (v) => hmac.mask(f, v),
  'hmac (createHmac)': createHmacMask,
  'siv (noble)': nobleSiv,
  'siv (native)': (f) => (v) => native.mask(f, v),
};

for (const field of ['ip', 'device_id'] as const) {
  const noble = nobleSiv(field);
  const old = createHmacMask(field);
  for (const v of values[field].slice(0, 500)) {
    if (old(v) !== hmac.mask(field, v)) throw new Error(`the two HMAC implementations disagree on a ${field}`);
  }
  for (const v of values[field].slice(0, 500)) {
    if (noble(v) !== native.mask(field, v)) throw new Error(`native and noble AES-SIV disagree on a ${field}`);
  }
}

function time(fn: (v: string) => string, vs: string[], count: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += fn(vs[i & 4095]!).length;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable');
  return ns / count / 1000;
}

const samples = new Map<string, number[]>();
for (const make of Object.values(impls)) for (const f of ['ip', 'device_id'] as const) time(make(f), values[f], 5000); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name, make] of Object.entries(impls)) {
    for (const f of ['ip', 'device_id'] as const) {
      const k = `${name}|${f}`;
      samples.set(k, [...(samples.get(k) ?? []), time(make(f), values[f], name === 'siv (noble)' ? n / 4 : n)]);
    }
  }
}

console.log(`µs per mask (median of ${rounds} interleaved rounds; Node ${process.versions.node}, OpenSSL ${process.versions.openssl})`);
console.log('mode                ip      device_id   per message (both fields)');
for (const name of Object.keys(impls)) {
  const ip = median(samples.get(`${name}|ip`) ?? []);
  const dev = median(samples.get(`${name}|device_id`) ?? []);
  console.log(`${name.padEnd(18)} ${ip.toFixed(2).padStart(6)}  ${dev.toFixed(2).padStart(9)}   ${(ip + dev).toFixed(2).padStart(8)}`);
}

// The building blocks, to show where the native SIV's time goes: a new OpenSSL context (and key schedule) per
// call costs more than the AES work itself, so siv.ts keeps its contexts open.
const key32 = randomBytes(32);
const block48 = randomBytes(48);
const open = createCipheriv('aes-256-ecb', key32, null).setAutoPadding(false);
const blocks: Record<string, () => unknown> = {
  'createCipheriv(aes-256-ctr) + update(48 B)': () => createCipheriv('aes-256-ctr', key32, block48.subarray(0, 16)).update(block48),
  'update(48 B) on an open aes-256-ecb context': () => open.update(block48),
};
console.log('\nbuilding blocks, µs per call');
for (const [name, fn] of Object.entries(blocks)) {
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) xs.push(time(() => (fn(), 'x'), ['x'], n));
  console.log(`${median(xs).toFixed(2).padStart(6)}  ${name}`);
}
