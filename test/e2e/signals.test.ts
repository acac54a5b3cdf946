import { createServer, type Server, type Socket } from 'node:net';
import type { SqsClient } from '../../src/source/client.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { queueDepth } from '../../src/source/queue.js';
import { lastJson, runCli, startCli, type CliResult } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, rowCounts, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface DrainJson {
  received: number;
  written: number;
  complete: boolean;
  ended: string;
  signal: string | null;
  unfinished: number;
  elapsedMs: number;
  activeMs: number;
  startupMs: number;
}

/** Starts the CLI with LOGIN_ETL_DEBUG=1 and resolves once its stop-signal handlers are installed. */
async function startWatched(args: string[], env: Record<string, string>) {
  const cli = startCli(args, { ...env, LOGIN_ETL_DEBUG: '1' });
  let stderr = '';
  cli.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => (stderr.includes('stop signals handled from here on') ? true : undefined), 'the signal handlers');
  return { ...cli, stderr: () => stderr };
}

/** A TCP server that accepts connections and never answers: start-up checks against it wait. */
async function blackHole(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Holds an ACCESS EXCLUSIVE lock on user_logins until released: the sink's writes wait, and so does a graceful stop. */
async function lockTable(url: string): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE user_logins IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

const exitFor = { SIGINT: 130, SIGTERM: 143 } as const;

describe('signals: truthful exits', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it('a signal during start-up (PostgreSQL not answering yet) stops drain at once: 143/130, "interrupted", complete: false', async () => {
    const hole = await blackHole();
    try {
      const { queueUrl } = await freshQueues(sqs);
      const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: `postgres://u:p@127.0.0.1:${hole.port}/db`, PII_KEY: TEST_KEY };
      // From right after the handlers are installed (modules still loading) to well into the checks.
      for (const [delay, signal] of [[0, 'SIGTERM'], [40, 'SIGINT'], [150, 'SIGTERM'], [400, 'SIGINT']] as const) {
        const cli = await startWatched(['drain', '--json'], env);
        await sleep(delay);
        cli.child.kill(signal);
        const r = await cli.done;
        expect(r.signal, `killed by the default action at ${delay} ms`).toBeNull();
        expect(r.code, r.stderr).toBe(exitFor[signal]);
        expect(lastJson<DrainJson>(r.stdout)).toMatchObject({ received: 0, complete: false, ended: 'signal-during-start-up', signal });
        expect(r.stderr).toContain('stopped during start-up; nothing was received');
      }
      // The same in text: the summary says "interrupted".
      const cli = await startWatched(['drain'], env);
      await sleep(100);
      cli.child.kill('SIGTERM');
      const r = await cli.done;
      expect(r.code).toBe(143);
      expect(r.stdout).toMatch(/^interrupted by SIGTERM during start-up, after [\d.]+ s: nothing was received\n$/);
    } finally {
      hole.close();
    }
  });

  it('a signal during start-up stops run at once with 0 (a normal stop for a service)', async () => {
    const hole = await blackHole();
    try {
      const { queueUrl } = await freshQueues(sqs);
      const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: `postgres://u:p@127.0.0.1:${hole.port}/db`, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' };
      for (const [delay, signal] of [[0, 'SIGTERM'], [150, 'SIGINT'], [400, 'SIGTERM']] as const) {
        const cli = await startWatched(['run'], env);
        await sleep(delay);
        cli.child.kill(signal);
        const r = await cli.done;
        expect(r.signal, `killed by the default action at ${delay} ms`).toBeNull();
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain('stopped during start-up; nothing was received');
      }
    } finally {
      hole.close();
    }
  });

  it('SIGTERM at any moment of a real drain: never the default action; exit code, JSON and the database agree; nothing lost', async () => {
    const total = 3000;
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'early'), 16);
    // A short visibility timeout: what a stop leaves in flight comes back quickly for the next drain.
    const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, BATCH_SIZE: '100', SQS_VISIBILITY_TIMEOUT: '2' };
    for (const delay of [0, 60, 200, 500, 900]) {
      const cli = await startWatched(['drain', '--json'], env);
      await sleep(delay);
      cli.child.kill('SIGTERM');
      const r: CliResult = await cli.done;
      expect(r.signal, `killed by the default action at ${delay} ms`).toBeNull();
      const s = lastJson<DrainJson>(r.stdout);
      // Either it was interrupted (143, not complete) or it had drained the queue before the signal (0, complete).
      expect([r.code, s.complete], r.stderr).toEqual(s.complete ? [0, true] : [143, false]);
      if (!s.complete) expect(['signal', 'signal-during-start-up']).toContain(s.ended);
      const rows = await rowCounts(db, 'early');
      expect(rows.total).toBe(rows.distinct);
    }
    const final = await runCli(['drain', '--json'], env);
    expect(final.code, final.stderr).toBe(0);
    expect(lastJson<DrainJson>(final.stdout).complete).toBe(true);
    expect(await rowCounts(db, 'early')).toEqual({ total, distinct: total });
    expect(await depth(sqs, queueUrl)).toBe(0);
  });

  it('SIGINT mid-drain: exit 130, the summary says "interrupted by SIGINT", and its counts match the database', async () => {
    const total = 20_000;
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, uniqueBodies(total, 'int'), 16);
    const cli = startCli(['drain'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, BATCH_SIZE: '100' });
    await waitFor(async () => ((await rowCounts(db, 'int')).total > 0 ? true : undefined), 'the first rows');
    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/^interrupted by SIGINT after [\d.,]+ s: the queue was not drained; what was in hand was committed and deleted\n/);
    expect(r.stdout).not.toContain('drained in');
    const written = Number(/written\s+([\d,]+)/.exec(r.stdout)?.[1]?.replace(/,/g, ''));
    const rows = await rowCounts(db, 'int');
    expect(rows.total).toBe(written);
    expect(rows.total).toBeLessThan(total);
    expect(rows.total + (await depth(sqs, queueUrl))).toBe(total);
  });

  describe('a stop that cannot finish (the table is locked)', () => {
    async function blockedDrain(prefix: string, extra: Record<string, string>, args = ['drain', '--json']) {
      const { queueUrl } = await freshQueues(sqs);
      const db = await freshDatabase();
      expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
      await sendBodies(sqs, queueUrl, uniqueBodies(500, prefix));
      const lock = await lockTable(db);
      const env = { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1', SQS_VISIBILITY_TIMEOUT: '2', ...extra };
      const cli = await startWatched(args, env);
      await waitFor(async () => ((await queueDepth(sqs, queueUrl)).inFlight > 0 ? true : undefined), 'messages in flight');
      return { cli, lock, env, db, queueUrl };
    }

    /** After the lock is gone, a full drain finds every message exactly once. */
    async function nothingLost(prefix: string, env: Record<string, string>, db: string, queueUrl: string) {
      const final = await runCli(['drain', '--json'], env);
      expect(final.code, final.stderr).toBe(0);
      expect(await rowCounts(db, prefix)).toEqual({ total: 500, distinct: 500 });
      expect(await depth(sqs, queueUrl)).toBe(0);
    }

    it('drain: the shutdown timeout exits 143 with complete: false and the unfinished count', async () => {
      const { cli, lock, env, db, queueUrl } = await blockedDrain('tmo', { SHUTDOWN_TIMEOUT_MS: '1500' });
      cli.child.kill('SIGTERM');
      const r = await cli.done;
      await lock.release();
      expect(r.code, r.stderr).toBe(143);
      const s = lastJson<DrainJson>(r.stdout);
      expect(s).toMatchObject({ complete: false, ended: 'shutdown-timeout', signal: 'SIGTERM', written: 0 });
      expect(s.unfinished).toBeGreaterThan(0);
      expect(r.stderr).toContain('shutdown timeout reached; unfinished messages will reappear on the queue');
      await nothingLost('tmo', env, db, queueUrl);
    });

    it('drain: a second signal exits at once with its own code (SIGTERM, then SIGINT: 130)', async () => {
      const { cli, lock, env, db, queueUrl } = await blockedDrain('twice', { SHUTDOWN_TIMEOUT_MS: '120000' });
      cli.child.kill('SIGTERM');
      await waitFor(() => (cli.stderr().includes('stopping: flushing') ? true : undefined), 'the graceful stop');
      cli.child.kill('SIGINT');
      const r = await cli.done;
      await lock.release();
      expect(r.code, r.stderr).toBe(130);
      const s = lastJson<DrainJson>(r.stdout);
      expect(s).toMatchObject({ complete: false, ended: 'second-signal', signal: 'SIGINT' });
      expect(s.unfinished).toBeGreaterThan(0);
      expect(r.stderr).toContain('second signal: exiting now');
      await nothingLost('twice', env, db, queueUrl);
    });

    it('run: a stop cut short by the shutdown timeout is not a clean stop: 143', async () => {
      const { cli, lock, env, db, queueUrl } = await blockedDrain('runtmo', { SHUTDOWN_TIMEOUT_MS: '1500' }, ['run']);
      cli.child.kill('SIGTERM');
      const r = await cli.done;
      await lock.release();
      expect(r.code, r.stderr).toBe(143);
      expect(r.stderr).toContain('shutdown timeout reached');
      expect(r.stderr).toMatch(/"ended":"shutdown-timeout".*"msg":"stopped"/);
      await nothingLost('runtmo', env, db, queueUrl);
    });
  });
});
