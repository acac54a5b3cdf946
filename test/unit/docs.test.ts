import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rangeText, SETTINGS, type Setting } from '../../src/config/spec.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README configuration table', () => {
  const rows = readme.split('\n').filter((l) => /^\| `[A-Z_]+`/.test(l));

  it('lists every setting with its flag and default', () => {
    for (const s of Object.values(SETTINGS) as Setting[]) {
      const row = rows.find((r) => r.startsWith(`| \`${s.env}\``));
      expect(row, s.env).toBeDefined();
      if (s.flag) expect(row).toContain(`\`${s.flag.split(' ')[0]}\``);
      expect(row).toContain(s.default === undefined ? '—' : `\`${String(s.default)}\``);
      const range = rangeText(s);
      if (range) expect(row).toContain(`\`${String(s.default)}\` (${range})`);
    }
  });

  it('lists nothing the code does not know', () => {
    const known = new Set((Object.values(SETTINGS) as Setting[]).map((s) => s.env));
    for (const r of rows) expect(known.has(/^\| `([A-Z_]+)`/.exec(r)?.[1] ?? '')).toBe(true);
  });
});

describe('README benchmark results', () => {
  it('every bench run the README cites is tracked by git (bench/results/ is ignored: each run must be added with -f)', () => {
    const cited = [...new Set(readme.match(/bench-\d{4}-\d{2}-\d{2}T[\d-]+Z\.json/g) ?? [])];
    expect(cited.length).toBeGreaterThan(0);
    const tracked = new Set(execFileSync('git', ['ls-files', 'bench/results'], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' }).split('\n'));
    expect(cited.filter((f) => !tracked.has(`bench/results/${f}`))).toEqual([]);
  });
});
