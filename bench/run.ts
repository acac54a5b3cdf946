/**
 * npm run bench [-- --sizes 10000,50000,200000 --naive 5000 --repeat 3]
 * Side by side on one fauxqs process and one embedded PostgreSQL:
 *  (a) raw drain limit: 16 pollers, ReceiveMessage(10) + DeleteMessageBatch, no processing;
 *  (b) `login-etl drain` as a subprocess (masking, validation, Postgres commits included);
 *  (c) naive: one poller, one INSERT + COMMIT per message, MD5 masking.
 * Prints msg/s, b/a, b/c and peak RSS; writes bench/results/<stamp>.json and .svg.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { generateEvents } from '../dist/demo/generate.js';
import { startEmbeddedPostgres } from '../dist/demo/embedded.js';
import { initDb } from '../dist/sink/schema.js';
import { createSqsClient, type SqsClient } from '../dist/source/client.js';
import { sendBodies } from '../dist/source/send.js';
import { startFauxqsProcess } from './fauxqs.js';
import { writeChart } from './chart.js';
import { compareSinks } from './sink.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const sizes = arg('sizes', '50000').split(',').map(Number);
const naiveCap = Number(arg('naive', '5000'));
/** Each of (a) and (b) runs this many times, interleaved, and the median counts: single runs on 2 cores vary by ±10%. */
const repeat = Number(arg('repeat', '3'));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
const BIN = new URL('../bin/login-etl.js', import.meta.url).pathname;
const RAW = new URL('./raw.js', import.meta.url).pathname;

async function newQueue(sqs: SQSClient, lean: SqsClient, n: number): Promise<string> {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${randomBytes(4).toString('hex')}` }))).QueueUrl ?? '';
  const { bodies } = generateEvents(n, 42, 0.01);
  await sendBodies(lean, url, bodies, 16);
  return url;
}

/** Runs a script as its own process, sampling its peak RSS; returns its last stdout line as JSON. */
async function child<T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: T; peakRssMb: number }> {
  const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let peak = 0;
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* exited */ }
  }, 50);
  const code = await new Promise<number | null>((r) => p.on('close', r));
  clearInterval(poll);
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}`);
  return { out: JSON.parse(out.trim().split('\n').pop() ?? '{}') as T, peakRssMb: Math.round(peak) };
}

async function rawDrain(endpoint: string, url: string, n: number): Promise<{ rate: number; peakRssMb: number }> {
  const { out, peakRssMb } = await child<{ done: number; ms: number }>([RAW, endpoint, url]);
  if (out.done !== n) throw new Error(`raw drain saw ${out.done} of ${n}`);
  return { rate: out.done / (out.ms / 1000), peakRssMb };
}

interface DrainRun { rate: number; peakRssMb: number; written: number; rejected: number }

async function etlDrain(endpoint: string, url: string, dbUrl: string): Promise<DrainRun> {
  const { out: s, peakRssMb } = await child<{ received: number; written: number; rejected: number; activeMs: number }>([BIN, 'drain', '--json'], {
    SQS_QUEUE_URL: url, AWS_ENDPOINT_URL_SQS: endpoint, DATABASE_URL: dbUrl, PII_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'error',
  });
  return { rate: s.received / (s.activeMs / 1000), peakRssMb, written: s.written, rejected: s.rejected };
}

async function naive(sqs: SQSClient, url: string, dbUrl: string, n: number): Promise<number> {
  const db = new pg.Client({ connectionString: dbUrl });
  db.on('error', () => {});
  await db.connect();
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  let done = 0;
  const t0 = performance.now();
  while (done < n) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['SentTimestamp'] }));
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) break;
    for (const m of msgs) {
      let e: Record<string, string | null> = {};
      try {
        e = JSON.parse(m.Body ?? '{}') as Record<string, string | null>;
      } catch { /* a naive script would crash here; count it as skipped */ }
      if (e.user_id && e.ip && e.device_id) {
        await db.query('BEGIN');
        await db.query('INSERT INTO user_logins VALUES ($1,$2,$3,$4,$5,$6,$7)', [e.user_id, e.device_type, md5(e.ip), md5(e.device_id), e.locale, null, new Date()]);
        await db.query('COMMIT');
      }
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '0', ReceiptHandle: m.ReceiptHandle ?? '' }] }));
      done++;
    }
  }
  await db.end();
  return done / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const faux = await startFauxqsProcess();
  // Commits flushed to disk, as in production: fsync=off would flatter the per-message commits of (c).
  const pgServer = await startEmbeddedPostgres({ durable: true });
  const sqs = new SQSClient({ endpoint: faux.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, cacheMiddleware: true });
  const lean = createSqsClient({ queueUrl: faux.endpoint, sqsEndpoint: faux.endpoint, region: 'us-east-1' }, {});
  const pool = new pg.Pool({ connectionString: pgServer.url });
  await initDb(pool);
  const results = [];
  let sink: Awaited<ReturnType<typeof compareSinks>> | undefined;
  try {
    sink = await compareSinks(pgServer.url);
    await pool.query('TRUNCATE user_logins, login_etl_ledger');
    process.stderr.write(`sink, 500-row batches: INSERT … unnest ${sink.insertUnnestRowsPerSec} rows/s, COPY + INSERT ${sink.copyRowsPerSec} rows/s\n`);
    for (const n of sizes) {
      process.stderr.write(`N=${n}: loading…\n`);
      const raws: { rate: number; peakRssMb: number }[] = [];
      const drains: DrainRun[] = [];
      for (let i = 0; i < repeat; i++) {
        raws.push(await rawDrain(faux.endpoint, await newQueue(sqs, lean, n), n));
        process.stderr.write(`  (a) raw drain limit   ${Math.round(raws[i]?.rate ?? 0)} msg/s, peak RSS ${raws[i]?.peakRssMb} MB\n`);
        await pool.query('TRUNCATE user_logins, login_etl_ledger');
        drains.push(await etlDrain(faux.endpoint, await newQueue(sqs, lean, n), pgServer.url));
        process.stderr.write(`  (b) login-etl drain   ${Math.round(drains[i]?.rate ?? 0)} msg/s, peak RSS ${drains[i]?.peakRssMb} MB\n`);
      }
      const a = median(raws.map((r) => r.rate));
      const raw = { rate: a, peakRssMb: Math.max(...raws.map((r) => r.peakRssMb)) };
      const b: DrainRun = { ...(drains[0] as DrainRun), rate: median(drains.map((d) => d.rate)), peakRssMb: Math.max(...drains.map((d) => d.peakRssMb)) };
      const nNaive = Math.min(n, naiveCap);
      const c = await naive(sqs, await newQueue(sqs, lean, nNaive), pgServer.url, nNaive).catch((err: unknown) => {
        console.error(err);
        throw err;
      });
      process.stderr.write(`  (c) naive (${nNaive} msgs) ${Math.round(c)} msg/s\n`);
      results.push({ n, runs: repeat, rawRuns: raws.map((r) => Math.round(r.rate)), drainRuns: drains.map((d) => Math.round(d.rate)), rawPerSec: Math.round(a), drainPerSec: Math.round(b.rate), naivePerSec: Math.round(c), naiveMessages: nNaive, bOverA: +(b.rate / a).toFixed(3), bOverC: +(b.rate / c).toFixed(1), peakRssMb: b.peakRssMb, rawPeakRssMb: raw.peakRssMb, written: b.written, rejected: b.rejected });
    }
  } finally {
    sqs.destroy();
    await lean.destroy();
    await pool.end();
    await pgServer.destroy();
    await faux.stop();
  }
  console.table(results);
  const meta = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, sink, results };
  const dir = new URL('../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const stamp = meta.date.replace(/[:.]/g, '-');
  writeFileSync(new URL(`bench-${stamp}.json`, dir), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileSync(new URL('latest.json', dir), `${JSON.stringify(meta, null, 2)}\n`);
  writeChart(new URL('latest.svg', dir), results);
  process.stderr.write(`results: bench/results/bench-${stamp}.json, bench/results/latest.svg\n`);
}

await main();
