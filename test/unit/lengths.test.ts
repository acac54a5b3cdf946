import { describe, expect, it } from 'vitest';
import { SOURCE_COLUMNS, type SourceColumn } from '../../src/transform/mapping.js';
import { longerThan, validateEvent } from '../../src/transform/validate.js';

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units, four UTF-8 bytes
const event = (over: Partial<Record<SourceColumn, unknown>>) =>
  ({ ...Object.fromEntries(SOURCE_COLUMNS.map((c) => [c, undefined])), user_id: 'u1', device_type: 'ios', ip: '192.0.2.1', device_id: 'd1', ...over }) as Record<SourceColumn, unknown>;

describe('lengths are counted as varchar(n) counts them: code points', () => {
  it.each([
    ['user_id', 128],
    ['device_type', 32],
    ['locale', 32],
  ] as const)('%s takes %i astral characters and refuses one more', (field, max) => {
    expect(validateEvent(event({ [field]: EMOJI.repeat(max) }))).toMatchObject({ ok: true });
    expect(validateEvent(event({ [field]: `${'a'.repeat(max - 1)}${EMOJI}` }))).toMatchObject({ ok: true });
    expect(validateEvent(event({ [field]: EMOJI.repeat(max + 1) }))).toMatchObject({ ok: false, rejection: { reason: 'too_long', detail: `${field}: field is longer than its column allows` } });
    expect(validateEvent(event({ [field]: `${EMOJI.repeat(max)}a` }))).toMatchObject({ ok: false, rejection: { reason: 'too_long' } });
    expect(validateEvent(event({ [field]: 'a'.repeat(max + 1) }))).toMatchObject({ ok: false, rejection: { reason: 'too_long' } });
  });

  it('counts code points, whatever mix of BMP and astral text', () => {
    expect(longerThan('abc', 3)).toBe(false);
    expect(longerThan('abcd', 3)).toBe(true);
    expect(longerThan(`${EMOJI}${EMOJI}${EMOJI}`, 3)).toBe(false); // 6 units, 3 points
    expect(longerThan(`${EMOJI}a${EMOJI}b`, 3)).toBe(true); // 6 units, 4 points
    expect(longerThan('é'.repeat(3), 3)).toBe(false);
    for (let i = 0; i < 200; i++) {
      const s = Array.from({ length: i % 40 }, (_, j) => ((i * 7 + j) % 3 === 0 ? EMOJI : 'x')).join('');
      expect(longerThan(s, 20)).toBe([...s].length > 20);
    }
  });
});
