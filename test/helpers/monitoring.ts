import { parse } from 'yaml';
import { readRepo, type Doc } from './k8s.js';

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/** Metric names an expression reads (PromQL, with Grafana's $variables): identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w$.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    const id = m[1] ?? '';
    if (!KEYWORDS.has(id.toLowerCase())) names.add(id);
  }
  return [...names];
}

/** Every series name a registry's text exposition can hold (histograms: _bucket, _sum, _count). */
export function exposedNames(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.add(name ?? '');
    if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_sum', '_count']) out.add(`${name}${s}`);
  }
  return out;
}

export interface DashboardQuery {
  panel: string;
  expr: string;
}

export const dashboard = (): Doc => JSON.parse(readRepo('deploy/monitoring/grafana-dashboard.json')) as Doc;

/** Every PromQL expression in the dashboard's panels (rows flattened). */
export function dashboardQueries(d: Doc = dashboard()): DashboardQuery[] {
  const panels = (d.panels as Doc[]).flatMap((p) => [p, ...((p.panels as Doc[] | undefined) ?? [])]);
  return panels.flatMap((p) => ((p.targets as Doc[] | undefined) ?? []).map((t) => ({ panel: String(p.title), expr: String(t.expr) })));
}

/** A dashboard expression as Prometheus would run it: Grafana's variables replaced. */
export const asPromQL = (expr: string, rate = '1m'): string => expr.replaceAll('$__rate_interval', rate).replaceAll('$job', '.*');

/** Every alerting rule of the shipped rules file. */
export function alertRules(): Doc[] {
  const rules = parse(readRepo('deploy/monitoring/alerts.rules.yaml')) as Doc;
  return (rules.groups as Doc[]).flatMap((g) => g.rules as Doc[]).filter((r) => r.alert);
}
