import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayLiteral } from '../../src/sink/arrayLiteral.js';

/** node-postgres's own parameter serializer: what it sent for a JS array before. */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown };

const element = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('"', '\\', '\\"', '{a,b}', 'NULL', '', ' ', 'a"b\\c', '2026-12-04'),
  fc.integer({ min: -1, max: 1_000_000_000 }),
  fc.constant(null),
);

describe('PostgreSQL array literal', () => {
  it('is the text node-postgres writes for the same array: quotes, backslashes, NULLs, numbers, braces and empty strings', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 30 }), (values) => {
        expect(arrayLiteral(values)).toBe(prepareValue(values));
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes what would end or break an element', () => {
    expect(arrayLiteral(['a"b', 'c\\d', null, '', 7, 'NULL'])).toBe('{"a\\"b","c\\\\d",NULL,"","7","NULL"}');
    expect(arrayLiteral(['plain', 'x,y', '{}'])).toBe('{"plain","x,y","{}"}');
    expect(arrayLiteral([])).toBe('{}');
  });
});
