import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, sqsClient, TEST_KEY } from '../helpers/services.js';

const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));

describe('bad usage and configuration exit 2 with one clear line', () => {
  it.each([
    [{}, 'no masking key'],
    [{ PII_KEY: Buffer.alloc(16).toString('base64') }, 'PII_KEY decodes to 16 bytes; at least 32 are required'],
    [{ PII_KEY: 'this is not base64!' }, 'PII_KEY is not valid base64'],
    [{ PII_KEY: TEST_KEY, SQS_RECEIVERS: 'lots' }, 'SQS_RECEIVERS (--receivers) must be a whole number from 1 to 64'],
    [{ PII_KEY: TEST_KEY, BATCH_SIZE: '1e3' }, 'BATCH_SIZE (--batch-size) must be a whole number from 1 to 10,000'],
    [{ PII_KEY: TEST_KEY, PII_MASK_MODE: 'md5' }, 'PII_MASK_MODE (--mask-mode) must be one of: hmac, siv'],
  ])('%j', async (env, message) => {
    const r = await runCli(['drain'], env);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([expect.stringContaining(message)]);
    if ('PII_KEY' in env) expect(r.stderr).not.toContain(env.PII_KEY);
  });

  it('an unknown command or flag is a usage error, in one line with commander\'s suggestion', async () => {
    const command = await runCli(['dran'], {});
    expect(command.code).toBe(2);
    expect(command.stderr.trim().split('\n')).toEqual(["login-etl: unknown command 'dran' (did you mean drain?); run with --help for usage"]);
    const flag = await runCli(['drain', '--jsn'], {});
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split('\n')).toEqual(["login-etl: unknown option '--jsn' (did you mean --json?); run with --help for usage"]);
  });

  it('usage errors of arguments and counts read as one sentence', async () => {
    const extra = await runCli(['drain', 'extra-arg'], {});
    expect(extra.code).toBe(2);
    expect(extra.stderr.trim().split('\n')).toEqual(["login-etl: too many arguments for 'drain'. Expected 0 arguments but got 1; run with --help for usage"]);
    for (const bad of ['0', 'x', '-3', '1.5', '1001']) {
      const r = await runCli(['report', '--limit', bad], {});
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`login-etl: option '--limit <n>' argument '${bad}' is invalid. must be a whole number from 1 to 1,000; run with --help for usage`]);
    }
    for (const bad of ['0', 'abc', '2.5', '-5', '1e9']) {
      const r = await runCli(['rekey', '--batch-size', bad], {});
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`login-etl: option '--batch-size <n>' argument '${bad}' is invalid. must be a whole number from 1 to 100,000; run with --help for usage`]);
    }
    // BATCH_SIZE is the pipeline's, checked against MAX_IN_FLIGHT only where messages are batched.
    const shared = { PII_KEY: TEST_KEY, BATCH_SIZE: '800' };
    expect(oneLine((await runCli(['drain'], shared)).stderr)).toEqual([expect.stringContaining('BATCH_SIZE (--batch-size) is 800 but MAX_IN_FLIGHT (--max-in-flight) is 1000')]);
    const report = await runCli(['report', '--database-url', 'postgres://u@127.0.0.1:1/x'], shared);
    expect(report.stderr).not.toContain('BATCH_SIZE');
    const help = await runCli(['redrive', '--help'], {});
    expect(help.stdout).toMatch(/--max <n>\s+move at most this many \(default: all\)/);
  });

  it('`run` on a metrics port in use names METRICS_PORT, before it touches PostgreSQL or SQS', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli(['run'], {
        PII_KEY: TEST_KEY, METRICS_PORT: String(port),
        DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/db?sslmode=disable', SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/q',
      });
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toEqual([`login-etl: cannot serve /metrics on every address port ${port}: the port is in use; choose another with METRICS_PORT (--metrics-port), 0 for any free port`]);
    } finally {
      taken.close();
    }
  });

  it('a wrong database password gives a short error without the password', async () => {
    const good = new URL(await freshDatabase());
    good.password = 'definitely-wrong-pw';
    const { queueUrl } = await freshQueues(sqsClient());
    const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: good.toString(), SQS_QUEUE_URL: queueUrl });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('definitely-wrong-pw');
    expect(oneLine(r.stderr)).toEqual([`login-etl: PostgreSQL rejected the password for user "postgres" at postgres@127.0.0.1:${good.port}${good.pathname}; check DATABASE_URL`]);
  });

  it('a missing table says to run init-db', async () => {
    const { queueUrl } = await freshQueues(sqsClient());
    const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: await freshDatabase(), SQS_QUEUE_URL: queueUrl });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual(['login-etl: table user_logins does not exist; run `login-etl init-db`']);
  });

  it('a missing queue names it', async () => {
    const { queueUrl } = await freshQueues(sqsClient());
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: `${queueUrl}-nope` });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)[0]).toContain('does not exist; check SQS_QUEUE_URL');
  });

  it('a DLQ that is the source queue itself is refused at start-up (it would loop without end), by drain and doctor', async () => {
    const { queueUrl } = await freshQueues(sqsClient());
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const env = { PII_KEY: TEST_KEY, DATABASE_URL: db, SQS_QUEUE_URL: queueUrl };
    const r = await runCli(['drain'], { ...env, SQS_DLQ_URL: queueUrl });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([`login-etl: SQS_DLQ_URL (--dlq-url) ${queueUrl} is the source queue itself: each reject would come back and be rejected again, without end; point SQS_DLQ_URL at another queue, or unset it`]);
    const d = await runCli(['doctor'], { ...env, SQS_DLQ_URL: queueUrl });
    expect(d.stdout).toMatch(/SQS dead-letter queue\s+FAIL\s+SQS_DLQ_URL \(--dlq-url\) \S+ is the source queue itself/);
  });

  it('a database port that accepts and never answers: one line that says what to check (exit 1)', async () => {
    const { queueUrl } = await freshQueues(sqsClient());
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: `postgres://u:sekret@127.0.0.1:${port}/db?sslmode=disable&connect_timeout=1`, SQS_QUEUE_URL: queueUrl });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^login-etl: PostgreSQL at u@127\\.0\\.0\\.1:${port}/db: .+; is the server up and reachable there\\? Check DATABASE_URL \\(host, port, sslmode\\)$`))]);
      expect(r.stderr).not.toContain('sekret');
    } finally {
      silent.close();
    }
  });

  it('an unreachable database is a runtime failure (exit 1), still one line', async () => {
    const { queueUrl } = await freshQueues(sqsClient());
    const r = await runCli(['drain'], { PII_KEY: TEST_KEY, DATABASE_URL: 'postgres://u:sekret@127.0.0.1:1/db', SQS_QUEUE_URL: queueUrl });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual(['login-etl: cannot reach PostgreSQL at u@127.0.0.1:1/db (ECONNREFUSED); is it running? Check DATABASE_URL']);
    expect(r.stderr).not.toContain('sekret');
  });
});

describe('--help', () => {
  it.each(['run', 'drain', 'init-db', 'send', 'demo', 'keygen', 'reveal', 'rekey', 'report', 'doctor', 'redrive'])('%s --help exits 0 and documents itself', async (cmd) => {
    const r = await runCli([cmd, '--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: login-etl ${cmd}`);
  });

  it('documents settings with their variables and defaults', async () => {
    const r = await runCli(['drain', '--help'], {});
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('env SQS_QUEUE_URL; default "http://localhost:4566/000000000000/login-queue"');
    expect(r.stdout).toContain('--batch-size');
  });
});
