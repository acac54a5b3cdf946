import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { parseFieldMap } from '../../src/transform/mapping.js';
import { createTransformer, utcDate } from '../../src/transform/transform.js';

const masker = createMasker({ primary: 1, keys: new Map([[1, Buffer.alloc(32, 1)]]) }, 'hmac');
const transform = createTransformer(masker);
const TS = String(Date.UTC(2024, 1, 29, 23, 59, 59));
const good = { user_id: 'u-1', app_version: '2.3.0', device_type: 'android', ip: '199.172.111.135', locale: 'RU', device_id: '593-47-5928' };
const body = (over: Record<string, unknown> = {}) => JSON.stringify({ ...good, ...over });

describe('transform', () => {
  it('turns a reference event into a masked row', () => {
    const r = transform(body(), TS);
    expect(r).toEqual({
      ok: true,
      row: {
        user_id: 'u-1',
        device_type: 'android',
        masked_ip: masker.mask('ip', '199.172.111.135'),
        masked_device_id: masker.mask('device_id', '593-47-5928'),
        locale: 'RU',
        app_version: 2003000,
        create_date: '2024-02-29',
      },
    });
  });

  it('makes missing or null optional fields NULL', () => {
    const r = transform(JSON.stringify({ ...good, locale: null, app_version: undefined }), TS);
    expect(r.ok && r.row).toMatchObject({ locale: null, app_version: null });
  });

  it('masks the canonical ip, so spellings of one address give one token', () => {
    const a = transform(body({ ip: '::ffff:199.172.111.135' }), TS);
    const b = transform(body({ ip: ' 199.172.111.135 ' }), TS);
    expect(a.ok && b.ok && a.row.masked_ip === b.row.masked_ip).toBe(true);
  });

  it('trims device_id before masking', () => {
    const a = transform(body({ device_id: '  593-47-5928 ' }), TS);
    const b = transform(body(), TS);
    expect(a.ok && b.ok && a.row.masked_device_id === b.row.masked_device_id).toBe(true);
  });

  it.each([
    ['not json', 'invalid_json'],
    ['[1,2]', 'not_an_object'],
    ['"text"', 'not_an_object'],
    ['null', 'not_an_object'],
    [JSON.stringify({ foo: 'oops_wrong_msg_type', bar: '123' }), 'missing_field'],
    [body({ ip: null }), 'missing_field'],
    [body({ device_id: undefined }), 'missing_field'],
    [body({ user_id: 42 }), 'invalid_type'],
    [body({ app_version: 2.3 }), 'invalid_type'],
    [body({ locale: ['RU'] }), 'invalid_type'],
    [body({ user_id: '' }), 'empty_field'],
    [body({ device_id: '   ' }), 'empty_field'],
    [body({ user_id: 'x'.repeat(129) }), 'too_long'],
    [body({ device_type: 'y'.repeat(33) }), 'too_long'],
    [body({ locale: 'z'.repeat(33) }), 'too_long'],
    [body({ device_id: 'd'.repeat(129) }), 'too_long'],
    [body({ ip: '300.1.1.1' }), 'invalid_ip'],
    [body({ app_version: '1.2.3.4' }), 'invalid_app_version'],
    [body({ app_version: '1000.0' }), 'invalid_app_version'],
    [body({ user_id: 'a\u0000b' }), 'invalid_text'],
    [body({ device_type: '\ud800' }), 'invalid_text'],
  ])('rejects %s as %s', (input, reason) => {
    const r = transform(input, TS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.reason).toBe(reason);
  });

  it('reports the first problem in column order, naming its field', () => {
    const r = transform(body({ device_type: 7, ip: 'nope', app_version: 'x' }), TS);
    expect(r).toEqual({ ok: false, rejection: { reason: 'invalid_type', detail: 'device_type: field has the wrong type (expected a string)', field: 'device_type' } });
    const s = transform(body({ device_type: '', user_id: undefined }), TS);
    expect(!s.ok && s.rejection).toEqual({ reason: 'missing_field', detail: 'user_id: required field is missing or null', field: 'user_id' });
  });

  it('checks text before length: a long field with a NUL is invalid_text', () => {
    const r = transform(body({ locale: `${'x'.repeat(40)}\u0000` }), TS);
    expect(!r.ok && r.rejection.reason).toBe('invalid_text');
  });

  it('rejects a message without SentTimestamp', () => {
    const r = transform(body(), undefined);
    expect(!r.ok && r.rejection.reason).toBe('missing_timestamp');
  });

  it('never puts the raw value in a rejection detail', () => {
    for (const over of [{ ip: '10.1.2.3x' }, { device_id: 'SECRET-DEVICE'.repeat(20) }, { ip: 12345 }]) {
      const r = transform(body(over), TS);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.rejection.detail).not.toContain('10.1.2.3');
        expect(r.rejection.detail).not.toContain('SECRET');
        expect(r.rejection.detail).not.toContain('12345');
      }
    }
  });

  it('survives hostile bodies: deep nesting, __proto__ keys, 100 KB fields', () => {
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    expect(transform(deep, TS)).toMatchObject({ ok: false, rejection: { reason: 'missing_field' } });
    const proto = JSON.stringify({ ...good }).replace('{', '{"__proto__":{"user_id":"evil"},');
    const r = transform(proto, TS);
    expect(r.ok && r.row.user_id).toBe('u-1');
    expect(transform(body({ user_id: 'x'.repeat(100_000) }), TS)).toMatchObject({ ok: false, rejection: { reason: 'too_long' } });
    expect(transform(body({ extra: 'x'.repeat(100_000) }), TS).ok).toBe(true);
  });

  it('reads nested fields through a configured mapping and ignores unknown fields', () => {
    const t = createTransformer(masker, parseFieldMap('{"ip":"client.net.ip","device_id":"client.device"}'));
    const nested = JSON.stringify({ ...good, ip: undefined, device_id: undefined, client: { net: { ip: '10.0.0.1' }, device: 'd-1' }, unknown: { x: 1 } });
    const r = t(nested, TS);
    expect(r.ok && r.row.masked_ip).toBe(masker.mask('ip', '10.0.0.1'));
  });

  it('dates by the UTC day of SentTimestamp', () => {
    expect(utcDate(String(Date.UTC(2023, 11, 31, 23, 59, 59, 999)))).toBe('2023-12-31');
    expect(utcDate(String(Date.UTC(2024, 0, 1)))).toBe('2024-01-01');
    expect(utcDate('abc')).toBeUndefined();
  });
});
