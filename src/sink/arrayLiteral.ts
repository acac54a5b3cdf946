/** Elements that must be escaped inside a quoted array element. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;

const quoted = (v: string | number | null): string => {
  if (v === null) return 'NULL';
  const s = String(v);
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(ESCAPE, '\\$&')}"` : `"${s}"`;
};

/**
 * A one-dimensional PostgreSQL array literal, `{"a","b",NULL}`: the same text node-postgres's `prepareValue`
 * writes for a JS array of strings, numbers and nulls (every element quoted, `"` and `\` escaped), built with
 * one `join` instead of a string concatenation and two regex replaces per element. The write path sends eight
 * of these per batch; node-postgres's builder allocated ~1.7 KB per row for them (docs/performance.md).
 * test/unit/arrayLiteral.test.ts pins it to node-postgres's output.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'string' || NEEDS_ESCAPE.test(v)) return `{${values.map(quoted).join(',')}}`;
  }
  return values.length === 0 ? '{}' : `{"${values.join('","')}"}`;
}
