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
