/**
 * Dead-letter codec benchmark: which compression goes before the AEAD (docs/privacy.md, "Dead letters").
 * For real bodies (the reference sample's login events, one at a time) and large malformed ones (100 KB to 1 MB:
 * a producer batching events into one JSON array, an event carrying a base64 attachment, an event carrying a log
 * excerpt, an event carrying non-Latin text), it prints, per codec, the encoded body size (compressed,
 * encrypted, base64) as a share of the original, and the CPU time to compress and to decompress. Medians of
 * interleaved rounds (2 shared cores are noisy).
 *
 *   npx tsc -p bench/tsconfig.json && node .bench-dist/dlq-codec.js [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { generateEvents, prng } from '../dist/demo/generate.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1] ?? fallback) : fallback;
};
const rounds = arg('rounds', 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Codec {
  name: string;
  compress: (b: Buffer) => Buffer;
  decompress: (b: Buffer) => Buffer;
}
const brotli = (q: number): Codec => ({
  name: `brotli q${q}`,
  compress: (b) =>
    zlib.brotliCompressSync(b, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length },
    }),
  decompress: (b) => zlib.brotliDecompressSync(b),
});
const deflate = (level: number): Codec => ({
  name: `deflate-raw ${level}`,
  compress: (b) => zlib.deflateRawSync(b, { level }),
  decompress: (b) => zlib.inflateRawSync(b),
});
const CODECS: Codec[] = [
  { name: 'none', compress: (b) => b, decompress: (b) => b },
  deflate(1), deflate(6), deflate(9),
  brotli(1), brotli(4), brotli(5), brotli(6), brotli(9), brotli(11),
];

/** What the encoded body costs on top of the compressed bytes: nonce, tag, base64, and a ~190-byte header. */
const encodedBytes = (compressed: number) => Math.ceil(((12 + compressed + 16) * 4) / 3) + 190;

const sample = (JSON.parse(readFileSync(new URL('../test/fixtures/login-queue-sample.json', import.meta.url), 'utf8')) as unknown[]).map((x) => JSON.stringify(x));
const r = prng(7);
const fill = (size: number, make: () => string) => {
  let s = '';
  while (s.length < size) s += make();
  return s.slice(0, size);
};
const events = generateEvents(20_000, 3, 0).bodies;
let ei = 0;
const base = { user_id: '424cdd21-063a-43a7-b91b-7ca1a833afae', app_version: '2.3.0', device_type: 'android', ip: '199.172.111.135', locale: 'RU', device_id: '593-47-5928' };
const logLine = () => {
  const e = JSON.parse(events[ei++ % events.length] ?? '{}') as { user_id: string; ip: string };
  return `2026-11-25T10:${String(Math.floor(r() * 60)).padStart(2, '0')}:${String(Math.floor(r() * 60)).padStart(2, '0')}.${Math.floor(r() * 1000)}Z ERROR auth.LoginHandler login failed user=${e.user_id} ip=${e.ip} attempt=${Math.floor(r() * 9)}\n    at com.example.auth.LoginHandler.handle(LoginHandler.java:${Math.floor(r() * 400)})\n    at com.example.http.Router.dispatch(Router.java:88)\n`;
};
const cjk = () => String.fromCodePoint(0x4e00 + Math.floor(r() * 0x5000));

const large: [string, (size: number) => string][] = [
  ['JSON array of events', (size) => `[${fill(size - 2, () => `${events[ei++ % events.length]},`).replace(/,$/, '')}]`],
  ['event + base64 attachment', (size) => JSON.stringify({ ...base, attachment: randomBytes(Math.ceil((size * 3) / 4)).toString('base64').slice(0, size - 200) })],
  ['event + log excerpt', (size) => JSON.stringify({ ...base, log: fill(size - 200, logLine) })],
  ['event + non-Latin text', (size) => JSON.stringify({ ...base, note: fill(Math.floor((size - 200) / 3), cjk) })],
];

interface Corpus { name: string; bodies: Buffer[] }
const corpora: Corpus[] = [
  { name: `login events (sample, ${sample.length} bodies of ~${Math.round(sample.reduce((a, b) => a + b.length, 0) / sample.length)} B)`, bodies: sample.map((b) => Buffer.from(b)) },
];
for (const size of [100_000, 250_000, 1_000_000]) {
  for (const [name, make] of large) corpora.push({ name: `${name}, ${size / 1000} KB`, bodies: [Buffer.from(make(size))] });
}

console.log(`dead-letter codecs: encoded size (compress + AES-GCM + base64 + header) ÷ original, CPU µs per body; median of ${rounds} rounds\n`);
for (const c of corpora) {
  const rows: string[] = [];
  const orig = c.bodies.reduce((a, b) => a + b.length, 0);
  const stats = CODECS.map(() => ({ enc: 0, comp: [] as number[], decomp: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    // Interleaved: every codec once per round, in a rotated order.
    for (let k = 0; k < CODECS.length; k++) {
      const i = (k + round) % CODECS.length;
      const codec = CODECS[i]!;
      const reps = c.bodies.length === 1 ? 1 : 5;
      let t0 = process.cpuUsage();
      let out: Buffer[] = [];
      for (let rep = 0; rep < reps; rep++) out = c.bodies.map((b) => codec.compress(b));
      let t = process.cpuUsage(t0);
      stats[i]!.comp.push((t.user + t.system) / reps / c.bodies.length);
      stats[i]!.enc = out.reduce((a, b) => a + encodedBytes(b.length), 0);
      t0 = process.cpuUsage();
      for (let rep = 0; rep < reps; rep++) for (const b of out) codec.decompress(b);
      t = process.cpuUsage(t0);
      stats[i]!.decomp.push((t.user + t.system) / reps / c.bodies.length);
    }
  }
  CODECS.forEach((codec, i) => {
    const s = stats[i]!;
    rows.push(`  ${codec.name.padEnd(14)} ${(s.enc / orig).toFixed(3).padStart(6)}   compress ${median(s.comp).toFixed(0).padStart(7)} µs   decompress ${median(s.decomp).toFixed(0).padStart(6)} µs`);
  });
  console.log(`${c.name}:\n${rows.join('\n')}\n`);
}
