/**
 * `x.toLocaleString('en-US')` for a whole number (`-1234567` → `-1,234,567`), without Intl: its first use loads
 * ICU's locale data, ~30 ms of CPU that every drain with a reject or a terminal summary paid.
 * Anything else (fractions, -0, beyond 1e21) still goes to Intl. test/unit/format.test.ts pins it to Intl.
 */
export function formatCount(x: number): string {
  if (!Number.isInteger(x) || Math.abs(x) >= 1e21 || Object.is(x, -0)) return x.toLocaleString('en-US');
  return String(x).replace(/\B(?=(\d{3})+$)/g, ',');
}
