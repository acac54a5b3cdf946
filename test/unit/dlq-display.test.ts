import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBodyMasker } from '../../src/dlq/display.js';
import { createMasker } from '../../src/masking/masker.js';
import { DEFAULT_FIELD_MAP, parseFieldMap } from '../../src/transform/mapping.js';

const keyring = { primary: 1, keys: new Map([[1, createHash('sha256').update('login-etl test key 1').digest()]]) };
const hmac = createMasker(keyring, 'hmac');
const siv = createMasker(keyring, 'siv');
const show = (body: unknown, masker = hmac, map = DEFAULT_FIELD_MAP) => {
  const r = createBodyMasker(masker, map)(typeof body === 'string' ? body : JSON.stringify(body));
  if (!r.ok) throw new Error(r.why);
  return r.value as Record<string, unknown>;
};

describe('a dead letter body as dlq list / dlq show print it', () => {
  it('replaces ip and device_id by the tokens the pipeline writes (canonical ip, trimmed device id), and keeps the rest', () => {
    const v = show({ user_id: 'u-1', device_type: 'ios', ip: ' 2001:DB8::0:1 ', device_id: ' 123-45-6789 ', locale: 'US', app_version: '1.0' });
    expect(v).toEqual({ user_id: 'u-1', device_type: 'ios', ip: hmac.mask('ip', '2001:db8::1'), device_id: hmac.mask('device_id', '123-45-6789'), locale: 'US', app_version: '1.0' });
    const s = show({ ip: '203.0.113.5', device_id: 'dev' }, siv);
    expect(siv.reveal('ip', s.ip as string)).toBe('203.0.113.5');
  });

  it('masks through FIELD_MAP paths, and the same names nested anywhere, arrays included', () => {
    const map = parseFieldMap('{"ip":"client.addr","device_id":"client.dev"}');
    const v = show({ client: { addr: '198.51.100.1', dev: 'd-1' }, batch: [{ ip: '198.51.100.2', device_id: 'd-2' }], other: { addr: '198.51.100.3' } }, hmac, map);
    expect(v).toEqual({
      client: { addr: hmac.mask('ip', '198.51.100.1'), dev: hmac.mask('device_id', 'd-1') },
      batch: [{ ip: hmac.mask('ip', '198.51.100.2'), device_id: hmac.mask('device_id', 'd-2') }],
      other: { addr: hmac.mask('ip', '198.51.100.3') },
    });
  });

  it('masks renamed fields (ip_address, clientIp, X-Forwarded-For, deviceId, udid…) and addresses inside any text or member name', () => {
    const body = {
      ip_address: '10.1.2.3', clientIp: '10.1.2.4', 'X-Forwarded-For': '10.1.2.5, 10.1.2.6', deviceId: 'abc-123', UDID: 'u-d-i-d',
      note: 'login from 192.0.2.44 via ::ffff:192.0.2.45 and 2001:db8::abcd at 10:23:45', '192.0.2.99': 'key',
      ok: 'version 1.2.3.4.5 and 999.1.1.1 are not addresses',
    };
    const v = show(body);
    const text = JSON.stringify(v);
    for (const raw of ['10.1.2.3', '10.1.2.4', '10.1.2.5', '10.1.2.6', 'abc-123', 'u-d-i-d', '192.0.2.44', '192.0.2.45', '2001:db8::abcd', '192.0.2.99']) expect(text).not.toContain(raw);
    expect(v.ip_address).toBe(hmac.mask('ip', '10.1.2.3'));
    expect(v.deviceId).toBe(hmac.mask('device_id', 'abc-123'));
    expect(v.note).toBe(`login from ${hmac.mask('ip', '192.0.2.44')} via ${hmac.mask('ip', '192.0.2.45')} and ${hmac.mask('ip', '2001:db8::abcd')} at 10:23:45`);
    expect(v.ok).toBe(body.ok);
  });

  it('masks an address followed by a port or a full stop, or after a colon (URLs, host:port, log text)', () => {
    const v = show({ url: 'http://192.0.2.50:8080/x', peer: '192.0.2.51:443', log: 'ip:192.0.2.52 seen; from 192.0.2.53. And 2001:db8::54.', t: '10:23:45 v1.2.3.4.5' });
    expect(v).toEqual({
      url: `http://${hmac.mask('ip', '192.0.2.50')}:8080/x`,
      peer: `${hmac.mask('ip', '192.0.2.51')}:443`,
      log: `ip:${hmac.mask('ip', '192.0.2.52')} seen; from ${hmac.mask('ip', '192.0.2.53')}. And ${hmac.mask('ip', '2001:db8::54')}.`,
      t: '10:23:45 v1.2.3.4.5',
    });
  });

  it('shows the type, never the value, of a PII field that is not a string or too long to mask', () => {
    const v = show({ ip: 167772161, device_id: { serial: 'S-1' }, nothing: null }, siv);
    expect(v).toEqual({ ip: '[ip: a number, not shown]', device_id: '[device_id: an object, not shown]', nothing: null });
    const long = show({ ip: '1'.repeat(60) }, siv);
    expect(long.ip).toBe('[ip: 60 characters, not shown]');
    expect(show({ ip: null }).ip).toBeNull();
  });

  it('does not show a body that is not a JSON object or array: it may hold anything', () => {
    const masker = createBodyMasker(hmac, DEFAULT_FIELD_MAP);
    expect(masker('not json 10.0.0.1 555-55-5555')).toEqual({ ok: false, why: 'not JSON' });
    expect(masker('"10.0.0.1"')).toEqual({ ok: false, why: 'JSON string, not an object' });
    expect(masker('42')).toEqual({ ok: false, why: 'JSON number, not an object' });
    expect(masker('[{"ip":"10.0.0.1"}]')).toEqual({ ok: true, value: [{ ip: hmac.mask('ip', '10.0.0.1') }] });
    // A bare value in a top-level array is not shown: nothing names it, and a device id looks like any text.
    expect(masker('["81.2.69.181","812-34-5621",7,[1]]')).toEqual({ ok: true, value: ['[a string, not shown]', '[a string, not shown]', '[a number, not shown]', '[an array, not shown]'] });
  });

  it('keeps a member named __proto__ as a member', () => {
    const v = show('{"__proto__":{"ip":"10.0.0.9"},"a":1}');
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(v)).toBe(`{"__proto__":{"ip":"${hmac.mask('ip', '10.0.0.9')}"},"a":1}`);
  });
});
