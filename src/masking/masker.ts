import { hmacSha256Base64url } from '../hash.js';
import type { Keyring } from './keyring.js';
import { createAesSiv, type BoundSiv } from './siv.js';
import { hkdfSubkey } from './subkey.js';
import { formatToken, formatTokenText, parseToken, payloadBytes, PII_FIELDS, SIV_PADDED_BYTES, tokenLength, tokenShapeProblem, type MaskMode, type PiiField } from './token.js';

export { SIV_PADDED_BYTES } from './token.js';
/** Longest value (UTF-8 bytes) each field can carry; validation enforces it for both modes. */
export const MAX_VALUE_BYTES: Record<PiiField, number> = { ip: 47, device_id: 128 };

export type RevealFailure = 'not_a_token' | 'irreversible' | 'unknown_version' | 'wrong_field' | 'auth_failed';

/** The refusal for an HMAC token, also given by `reveal` before any key is loaded. */
export const IRREVERSIBLE = 'HMAC tokens are one-way and cannot be revealed; only PII_MASK_MODE=siv tokens can';

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

export interface MaskerOptions {
  /** PII_CONTEXT: mixed into every subkey, so datasets masked with one key cannot be joined. Unset: today's tokens. */
  context?: string | undefined;
}

/** `value`, 0x80, then zeros to the field's padded size, written into `into` (which the caller wipes after use). */
function padInto(into: Buffer, field: PiiField, value: string): Buffer {
  const size = SIV_PADDED_BYTES[field];
  const n = Buffer.byteLength(value, 'utf8');
  if (n >= size) throw new RangeError(`${field} is longer than ${size - 1} bytes`);
  const out = into.subarray(0, size);
  out.write(value, 0, 'utf8');
  out[n] = 0x80;
  out.fill(0, n + 1);
  return out;
}

function unpad(bytes: Uint8Array): string | undefined {
  const end = bytes.lastIndexOf(0x80);
  if (end < 0 || bytes.subarray(end + 1).some((b) => b !== 0)) return undefined;
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

export function createMasker(keyring: Keyring, mode: MaskMode, o: MaskerOptions = {}): Masker {
  const sivs = new Map<string, BoundSiv>();
  const hmacs = new Map<string, (value: string) => string>();

  /** Per-field, per-mode, per-version subkeys via HKDF-SHA-256, so no two columns share a key. */
  function subkey(m: MaskMode, field: PiiField, version: number): Buffer {
    const master = keyring.keys.get(version);
    if (!master) throw new RevealError('unknown_version', `no key with version ${version} in the keyring`);
    return hkdfSubkey(master, `${m}/${field}`, version, m === 'siv' ? 64 : 32, o.context);
  }

  /** AES-SIV with associated data `<field>|v<version>`, so a token only decrypts as its own field and version. */
  function siv(field: PiiField, version: number): BoundSiv {
    const id = `${field}/${version}`;
    let s = sivs.get(id);
    if (!s) {
      const key = subkey('siv', field, version);
      sivs.set(id, (s = createAesSiv(key).bind(Buffer.from(`${field}|v${version}`))));
      key.fill(0);
    }
    return s;
  }

  // One scratch buffer for the padded plaintext, wiped after each use: a new zeroed buffer per value was a
  // separate ArrayBuffer to allocate and free, most of siv's CPU beyond the AES itself (bench/masking.ts).
  const scratch = Buffer.alloc(Math.max(...Object.values(SIV_PADDED_BYTES)));
  function sivEncrypt(field: PiiField, version: number, value: string): string {
    const p = padInto(scratch, field, value);
    try {
      return formatToken('siv', version, siv(field, version).encrypt(p));
    } finally {
      p.fill(0);
    }
  }

  function trySivDecrypt(field: PiiField, version: number, payload: Uint8Array): string | undefined {
    if (payload.length !== payloadBytes('siv', field)) return undefined;
    const p = siv(field, version).decrypt(payload);
    return p && unpad(p);
  }

  function writeVersion(now?: Date): number {
    const c = keyring.hmacCutover;
    return mode === 'hmac' && c && (now ?? new Date()) < c.until ? c.version : keyring.primary;
  }

  function reveal(field: PiiField, token: string): string {
    // Shape first (length before anything): nothing that cannot be a token is decoded or decrypted.
    const problem = tokenShapeProblem(token);
    const t = problem === undefined ? parseToken(token) : undefined;
    if (!t) throw new RevealError('not_a_token', problem ?? 'not a login-etl token');
    if (t.mode === 'hmac') throw new RevealError('irreversible', IRREVERSIBLE);
    if (!keyring.keys.has(t.version)) throw new RevealError('unknown_version', `token uses key version ${t.version}, which the keyring does not hold`);
    if (t.payload.length !== payloadBytes('siv', field)) {
      const other = PII_FIELDS.find((f) => f !== field && trySivDecrypt(f, t.version, t.payload) !== undefined);
      if (other) throw new RevealError('wrong_field', `token belongs to field ${other}, not ${field}`);
      throw new RevealError('not_a_token', `not ${field === 'ip' ? 'an' : 'a'} ${field} token: a siv ${field} token is ${tokenLength('siv', field, t.version)} characters`);
    }
    const plain = trySivDecrypt(field, t.version, t.payload);
    if (plain !== undefined) return plain;
    throw new RevealError('auth_failed', 'authentication failed: wrong key or PII_CONTEXT, or the token was altered');
  }

  return {
    mode,
    writeVersion,
    mask(field, value, now) {
      const version = writeVersion(now);
      if (mode === 'siv') return sivEncrypt(field, version, value);
      const id = `${field}/${version}`;
      let hmac = hmacs.get(id);
      if (!hmac) {
        const key = subkey('hmac', field, version);
        hmacs.set(id, (hmac = hmacSha256Base64url(key)));
        key.fill(0);
      }
      return formatTokenText('hmac', version, hmac(value));
    },
    reveal,
    rekey(field, token) {
      const t = parseToken(token);
      if (t?.mode === 'siv' && t.version === keyring.primary) return token;
      return sivEncrypt(field, keyring.primary, reveal(field, token));
    },
  };
}
