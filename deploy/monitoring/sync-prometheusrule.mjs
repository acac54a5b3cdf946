#!/usr/bin/env node
// Writes prometheusrule.yaml (Prometheus Operator) from alerts.rules.yaml, the one source of truth for the
// alert rules: `npm run sync:monitoring`. test/unit/monitoring.test.ts fails while the two differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const dir = new URL('./', import.meta.url);
const rules = parse(readFileSync(new URL('alerts.rules.yaml', dir), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'login-etl', labels: { 'app.kubernetes.io/name': 'login-etl' } },
  spec: rules,
};
const header = '# Generated from alerts.rules.yaml by `npm run sync:monitoring`: edit that file, not this one.\n';
writeFileSync(new URL('prometheusrule.yaml', dir), header + stringify(rule, { lineWidth: 0 }));
