import { createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  acceptingDeadLetters, createDeadLetterDecoder, createDeadLetterEncoder, DeadLetterError, ENVELOPE_PREFIX, type DeadLetterAttributes,
} from '../../src/dlq/codec.js';
import { batchBySize, sqsMessageBytes } from '../../src/source/size.js';
import type { Keyring } from '../../src/masking/keyring.js';
import type { MessageAttributeValue } from '../../src/source/queue.js';

const k = (n: number) => createHash('sha256').update(`login-etl test key ${n}`).digest();
const v1: Keyring = { primary: 1, keys: new Map([[1, k(1)]]) };
const rotated: Keyring = { primary: 2, keys: new Map([[1, k(1)], [2, k(2)]]) };
const other: Keyring = { primary: 1, keys: new Map([[1, k(9)]]) };

const event = JSON.stringify({ user_id: 'u-1', device_type: 'ios', ip: '203.0.113.77', device_id: '123-45-6789', locale: null, app_version: '1.2' });
const meta = { sourceMessageId: 'src-1', reason: 'invalid_ip', field: 'ip' };
const base = { reason: 'invalid_ip', source_message_id: 'src-1' };

/** Attributes as a receive returns them. */
const received = (a: DeadLetterAttributes): Record<string, MessageAttributeValue> =>
  Object.fromEntries(Object.entries(a).map(([n, v]) => [n, typeof v === 'string' ? { DataType: 'String', StringValue: v } : v]));

const encode = (ring = v1, body = event, m: { sourceMessageId: string; reason: string; field?: string | undefined } = meta) => createDeadLetterEncoder(ring, 'encrypted')(body, { reason: m.reason, source_message_id: m.sourceMessageId }, m);

describe('dead-letter codec: encrypted bodies', () => {
  it('holds no readable value, and decodes back to the exact body with the readable attributes', () => {
    const out = encode();
    expect(out.body.startsWith(ENVELOPE_PREFIX)).toBe(true);
    expect(out.body).toMatch(/^[A-Za-z0-9._-]+$/);
    for (const secret of ['203.0.113.77', '123-45-6789']) expect(out.body).not.toContain(secret);
    // A 3-character value such as 'u-1' turns up in random base64url about once in 1,000 bodies, so the short
    // values are looked for where text could leak: in the readable header, and in the ciphertext's bytes.
    const [header = '', payload = ''] = out.body.slice(ENVELOPE_PREFIX.length).split('.');
    const readable = Buffer.from(header, 'base64url').toString('utf8');
    expect(JSON.parse(readable)).toMatchObject({ id: 'src-1', r: 'invalid_ip' });
    const bytes = Buffer.from(payload, 'base64url').toString('latin1');
    for (const secret of ['u-1', 'ios', '203.0.113.77', '123-45-6789']) {
      expect(readable).not.toContain(secret);
      expect(bytes).not.toContain(secret);
    }
    expect(received(out.attributes)).toEqual({
      reason: { DataType: 'String', StringValue: 'invalid_ip' },
      source_message_id: { DataType: 'String', StringValue: 'src-1' },
      field: { DataType: 'String', StringValue: 'ip' },
      body_bytes: { DataType: 'Number', StringValue: String(Buffer.byteLength(event)) },
      encoding: { DataType: 'String', StringValue: 'aes-256-gcm' },
      key_version: { DataType: 'Number', StringValue: '1' },
    });
    const d = createDeadLetterDecoder(v1)({ body: out.body, attributes: received(out.attributes) });
    expect(d).toEqual({ body: event, encrypted: true, keyVersion: 1, sourceMessageId: 'src-1', reason: 'invalid_ip', field: 'ip', compressed: false });
    // Without its attributes too: the body is self-contained.
    expect(createDeadLetterDecoder(v1)({ body: out.body }).body).toBe(event);
  });

  it('is AES-256-GCM under the dlq HKDF subkey, with the prefix and header as associated data (an independent decryption)', () => {
    const big = JSON.stringify(Array.from({ length: 20 }, () => JSON.parse(event) as unknown));
    const out = encode(v1, big);
    const [, , header = '', payload = ''] = out.body.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ k: 1, id: 'src-1', r: 'invalid_ip', f: 'ip', n: Buffer.byteLength(big), z: 'br' });
    const key = Buffer.from(hkdfSync('sha256', k(1), 'login-etl/pii-subkey/v1', 'login-etl/dlq/1', 32));
    const sealed = Buffer.from(payload, 'base64url');
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    d.setAAD(Buffer.from(`${ENVELOPE_PREFIX}${header}`));
    d.setAuthTag(sealed.subarray(-16));
    const plain = Buffer.concat([d.update(sealed.subarray(12, -16)), d.final()]);
    expect(brotliDecompressSync(plain).toString()).toBe(big);
  });

  it('uses a fresh nonce each time: the same body encrypts differently', () => {
    expect(encode().body).not.toBe(encode().body);
  });

  it('never repeats a nonce across the pool its nonces are drawn from (1,000 dead letters: the pool refills twice), and each decrypts', () => {
    const bodies = Array.from({ length: 1000 }, () => encode().body);
    const nonces = bodies.map((b) => Buffer.from(b.split('.').pop() ?? '', 'base64url').subarray(0, 12).toString('hex'));
    expect(nonces.every((n) => n.length === 24)).toBe(true);
    expect(new Set(nonces).size).toBe(1000);
    for (const body of bodies) expect(createDeadLetterDecoder(v1)({ body }).body).toBe(event);
  });

  it('round-trips bodies of every kind exactly: empty, non-Latin, astral, control characters, 1 MB', () => {
    const bodies = ['', ' ', '{"a":"\u00e9\u4e2d\u{1F600}"}', 'line1\r\nline2\ttab', `[${Array.from({ length: 6000 }, () => event).join(',')}]`, 'x'];
    const decode = createDeadLetterDecoder(v1);
    for (const body of bodies) {
      const out = encode(v1, body);
      expect(decode({ body: out.body, attributes: received(out.attributes) }).body).toBe(body);
    }
  });

  it('compresses JSON (a 1 MB array of events encodes to under 40% of its size), not a short body', () => {
    const big = `[${Array.from({ length: 7000 }, (_, i) => event.replace('u-1', `u-${i}`)).join(',')}]`;
    const out = encode(v1, big);
    expect(out.body.length).toBeLessThan(0.4 * big.length);
    expect(received(out.attributes).encoding?.StringValue).toBe('aes-256-gcm+brotli');
    // A login event: compressing saves a few bytes and costs more than the encryption.
    expect(received(encode().attributes).encoding?.StringValue).toBe('aes-256-gcm');
  });

  it('refuses an altered body, header, nonce or tag: authentication failed', () => {
    const out = encode();
    const decode = createDeadLetterDecoder(v1);
    const [prefix1, prefix2, header = '', payload = ''] = out.body.split('.');
    const flip = (s: string, i: number) => `${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    // Another header that still parses: another source id, authenticated as associated data.
    const forged = Buffer.from(Buffer.from(header, 'base64url').toString().replace('src-1', 'src-2')).toString('base64url');
    const cases = [
      `${prefix1}.${prefix2}.${forged}.${payload}`,
      `${prefix1}.${prefix2}.${header}.${flip(payload, 0)}`, // nonce
      `${prefix1}.${prefix2}.${header}.${flip(payload, 30)}`, // ciphertext
      `${prefix1}.${prefix2}.${header}.${flip(payload, payload.length - 3)}`, // tag
    ];
    for (const body of cases) {
      const err = (() => {
        try {
          decode({ body });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(DeadLetterError);
      expect((err as DeadLetterError).failure).toBe('auth_failed');
      expect((err as DeadLetterError).code).toBe('ETL_ERR_DLQ_AUTH_FAILED');
      expect((err as Error).message).not.toContain('203.0.113.77');
    }
    expect(() => decode({ body: `${ENVELOPE_PREFIX}garbage` })).toThrow(/damaged/);
    expect(() => decode({ body: `${prefix1}.${prefix2}.${header}.${payload}!` })).toThrow(/damaged/);
  });

  it('refuses a body moved under another message\'s attributes (swapped)', () => {
    const a = encode();
    const b = encode(v1, event, { sourceMessageId: 'src-2', reason: 'missing_field', field: 'device_id' });
    const decode = createDeadLetterDecoder(v1);
    expect(() => decode({ body: a.body, attributes: received(b.attributes) })).toThrow(/source_message_id attribute does not match the encrypted body, which belongs to source message src-1/);
    for (const name of ['reason', 'field', 'key_version']) {
      const attributes = { ...received(a.attributes), [name]: { DataType: 'String', StringValue: '7' } };
      expect(() => decode({ body: a.body, attributes }), name).toThrow(expect.objectContaining({ failure: 'swapped' }));
    }
    // A raw body under attributes that claim encryption was replaced.
    expect(() => decode({ body: event, attributes: received(a.attributes) })).toThrow(expect.objectContaining({ failure: 'malformed' }));
  });

  it('decrypts with the version it names after a rotation, and says which version is missing', () => {
    const old = encode(v1);
    expect(createDeadLetterDecoder(rotated)({ body: old.body, attributes: received(old.attributes) }).body).toBe(event);
    const fresh = encode(rotated);
    expect(received(fresh.attributes).key_version?.StringValue).toBe('2');
    expect(() => createDeadLetterDecoder(v1)({ body: fresh.body })).toThrow(/key version 2, which the keyring does not hold/);
    expect(() => createDeadLetterDecoder(other)({ body: old.body })).toThrow(expect.objectContaining({ failure: 'auth_failed' }));
    expect(() => createDeadLetterDecoder(undefined)({ body: old.body })).toThrow(/no masking key is configured/);
  });

  it('re-seals a dead letter that comes back (never wraps twice) and passes an undecryptable one on unchanged', () => {
    const first = encode();
    const again = encode(v1, first.body, { sourceMessageId: 'src-9', reason: 'missing_field', field: 'user_id' });
    const d = createDeadLetterDecoder(v1)({ body: again.body, attributes: received(again.attributes) });
    expect(d).toMatchObject({ body: event, sourceMessageId: 'src-9', reason: 'missing_field' });
    // Another key's dead letter (or one whose key version is gone) is sent on as it was, attributes from its header.
    const foreign = encode(other);
    const passed = encode(v1, foreign.body, { sourceMessageId: 'src-3', reason: 'invalid_json', field: undefined });
    expect(passed).toEqual(foreign);
    expect(createDeadLetterDecoder(other)({ body: passed.body, attributes: received(passed.attributes) }).body).toBe(event);
  });
});

describe('dead-letter codec: raw bodies (DLQ_BODY=raw) and old dead letters', () => {
  it('raw mode keeps the body and adds field, body_bytes and encoding=raw', () => {
    const out = createDeadLetterEncoder(v1, 'raw')(event, base, meta);
    expect(out.body).toBe(event);
    expect(received(out.attributes)).toMatchObject({ field: { StringValue: 'ip' }, encoding: { StringValue: 'raw' }, body_bytes: { DataType: 'Number' } });
    expect(createDeadLetterDecoder(v1)({ body: out.body, attributes: received(out.attributes) })).toMatchObject({ body: event, encrypted: false, reason: 'invalid_ip' });
  });

  it('reads a dead letter from before encryption (reason and source_message_id only) as raw, without a key', () => {
    const d = createDeadLetterDecoder(undefined)({ body: event, attributes: received(base) });
    expect(d).toEqual({ body: event, encrypted: false, compressed: false, sourceMessageId: 'src-1', reason: 'invalid_ip', field: undefined });
  });
});

describe('acceptingDeadLetters (an encrypted dead letter moved back to the source without login-etl redrive)', () => {
  it('hands the transform the decrypted body, anything else unchanged', () => {
    const seen: string[] = [];
    const t = acceptingDeadLetters((body: string, ts: string | undefined) => seen.push(`${body}|${ts}`), v1);
    t(encode().body, '1');
    t('{"plain":1}', '2');
    const foreign = encode(other).body;
    t(foreign, '3');
    expect(seen).toEqual([`${event}|1`, '{"plain":1}|2', `${foreign}|3`]);
  });
});

describe('SQS sizes for redrive batches', () => {
  it('counts body and attribute names, types and values as SQS does', () => {
    expect(sqsMessageBytes({ body: 'héllo' })).toBe(6);
    expect(sqsMessageBytes({ body: 'x', attributes: { reason: 'r', n: { DataType: 'Number', StringValue: '12' } } })).toBe(1 + 6 + 6 + 1 + 1 + 6 + 2);
  });

  it('packs at most 10 entries and the byte limit per batch, and sets apart what cannot fit alone', () => {
    const items = [300, 300, 500, 100, 2000, ...Array.from({ length: 12 }, () => 1)].map((n, i) => ({ i, out: { body: 'x'.repeat(n) } }));
    const { batches, tooLarge } = batchBySize(items, (x) => sqsMessageBytes(x.out), 1000);
    expect(tooLarge.map((t) => t.i)).toEqual([4]);
    expect(batches.map((b) => b.map((x) => x.i))).toEqual([[0, 1], [2, 3, 5, 6, 7, 8, 9, 10, 11, 12], [13, 14, 15, 16]]);
    for (const b of batches) expect(b.reduce((a, x) => a + sqsMessageBytes(x.out), 0)).toBeLessThanOrEqual(1000);
  });
});
