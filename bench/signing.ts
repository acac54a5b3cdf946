/**
 * SigV4 micro-benchmark: µs of CPU per signed request, for a DeleteMessageBatch of ten receipt handles (the
 * hot path signs two requests per ten messages), with
 *   login-etl       src/source/signer.ts: one-shot SHA-256 and HMAC, the derived key cached;
 *   aws4            mhart/aws4's RequestSigner (the test oracle), date pinned the same way;
 *   smithy          @smithy/signature-v4, the AWS SDK's own signer (installed with @aws-sdk/client-sqs).
 * All three are checked to give the same Authorization header before anything is timed. Rounds are
 * interleaved and the median is printed.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node .bench-dist/signing.js [--rounds 7] [--n 20000]
 */
import { randomUUID } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import aws4 from 'aws4';
import { jsonRequest } from '../dist/source/client.js';
import { createSigner } from '../dist/source/signer.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1] ?? fallback) : fallback;
};
const rounds = arg('rounds', 7);
const n = arg('n', 20_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const origin = new URL('https://sqs.us-east-1.amazonaws.com');
const body = JSON.stringify({
  QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/login-queue',
  Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), ReceiptHandle: `${randomUUID()}${randomUUID()}${randomUUID()}` })),
});
const request = () => jsonRequest(origin, 'DeleteMessageBatch', body);
const amz = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

const ours = createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => credentials });
const smithy = new SignatureV4({ service: 'sqs', region: 'us-east-1', credentials, sha256: Hash.bind(null, 'sha256'), applyChecksum: false });
const signers: Record<string, (d: Date) => Promise<string>> = {
  'login-etl': async (d) => (await ours(request(), d)).authorization ?? '',
  aws4: async (d) => {
    const r = request();
    const headers = { ...r.headers, 'x-amz-date': amz(d) };
    const s = new aws4.RequestSigner({ method: 'POST', host: r.hostname, path: '/', service: 'sqs', region: 'us-east-1', headers, body, doNotModifyHeaders: true }, credentials);
    s.datetime = headers['x-amz-date'];
    return s.authHeader();
  },
  smithy: async (d) => {
    const r = request();
    const signed = await smithy.sign({ ...r, protocol: 'https:', query: {} }, { signingDate: d });
    return String(signed.headers.authorization);
  },
};

const date = new Date();
const expected = await signers['login-etl']!(date);
for (const [name, sign] of Object.entries(signers)) if ((await sign(date)) !== expected) throw new Error(`${name} gives another signature`);

async function time(sign: (d: Date) => Promise<string>, count: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) await sign(new Date());
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / count;
}

const samples = new Map<string, number[]>();
for (const sign of Object.values(signers)) await time(sign, 5000); // warm-up
for (let r = 0; r < rounds; r++) for (const [name, sign] of Object.entries(signers)) samples.set(name, [...(samples.get(name) ?? []), await time(sign, n)]);

console.log(`µs of CPU per signed DeleteMessageBatch (${body.length} bytes), median of ${rounds} interleaved rounds; Node ${process.versions.node}`);
for (const name of Object.keys(signers)) {
  const us = median(samples.get(name) ?? []);
  console.log(`${name.padEnd(10)} ${us.toFixed(1).padStart(6)} µs/request  ${(us / 5).toFixed(2).padStart(5)} µs/message`);
}
