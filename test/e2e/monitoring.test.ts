import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sendBodies } from '../../src/source/send.js';
import { REJECT_REASONS } from '../../src/transform/validate.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { ROOT } from '../helpers/k8s.js';
import { asPromQL, dashboardQueries, metricNames } from '../helpers/monitoring.js';
import { freshDatabase, freshQueues, query, sampleBodies, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';
import { promtool, requireTool } from '../helpers/tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Stops a child and waits for it: SIGTERM, then SIGKILL after `ms`. */
async function stop(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

/** `login-etl run` against a fresh queue, DLQ and database, with its HTTP port. */
async function startRun(sqs: SqsClient): Promise<{ queueUrl: string; dlqUrl: string; db: string; port: number; child: ChildProcess; done: Promise<CliResult> }> {
  const { queueUrl, dlqUrl } = await freshQueues(sqs);
  const db = await freshDatabase();
  expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  const { child, done } = startCli(['run'], { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = Number(await waitFor(() => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints'));
  return { queueUrl, dlqUrl, db, port, child, done };
}

const rowCount = async (db: string) => (await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM user_logins'))[0]?.n ?? 0;

describe('monitoring, checked by Prometheus itself', () => {
  let sqs: SqsClient;
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => stop(c)));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  afterAll(() => sqs.destroy());

  it('a real /metrics scrape of `login-etl run` passes `promtool check metrics`, with no raw PII', async () => {
    requireTool('promtool');
    const run = await startRun(sqs);
    children.push(run.child);
    const sample = await sampleBodies();
    await sendBodies(sqs, run.queueUrl, sample);
    await waitFor(async () => ((await rowCount(run.db)) >= 99 ? true : undefined), '99 rows');
    const text = await waitFor(async () => {
      const t = await (await fetch(`http://127.0.0.1:${run.port}/metrics`)).text();
      return /^login_etl_messages_dead_lettered_total 1$/m.test(t) && /^login_etl_rows_written_total 99$/m.test(t) ? t : undefined;
    }, 'metrics of the sample');
    const r = promtool(['check', 'metrics'], text);
    expect(r.output, 'promtool check metrics').toBe('');
    expect(r.code).toBe(0);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^login_etl_build_info\{version="[^"]+"\} 1$/m);
    expect(text).toMatch(/^login_etl_oldest_message_age_seconds [\d.e+-]+$/m);
    for (const reason of REJECT_REASONS) expect(text).toMatch(new RegExp(`^login_etl_messages_rejected_total\\{reason="${reason}"\\} \\d+$`, 'm'));
    for (const b of sample) {
      const o = JSON.parse(b) as { ip?: string; device_id?: string };
      if (o.ip) expect(text).not.toContain(o.ip);
      if (o.device_id) expect(text).not.toContain(o.device_id);
    }
    await stop(run.child);
    expect((await run.done).code).toBe(0);
  });

  it('a real Prometheus scrapes `login-etl run`, evaluates the dashboard, and fires the shipped DLQ alert when malformed messages flow', async () => {
    const prometheusBin = requireTool('prometheus');
    const run = await startRun(sqs);
    children.push(run.child);

    const dir = mkdtempSync(join(tmpdir(), 'login-etl-prometheus-'));
    dirs.push(dir);
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [fileURLToPath(new URL('deploy/monitoring/alerts.rules.yaml', ROOT))],
        scrape_configs: [{ job_name: 'login-etl', static_configs: [{ targets: [`127.0.0.1:${run.port}`] }] }],
      }),
    );
    const promPort = await freePort();
    const prom = spawn(prometheusBin, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(prom);
    let promLog = '';
    prom.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));
    const api = `http://127.0.0.1:${promPort}`;
    await waitFor(async () => {
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${promLog}`);
      return (await fetch(`${api}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
    }, 'Prometheus to be ready');
    const instant = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const res = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (res.status !== 'success') throw new Error(`${q}: ${res.error}`);
      return res.data.result;
    };
    const firingDlqAlerts = async () => {
      const res = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return res.data.alerts.filter((a) => a.labels.alertname === 'LoginEtlDeadLetters' && a.state === 'firing');
    };

    // Valid messages first: the series arrive, and the DLQ alert stays quiet.
    await sendBodies(sqs, run.queueUrl, uniqueBodies(200, 'prom'));
    await waitFor(async () => ((await instant('login_etl_rows_written_total'))[0]?.value[1] === '200' ? true : undefined), 'Prometheus to see 200 rows written');
    expect((await instant('up{job="login-etl"}'))[0]?.value[1]).toBe('1');
    const rejectSeries = await instant('login_etl_messages_rejected_total');
    expect(rejectSeries.map((s) => s.metric.reason).sort()).toEqual([...REJECT_REASONS].sort());
    expect(rejectSeries.every((s) => s.value[1] === '0')).toBe(true);
    expect((await instant('login_etl_build_info'))[0]?.metric.version).toBeTruthy();
    await waitFor(async () => ((await instant('login_etl_queue_messages{state="visible"}')).length > 0 ? true : undefined), 'the queue gauge');
    await sleep(2_000); // two more evaluations
    expect(await firingDlqAlerts()).toEqual([]);

    // Every dashboard expression runs on the real server; those whose series exist return data.
    const present = new Set(((await (await fetch(`${api}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    for (const q of dashboardQueries()) {
      const result = await instant(asPromQL(q.expr));
      if (metricNames(q.expr).every((n) => present.has(n))) expect(result.length, `${q.panel}: ${q.expr}`).toBeGreaterThan(0);
    }

    // Malformed messages flow: they go to the DLQ, and the shipped alert fires.
    await sendBodies(sqs, run.queueUrl, ['{"user_id": "x", "oops', 'not json at all', '[1,2,3]', '{"user_id":"u","device_type":"ios","ip":"999.1.1.1","device_id":"d"}', '{}']);
    await waitFor(async () => ((await instant('login_etl_messages_dead_lettered_total'))[0]?.value[1] === '5' ? true : undefined), 'Prometheus to see 5 dead-lettered');
    const alerts = await waitFor(async () => {
      const a = await firingDlqAlerts();
      return a.length > 0 ? a : undefined;
    }, 'LoginEtlDeadLetters to fire');
    expect(alerts[0]?.labels).toMatchObject({ alertname: 'LoginEtlDeadLetters', job: 'login-etl', severity: 'warning' });
    const byReason = Object.fromEntries((await instant('login_etl_messages_rejected_total > 0')).map((s) => [s.metric.reason, s.value[1]]));
    expect(byReason).toEqual({ invalid_json: '2', not_an_object: '1', invalid_ip: '1', missing_field: '1' });
    expect(await rowCount(run.db)).toBe(200);

    await stop(prom);
    await stop(run.child);
    expect((await run.done).code).toBe(0);
  });
});
