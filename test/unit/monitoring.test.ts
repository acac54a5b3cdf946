import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../src/observability/metrics.js';
import { createPipelineEvents } from '../../src/pipeline/events.js';
import { parseManifests, readRepo, ROOT, type Doc } from '../helpers/k8s.js';
import { alertRules, asPromQL, dashboard, dashboardQueries, exposedNames, metricNames } from '../helpers/monitoring.js';
import { promtool } from '../helpers/tools.js';

const repoPath = (p: string) => fileURLToPath(new URL(p, ROOT));
const tmp = mkdtempSync(join(tmpdir(), 'login-etl-monitoring-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What login-etl exports, read from a real registry's exposition (the e2e tests check a live scrape). */
const exported = exposedNames(await createMetrics(createPipelineEvents()).registry.metrics());

describe('metric names', () => {
  it('include ours, a build_info gauge, and the standard process and Node.js metrics without our prefix', () => {
    expect(exported).toContain('login_etl_build_info');
    expect(exported).toContain('process_cpu_seconds_total');
    expect(exported).toContain('nodejs_eventloop_lag_p99_seconds');
    expect([...exported].filter((n) => !n.startsWith('login_etl_') && !/^(process|nodejs)_/.test(n))).toEqual([]);
    expect([...exported].filter((n) => n.startsWith('login_etl_process') || n.startsWith('login_etl_nodejs'))).toEqual([]);
  });

  it('are extracted from expressions as Prometheus parses them', () => {
    expect(metricNames('sum by (reason) (rate(login_etl_messages_rejected_total{job=~"$job",reason!="x"}[$__rate_interval])) / on(job) group_left sum(up)').sort()).toEqual(['login_etl_messages_rejected_total', 'up']);
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) > bool 0.5 unless b offset 1h')).toEqual(['a_bucket', 'b']);
  });
});

describe('alert rules (deploy/monitoring)', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool(['check', 'rules', repoPath('deploy/monitoring/alerts.rules.yaml')]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their unit tests (`promtool test rules`), which cover every alert firing and staying quiet', () => {
    const r = promtool(['test', 'rules', repoPath('deploy/monitoring/alerts.test.yaml')]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
    const tests = (parse(readRepo('deploy/monitoring/alerts.test.yaml')) as Doc).tests.flatMap((t: Doc) => t.alert_rule_test) as Doc[];
    for (const rule of alertRules()) {
      const cases = tests.filter((t) => t.alertname === rule.alert);
      expect(cases.some((t) => t.exp_alerts.length > 0), `${rule.alert} is tested firing`).toBe(true);
      expect(cases.some((t) => t.exp_alerts.length === 0), `${rule.alert} is tested quiet`).toBe(true);
    }
  });

  it('cover what an operator must hear about', () => {
    const names = alertRules().map((r) => r.alert);
    expect(names).toEqual(expect.arrayContaining(['LoginEtlSinkDown', 'LoginEtlLagHigh', 'LoginEtlBacklogGrowing', 'LoginEtlDeadLetters', 'LoginEtlDependencyErrors', 'LoginEtlRejectRateHigh', 'LoginEtlNoProgress']));
    for (const r of alertRules()) {
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning|info)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });

  it('read only metrics login-etl exports (and Prometheus\'s own `up`)', () => {
    for (const r of alertRules()) for (const n of metricNames(r.expr)) expect(exported.has(n) || n === 'up', `${r.alert} reads ${n}`).toBe(true);
  });

  it('are the same rules in the Prometheus Operator\'s PrometheusRule (one source of truth: npm run sync:monitoring)', () => {
    const pr = parseManifests(readRepo('deploy/monitoring/prometheusrule.yaml'))[0] as Doc;
    expect(pr.kind).toBe('PrometheusRule');
    expect(pr.spec, 'prometheusrule.yaml is stale: run `npm run sync:monitoring`').toEqual(parse(readRepo('deploy/monitoring/alerts.rules.yaml')));
  });
});

describe('Grafana dashboard (deploy/monitoring/grafana-dashboard.json)', () => {
  const queries = dashboardQueries();

  it('reads only metrics login-etl exports', () => {
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.panel}: ${q.expr}`).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n), `${q.panel} reads ${n}, which login-etl does not export`).toBe(true);
    }
    for (const v of dashboard().templating.list as Doc[]) {
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(v.query?.query ?? v.query ?? '');
      if (v.type === 'query') expect(m && exported.has(m[1] ?? ''), `variable ${v.name}`).toBe(true);
    }
  });

  it('holds expressions that parse as PromQL (checked by promtool)', () => {
    const file = join(tmp, 'dashboard-exprs.yaml');
    const rules = queries.map((q, i) => ({ record: `dashboard:expr_${i}`, expr: asPromQL(q.expr) }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = promtool(['check', 'rules', file]);
    expect(r.code, r.output).toBe(0);
  });

  it('shows throughput, lag, in flight, batch latency, rejects by reason and sink state', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const needed of [
      /rate\(login_etl_rows_written_total/,
      /login_etl_oldest_message_age_seconds/,
      /login_etl_queue_messages/,
      /login_etl_messages_in_flight/,
      /histogram_quantile\([\d.]+, sum by \(le\) \(rate\(login_etl_commit_seconds_bucket/,
      /sum by \(reason\) \(rate\(login_etl_messages_rejected_total/,
      /login_etl_messages_dead_lettered_total/,
      /login_etl_sink_up/,
    ]) {
      expect(all).toMatch(needed);
    }
    const ids = (dashboard().panels as Doc[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
