import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { LoginEtlError } from '../errors.js';
import type { Keyring } from '../masking/keyring.js';
import { deriveSubkey } from '../masking/subkey.js';
import type { MessageAttributeValue } from '../source/queue.js';

/**
 * Dead-letter bodies, encrypted (the default, `DLQ_BODY=encrypted`) or raw (`DLQ_BODY=raw`).
 *
 * An encrypted body is one line of ASCII, self-contained (it decrypts without its message attributes):
 *
 *   login-etl-dlq.v1.<base64url(header JSON)>.<base64url(nonce ‖ ciphertext ‖ tag)>
 *
 * The header names the key version (`k`), the source message id (`id`), the reject reason (`r`) and field
 * (`f`), the original body's UTF-8 size (`n`) and the compression (`z`). The plaintext is the original body,
 * Brotli-compressed when it is 1 KiB or more and that makes it smaller; the cipher is AES-256-GCM with a random 96-bit nonce under the
 * keyring's `dlq` subkey of version `k`, and the associated data is the ASCII text before the last dot
 * (prefix and header), so none of them can be changed or moved to another message without failing
 * authentication. The readable attributes repeat the header for listing without decrypting; decoding
 * checks that they agree with it (a body moved under another message's attributes is refused).
 */
export const ENVELOPE_PREFIX = 'login-etl-dlq.v1.';

/** `DLQ_BODY`: what a dead letter's body holds. */
export type DlqBodyMode = 'encrypted' | 'raw';

/** Message attribute names of a dead letter. `reason` and `source_message_id` predate the others. */
export const DLQ_ATTR = {
  reason: 'reason',
  sourceMessageId: 'source_message_id',
  field: 'field',
  bodyBytes: 'body_bytes',
  encoding: 'encoding',
  keyVersion: 'key_version',
} as const;

/** The `encoding` attribute's values. Dead letters from before the attribute existed have none: raw. */
export const ENCODING = { encrypted: 'aes-256-gcm', encryptedBrotli: 'aes-256-gcm+brotli', raw: 'raw' } as const;

/**
 * Brotli quality 5 in text mode: chosen by measurement (bench/dlq-codec.ts). On JSON and log text it
 * compresses as well as deflate -9 or better at a fraction of its CPU (1 MB JSON array: 0.29 of the original
 * after encryption and base64, ~20 ms), and unlike quality 4 it also shrinks non-Latin text (0.83 against
 * 0.97). Quality 9 and 11 gain a few percent for 3 to 60 times the CPU.
 */
const BROTLI_QUALITY = 5;
/**
 * Bodies shorter than this are not compressed: a login event (~150 bytes) shrinks by a few bytes, and setting
 * up Brotli costs more than the rest of the encoding (~60 µs against ~15 µs per dead letter).
 */
const COMPRESS_FROM_BYTES = 1024;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Largest original body a header may declare: far above SQS's 1 MiB, a bound on what decompression may produce. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** What the reject stage knows of a dead letter besides its body. */
export interface DeadLetterMeta {
  sourceMessageId: string;
  reason: string;
  /** The field the reject names (`ip`, `user_id`, …), when it names one. */
  field?: string | undefined;
}

export type DeadLetterAttributes = Record<string, string | MessageAttributeValue>;

/**
 * Builds a dead letter's body and attributes from the original body and the attributes the reject stage
 * gives it (`reason`, `source_message_id`). The DLQ stage applies its size rule to what this returns.
 */
export type DeadLetterEncoder = (body: string, attributes: Record<string, string>, meta: DeadLetterMeta) => { body: string; attributes: DeadLetterAttributes };

/** Why a dead letter could not be decoded. Never carries a body or key material. */
export type DecodeFailure = 'malformed' | 'unknown_version' | 'auth_failed' | 'swapped';

export class DeadLetterError extends LoginEtlError {
  override name = 'DeadLetterError';
  /** Refusing input, as `reveal` does: exit 2. */
  override readonly exitCode = 2;
  constructor(readonly failure: DecodeFailure, message: string) {
    super(`ETL_ERR_DLQ_${failure.toUpperCase()}`, message);
  }
}

interface Header {
  /** Key version. */
  k: number;
  /** Source message id. */
  id: string;
  /** Reject reason. */
  r: string;
  /** Field the reject names. */
  f?: string;
  /** Original body, UTF-8 bytes. */
  n: number;
  /** Compression of the plaintext. */
  z: 'br' | 'none';
}

const number = (n: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(n) });
const B64URL = /^[A-Za-z0-9_-]*$/;

/** The AES-256-GCM keys of a keyring's versions (the `dlq` subkey of each), derived once per version. */
function subkeys(keyring: Keyring): (version: number) => KeyObject | undefined {
  const cache = new Map<number, KeyObject>();
  return (version) => {
    let k = cache.get(version);
    if (!k && keyring.keys.has(version)) {
      const raw = deriveSubkey(keyring, 'dlq', { version }).key;
      cache.set(version, (k = createSecretKey(raw)));
      raw.fill(0);
    }
    return k;
  };
}

/** Random bytes fetched for many nonces at once: `randomBytes(12)` costs ~6 µs per call, a 4 KB fill about the same. */
let noncePool = Buffer.alloc(0);
let nonceAt = 0;

/** A fresh random 96-bit GCM nonce: each byte of the pool is used once. */
function freshNonce(): Buffer {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 341);
    nonceAt = 0;
  }
  return noncePool.subarray(nonceAt, (nonceAt += NONCE_BYTES));
}

function seal(key: KeyObject, version: number, body: string, meta: DeadLetterMeta): { envelope: string; header: Header } {
  const plain = Buffer.from(body, 'utf8');
  const packed =
    plain.length < COMPRESS_FROM_BYTES
      ? plain
      : brotliCompressSync(plain, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_SIZE_HINT]: plain.length },
        });
  const compressed = packed.length < plain.length;
  const header: Header = { k: version, id: meta.sourceMessageId, r: meta.reason, ...(meta.field ? { f: meta.field } : {}), n: plain.length, z: compressed ? 'br' : 'none' };
  const ad = `${ENVELOPE_PREFIX}${Buffer.from(JSON.stringify(header)).toString('base64url')}`;
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(ad, 'ascii'));
  const sealed = Buffer.concat([nonce, cipher.update(compressed ? packed : plain), cipher.final(), cipher.getAuthTag()]);
  return { envelope: `${ad}.${sealed.toString('base64url')}`, header };
}

/**
 * The encoder of the reject stage (and the Lambda handler). `encrypted`: the body sealed under the primary
 * key version's `dlq` subkey, with attributes `field`, `body_bytes`, `encoding` and `key_version` beside
 * `reason` and `source_message_id`. `raw`: the body unchanged, with `field`, `body_bytes` and `encoding=raw`.
 * A body that already is an encrypted dead letter (one moved back to the source without `login-etl redrive`)
 * is sealed again from its plaintext, never wrapped twice; one that does not decrypt is passed on unchanged.
 */
export function createDeadLetterEncoder(keyring: Keyring, mode: DlqBodyMode): DeadLetterEncoder {
  const keyOf = subkeys(keyring);
  const open = createDeadLetterDecoder(keyring);
  return (body, attributes, meta) => {
    const common = { ...attributes, ...(meta.field ? { [DLQ_ATTR.field]: meta.field } : {}) };
    if (mode === 'raw') return { body, attributes: { ...common, [DLQ_ATTR.bodyBytes]: number(Buffer.byteLength(body)), [DLQ_ATTR.encoding]: ENCODING.raw } };
    let plain = body;
    if (body.startsWith(ENVELOPE_PREFIX)) {
      try {
        plain = open({ body }).body;
      } catch {
        // Not for this keyring: sent on as the dead letter it was, with the attributes its header names.
        const h = peekHeader(body);
        return { body, attributes: h ? headerAttributes(h) : { ...attributes } };
      }
    }
    const version = keyring.primary;
    const key = keyOf(version);
    if (!key) throw new RangeError(`no key with version ${version} in the keyring`);
    const s = seal(key, version, plain, meta);
    return { body: s.envelope, attributes: { ...attributes, ...headerAttributes(s.header) } };
  };
}

/** The readable attributes of an encrypted dead letter: what its header says. */
function headerAttributes(h: Header): DeadLetterAttributes {
  return {
    [DLQ_ATTR.reason]: h.r,
    [DLQ_ATTR.sourceMessageId]: h.id,
    ...(h.f ? { [DLQ_ATTR.field]: h.f } : {}),
    [DLQ_ATTR.bodyBytes]: number(h.n),
    [DLQ_ATTR.encoding]: h.z === 'br' ? ENCODING.encryptedBrotli : ENCODING.encrypted,
    [DLQ_ATTR.keyVersion]: number(h.k),
  };
}

/** The header of an encrypted dead letter, unauthenticated (to copy it, never to trust it), or undefined. */
function peekHeader(body: string): Header | undefined {
  const rest = body.slice(ENVELOPE_PREFIX.length);
  const dot = rest.indexOf('.');
  return dot > 0 ? parseHeader(rest.slice(0, dot)) : undefined;
}

/** A received dead letter: its body and (when asked for) its message attributes. */
export interface DeadLetterInput {
  body: string;
  attributes?: Record<string, MessageAttributeValue> | undefined;
}

export interface DecodedDeadLetter {
  /** The original body, exactly as the source queue delivered it. */
  body: string;
  encrypted: boolean;
  /** Key version it was encrypted with. */
  keyVersion?: number;
  /** From the authenticated header (encrypted), else from the attributes. */
  sourceMessageId?: string | undefined;
  reason?: string | undefined;
  field?: string | undefined;
  compressed: boolean;
}

const attr = (a: DeadLetterInput['attributes'], name: string): string | undefined => a?.[name]?.StringValue;

function parseHeader(text: string): Header | undefined {
  if (!B64URL.test(text) || text.length > 2048) return undefined;
  let h: unknown;
  try {
    h = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null) return undefined;
  const o = h as Record<string, unknown>;
  const str = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
  const int = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  const ok =
    int(o.k, 1, 9999) && str(o.id, 256) && str(o.r, 64) && (o.f === undefined || str(o.f, 64)) && int(o.n, 0, MAX_BODY_BYTES) && (o.z === 'br' || o.z === 'none') &&
    Object.keys(o).every((k) => ['k', 'id', 'r', 'f', 'n', 'z'].includes(k));
  return ok ? (o as unknown as Header) : undefined;
}

/**
 * Decodes dead letters: an encrypted body is authenticated and decrypted with the key version it names (the
 * keyring must still hold it), then checked against the readable attributes given; anything else is a raw
 * body (DLQ_BODY=raw, or dead-lettered before bodies were encrypted). Throws DeadLetterError, one line
 * naming what is wrong, never a value.
 */
export function createDeadLetterDecoder(keyring: Keyring | undefined): (m: DeadLetterInput) => DecodedDeadLetter {
  const keyOf = keyring ? subkeys(keyring) : () => undefined;
  return (m) => {
    const a = m.attributes;
    if (!m.body.startsWith(ENVELOPE_PREFIX)) {
      const enc = attr(a, DLQ_ATTR.encoding);
      if (enc !== undefined && enc !== ENCODING.raw) {
        throw new DeadLetterError('malformed', `its encoding attribute says ${enc}, but the body is not an encrypted dead letter (damaged or replaced)`);
      }
      return { body: m.body, encrypted: false, compressed: false, sourceMessageId: attr(a, DLQ_ATTR.sourceMessageId), reason: attr(a, DLQ_ATTR.reason), field: attr(a, DLQ_ATTR.field) };
    }
    const rest = m.body.slice(ENVELOPE_PREFIX.length);
    const dot = rest.indexOf('.');
    const header = dot > 0 ? parseHeader(rest.slice(0, dot)) : undefined;
    const payload = dot > 0 ? rest.slice(dot + 1) : '';
    if (!header || !B64URL.test(payload)) throw new DeadLetterError('malformed', 'the encrypted body is damaged (not login-etl-dlq.v1.<header>.<payload>)');
    const sealed = Buffer.from(payload, 'base64url');
    if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new DeadLetterError('malformed', 'the encrypted body is damaged (too short)');
    const key = keyOf(header.k);
    if (!key) {
      throw new DeadLetterError(
        'unknown_version',
        keyring
          ? `it was encrypted with key version ${header.k}, which the keyring does not hold; add that version back to the keyring to read it`
          : 'it is encrypted and no masking key is configured; set PII_KEY, PII_KEY_FILE, PII_KEYRING or PII_KEYRING_FILE as for the pipeline that wrote it',
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(`${ENVELOPE_PREFIX}${rest.slice(0, dot)}`, 'ascii'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new DeadLetterError('auth_failed', `authentication failed: wrong key, or the encrypted body was altered (key version ${header.k})`);
    }
    if (header.z === 'br') {
      try {
        plain = brotliDecompressSync(plain, { maxOutputLength: Math.max(1, header.n) });
      } catch {
        throw new DeadLetterError('malformed', 'the encrypted body does not decompress to its declared size');
      }
    }
    if (plain.length !== header.n) throw new DeadLetterError('malformed', 'the encrypted body does not decompress to its declared size');
    // The header is authentic now; attributes that disagree belong to another message.
    const claims: [string, string | undefined][] = [
      [DLQ_ATTR.sourceMessageId, header.id],
      [DLQ_ATTR.reason, header.r],
      [DLQ_ATTR.field, header.f],
      [DLQ_ATTR.keyVersion, String(header.k)],
    ];
    for (const [name, value] of claims) {
      const given = attr(a, name);
      if (given !== undefined && given !== value) {
        throw new DeadLetterError('swapped', `its ${name} attribute does not match the encrypted body, which belongs to source message ${header.id}: the body was moved from another message`);
      }
    }
    return { body: plain.toString('utf8'), encrypted: true, keyVersion: header.k, sourceMessageId: header.id, reason: header.r, field: header.f, compressed: header.z === 'br' };
  };
}

/** True for a body that is an encrypted dead letter (by its prefix; nothing is decrypted). */
export const isEncryptedDeadLetter = (body: string): boolean => body.startsWith(ENVELOPE_PREFIX);

/**
 * A transform that also accepts encrypted dead letters that come back to the source queue unchanged (moved by
 * the AWS console's or `aws sqs start-message-move-task`'s DLQ redrive, which cannot decrypt): it decrypts them
 * first, so a fixed pipeline processes them as `login-etl redrive` would have. Any other body costs one
 * prefix check. A body that does not decrypt goes to the transform as it is (rejected `invalid_json`), and the
 * encoder dead-letters it unchanged.
 */
export function acceptingDeadLetters<A extends unknown[], R>(transform: (body: string, ...rest: A) => R, keyring: Keyring): (body: string, ...rest: A) => R {
  const open = createDeadLetterDecoder(keyring);
  return (body, ...rest) => {
    if (body.startsWith(ENVELOPE_PREFIX)) {
      try {
        return transform(open({ body }).body, ...rest);
      } catch {
        // Not decryptable here: rejected as it is.
      }
    }
    return transform(body, ...rest);
  };
}
