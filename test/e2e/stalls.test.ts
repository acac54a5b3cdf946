import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsClient } from '../../src/source/client.js';
import { createSqsClient } from '../../src/source/client.js';
import { createQueue } from '../../src/source/queue.js';
import { sendBodies } from '../../src/source/send.js';
import { startCli } from '../helpers/cli.js';
import { startFauxqsProcess } from '../helpers/fauxqsProcess.js';
import { depth, freshDatabase, query, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * A malformed event (invalid_json) of exactly `bytes` bytes, of random printable ASCII: dead letters are
 * compressed before they are encrypted, so a repeated character would fit the DLQ at any size.
 */
const bigReject = (bytes: number) => {
  const text = Array.from(randomBytes(bytes - 13), (b) => String.fromCharCode(0x23 + (b % 92)))
    .join('')
    .replaceAll('\\', '/');
  return `{"user_id": "${text}`;
};

describe('run: large rejects and stalls (CLI subprocess)', () => {
  let sqs: SqsClient;
  let db: string;
  beforeAll(async () => {
    sqs = sqsClient();
    db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  });
  afterAll(() => sqs.destroy());

  it('large rejects and a 256 KiB DLQ: no wedge; SIGTERM stops at once (not at the shutdown timeout), exit 0', async () => {
    const name = `wedge-${randomBytes(4).toString('hex')}`;
    const [queueUrl, dlqUrl] = await Promise.all([createQueue(sqs, name), createQueue(sqs, `${name}-dlq`, { MaximumMessageSize: '262144' })]);
    await sendBodies(sqs, queueUrl, [bigReject(150_000), bigReject(230_000), bigReject(200_000), bigReject(262_100), ...uniqueBodies(10, 'wedge')], { concurrency: 1 });
    const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1', SHUTDOWN_TIMEOUT_MS: '15000' });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(async () => ((await depth(sqs, dlqUrl)) === 3 ? true : undefined), 'three dead letters');
    await waitFor(() => (stderr.includes('too large for the DLQ') ? true : undefined), 'the line for the one too large');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, stderr).toBe(0);
    expect(stderr).not.toContain('shutdown timeout reached');
    expect(stderr).not.toContain('BatchRequestTooLong');
    // Nothing lost: the one too large for the DLQ is still on the source.
    expect(await depth(sqs, queueUrl)).toBe(1);
    expect((await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM user_logins WHERE user_id LIKE 'wedge-%'`))[0]?.n).toBe(10);
  });

  it('an SQS server frozen (SIGSTOP): a waiting line in the log, /readyz 503 saying what waits; both clear when it thaws', async () => {
    const fauxqs = await startFauxqsProcess();
    const own = createSqsClient({ queueUrl: fauxqs.endpoint, sqsEndpoint: fauxqs.endpoint, region: 'us-east-1' }, {});
    try {
      const queueUrl = await createQueue(own, 'frozen');
      const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1', SQS_TIMEOUT_MS: '60000' });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const port = await waitFor(() => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints');
      const readyz = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return res ? { status: res.status, text: await res.text() } : undefined;
      };
      await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), '/readyz 200');
      fauxqs.freeze();
      const blocked = await waitFor(async () => {
        const r = await readyz();
        return r?.status === 503 && r.text.includes('for SQS') ? r : undefined;
      }, '/readyz to say what waits');
      expect(blocked.text).toMatch(/^not ready: waiting \d+ s for SQS: \w+( \(\d+ calls\))? has not answered/);
      const line = await waitFor(() => stderr.split('\n').find((l) => l.includes('"waiting":{"dependency":"SQS"')), 'a waiting line');
      expect(JSON.parse(line)).toMatchObject({ level: 40, msg: expect.stringMatching(/^waiting \d+ s for SQS: /) as unknown as string });
      fauxqs.thaw();
      await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), '/readyz 200 again');
      child.kill('SIGTERM');
      expect((await done).code).toBe(0);
    } finally {
      await own.destroy();
      await fauxqs.stop();
    }
  });
});
