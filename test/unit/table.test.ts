import { describe, expect, it } from 'vitest';
import { safeJson } from '../../src/cli/escape.js';
import { formatTable } from '../../src/cli/output.js';

describe('tables the CLI prints', () => {
  it('escape terminal control characters from the data, and keep the columns aligned', () => {
    const rows = [
      { device_type: '\u001b[2J\u001b[31mred', logins: 3 },
      { device_type: 'a\rb\bc\u0007', logins: 2 },
      { device_type: 'csi\u009b31m', logins: 1 },
      { device_type: 'evil\u202eexe.txt', logins: 1 },
      { device_type: 'ios', logins: 9 },
    ];
    const out = formatTable(rows);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(out).toContain('\\x1B[2J\\x1B[31mred');
    expect(out).toContain('a\\x0Db\\x08c\\x07');
    expect(out).toContain('csi\\x9B31m');
    expect(out).toContain('evil\\u202Eexe.txt');
    const lines = out.split('\n');
    expect(lines).toHaveLength(rows.length + 2);
    const col = lines[0]?.indexOf('logins') ?? -1;
    expect(col).toBeGreaterThan(0);
    for (const l of lines.slice(2)) expect(l.slice(col)).toMatch(/^\d$/);
    expect(lines[6]).toMatch(/^ios\s+9$/);
  });

  it('escape header names too, and leave ordinary text alone', () => {
    expect(formatTable([{ 'x\u001b': 'ü ✓ 😀' }])).toBe('x\\x1B\n------\nü ✓ 😀');
  });

  it('JSON for a terminal escapes what JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = { device_type: 'a\u001bb\u009bc\u202ed\u007f', n: 1 };
    const text = safeJson(value);
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
