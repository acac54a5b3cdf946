import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { aessiv } from '@noble/ciphers/aes.js';
import type { Keyring } from './keyring.js';
import { formatToken, parseToken, PII_FIELDS, type MaskMode, type PiiField } from './token.js';

/**
 * SIV plaintexts are padded (ISO/IEC 7816-4) to one fixed length per field, so every token of a field
 * has the same length and the ciphertext leaks nothing about the value's length.
 */
export const SIV_PADDED_BYTES: Record<PiiField, number> = { ip: 48, device_id: 144 };
/** Longest value (UTF-8 bytes) each field can carry; validation enforces it for both modes. */
export const MAX_VALUE_BYTES: Record<PiiField, number> = { ip: 47, device_id: 128 };

const SALT = Buffer.from('login-etl/pii-subkey/v1');

export type RevealFailure = 'not_a_token' | 'irreversible' | 'unknown_version' | 'wrong_field' | 'auth_failed';

/** Why a token could not be revealed. The message never contains plaintext or key material. */
export class RevealError extends Error {
  override readonly name = 'RevealError';
  constructor(readonly code: RevealFailure, message: string) {
    super(message);
  }
}

export interface Masker {
  readonly mode: MaskMode;
  /** The key version new tokens are written with at `now`. */
  writeVersion(now?: Date): number;
  mask(field: PiiField, value: string, now?: Date): string;
  /** Decrypts a `siv` token of `field`, with the key version the token names. */
  reveal(field: PiiField, token: string): string;
  /** Re-encrypts a `siv` token under the primary key; returns it unchanged when already primary. */
  rekey(field: PiiField, token: string): string;
}

function pad(field: PiiField, value: string): Uint8Array {
  const bytes = Buffer.from(value, 'utf8');
  const size = SIV_PADDED_BYTES[field];
  if (bytes.length >= size) throw new RangeError(`${field} is longer than ${size - 1} bytes`);
  const out = new Uint8Array(size);
  out.set(bytes);
  out[bytes.length] = 0x80;
  return out;
}

function unpad(bytes: Uint8Array): string | undefined {
  const end = bytes.lastIndexOf(0x80);
  if (end < 0 || bytes.subarray(end + 1).some((b) => b !== 0)) return undefined;
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

export function createMasker(keyring: Keyring, mode: MaskMode): Masker {
  const subkeys = new Map<string, Buffer>();
  const hmacKeys = new Map<string, KeyObject>();

  /** Per-field, per-mode, per-version subkeys via HKDF-SHA-256, so no two columns share a key. */
  function subkey(m: MaskMode, field: PiiField, version: number): Buffer {
    const id = `${m}/${field}/${version}`;
    let k = subkeys.get(id);
    if (!k) {
      const master = keyring.keys.get(version);
      if (!master) throw new RevealError('unknown_version', `no key with version ${version} in the keyring`);
      k = Buffer.from(hkdfSync('sha256', master, SALT, `login-etl/${id}`, m === 'siv' ? 64 : 32));
      subkeys.set(id, k);
    }
    return k;
  }

  const ad = (field: PiiField, version: number) => Buffer.from(`${field}|v${version}`);
  const sivEncrypt = (field: PiiField, version: number, value: string) =>
    formatToken('siv', version, aessiv(subkey('siv', field, version), ad(field, version)).encrypt(pad(field, value)));

  function trySivDecrypt(field: PiiField, version: number, payload: Uint8Array): string | undefined {
    try {
      return unpad(aessiv(subkey('siv', field, version), ad(field, version)).decrypt(payload));
    } catch (err) {
      if (err instanceof RevealError) throw err;
      return undefined;
    }
  }

  function writeVersion(now?: Date): number {
    const c = keyring.hmacCutover;
    return mode === 'hmac' && c && (now ?? new Date()) < c.until ? c.version : keyring.primary;
  }

  function reveal(field: PiiField, token: string): string {
    const t = parseToken(token);
    if (!t) throw new RevealError('not_a_token', 'not a login-etl token');
    if (t.mode === 'hmac') throw new RevealError('irreversible', 'HMAC tokens are one-way and cannot be revealed; only PII_MASK_MODE=siv tokens can');
    if (!keyring.keys.has(t.version)) throw new RevealError('unknown_version', `token uses key version ${t.version}, which the keyring does not hold`);
    const plain = trySivDecrypt(field, t.version, t.payload);
    if (plain !== undefined) return plain;
    const other = PII_FIELDS.find((f) => f !== field && trySivDecrypt(f, t.version, t.payload) !== undefined);
    if (other) throw new RevealError('wrong_field', `token belongs to field ${other}, not ${field}`);
    throw new RevealError('auth_failed', 'authentication failed: wrong key, or the token was altered');
  }

  return {
    mode,
    writeVersion,
    mask(field, value, now) {
      const version = writeVersion(now);
      if (mode === 'siv') return sivEncrypt(field, version, value);
      const id = `${field}/${version}`;
      let k = hmacKeys.get(id);
      if (!k) hmacKeys.set(id, (k = createSecretKey(subkey('hmac', field, version))));
      return formatToken('hmac', version, createHmac('sha256', k).update(value, 'utf8').digest());
    },
    reveal,
    rekey(field, token) {
      const t = parseToken(token);
      if (t?.mode === 'siv' && t.version === keyring.primary) return token;
      return sivEncrypt(field, keyring.primary, reveal(field, token));
    },
  };
}
