import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { runCli, startCli } from '../helpers/cli.js';
import { depth, freshDatabase, freshQueues, query, rowCounts, sampleBodies, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('login-etl run', () => {
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  it('serves /healthz, /readyz and /metrics with login_etl_* series, logs no PII, and exits 0 on SIGTERM under load', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const sample = await sampleBodies();
    await sendBodies(sqs, queueUrl, sample);
    const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1', LOG_LEVEL: 'debug' });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await waitFor(() => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints');
    const base = `http://127.0.0.1:${port}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status, await ready.text()).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    await waitFor(async () => (((await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM user_logins'))[0]?.n ?? 0) >= 99 ? true : undefined), '99 rows');
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return /login_etl_rows_written_total 99\b/.test(text) ? text : undefined;
    }, 'metrics to count 99 rows');
    for (const series of ['login_etl_messages_received_total 100', 'login_etl_messages_rejected_total{reason="missing_field"} 1', 'login_etl_batch_rows_count', 'login_etl_commit_seconds_bucket', 'login_etl_messages_in_flight', 'login_etl_queue_messages{state="visible"}', 'login_etl_duplicates_skipped_total 0', 'process_cpu_seconds_total']) {
      expect(metrics).toContain(series);
    }

    // Under load: SIGTERM while a new burst is being consumed.
    await sendBodies(sqs, queueUrl, uniqueBodies(5000, 'load'), 16);
    await sleep(300);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const loaded = await rowCounts(db, 'load');
    expect(loaded.total).toBe(loaded.distinct);
    expect(loaded.total + (await depth(sqs, queueUrl))).toBe(5000);

    // Captured logs over PII-bearing messages contain none of the raw values, and no key.
    const all = r.stderr;
    expect(all.length).toBeGreaterThan(500);
    for (const b of sample) {
      const o = JSON.parse(b) as { ip?: string; device_id?: string };
      if (o.ip) expect(all).not.toContain(o.ip);
      if (o.device_id) expect(all).not.toContain(o.device_id);
    }
    expect(all).not.toContain(TEST_KEY);
    expect(all).not.toContain(new URL(db).password);
    const [n] = await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM user_logins');
    expect(n?.n).toBe(99 + loaded.total);
  });

  it('/readyz answers 503 with the reason when Postgres is unusable', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1' });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await waitFor(() => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints');
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 'ready');
    await query(db, 'ALTER TABLE login_etl_ledger RENAME TO moved_away');
    // The dependency check is cached for a few seconds (probes must not load the database): wait for it to expire.
    const res = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return r.status === 503 ? r : undefined;
    }, 'readyz to fail');
    expect(await res.text()).toContain('ledger table login_etl_ledger does not exist');
    await query(db, 'ALTER TABLE moved_away RENAME TO login_etl_ledger');
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  });
});
