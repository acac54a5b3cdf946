import { describe, expect, it } from 'vitest';
import { flatten } from '../../src/transform/flatten.js';
import { parseFieldMap, DEFAULT_FIELD_MAP } from '../../src/transform/mapping.js';
import { ConfigError } from '../../src/config/errors.js';

describe('flatten', () => {
  it('produces dotted paths, keeping arrays and nulls as leaves', () => {
    const flat = flatten({ a: { b: { c: 1 } }, d: [1, 2], e: null }, 5);
    expect([...flat.entries()]).toEqual(expect.arrayContaining([['a.b.c', 1], ['d', [1, 2]], ['e', null]]));
    expect(flat.size).toBe(3);
  });

  it('stops at maxDepth without recursing, so deep nesting is cheap', () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 100_000; i++) deep = { n: deep };
    const flat = flatten({ ok: 1, deep }, 2);
    expect(flat.get('ok')).toBe(1);
    expect(flat.size).toBe(1);
  });

  it('treats __proto__ and constructor as ordinary keys', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}') as Record<string, unknown>;
    const flat = flatten(parsed, 3);
    expect(flat.get('__proto__.polluted')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('FIELD_MAP', () => {
  it('defaults to the flat reference shape and overrides single columns', () => {
    expect(parseFieldMap(undefined)).toBe(DEFAULT_FIELD_MAP);
    expect(parseFieldMap('{"ip":"client.ip"}')).toMatchObject({ ip: 'client.ip', user_id: 'user_id' });
  });

  it.each(['{', '[]', '{"nope":"x"}', '{"ip":""}', '{"ip":"a..b"}', '{"ip":3}'])('rejects %s with a ConfigError', (json) => {
    expect(() => parseFieldMap(json)).toThrow(ConfigError);
  });
});
