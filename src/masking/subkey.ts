import { hkdfSync } from 'node:crypto';
import type { Keyring } from './keyring.js';

/** The HKDF salt of every subkey (unchanged since the first release: tokens depend on it). */
const SALT = Buffer.from('login-etl/pii-subkey/v1');

/** Longest `PII_CONTEXT`, in UTF-8 bytes (HKDF's info is limited to 1,024 bytes). */
export const MAX_CONTEXT_BYTES = 256;

/**
 * HKDF-SHA-256 of a master key with the info `login-etl/<purpose>/<version>`, and `/context=<context>` when a
 * context (PII_CONTEXT) is set. Without a context the info is what it always was, so tokens are unchanged.
 */
export function hkdfSubkey(master: Uint8Array, purpose: string, version: number, length: number, context?: string): Buffer {
  const info = `login-etl/${purpose}/${version}${context ? `/context=${context}` : ''}`;
  return Buffer.from(hkdfSync('sha256', master, SALT, info, length));
}

export interface SubkeyOptions {
  /** Key version; default the keyring's primary. Store it next to what you encrypt, to read it back. */
  version?: number;
  /** Bytes; default 32. */
  length?: number;
  /** Mixed in like PII_CONTEXT; default none. */
  context?: string;
}

/**
 * A purpose-specific subkey of one keyring version, e.g. `deriveSubkey(keyring, 'dlq')` for encrypting
 * dead-letter bodies. Purposes are lower-case words (`[a-z][a-z0-9-]*`), so they can never produce the
 * masking subkeys (`hmac/<field>`, `siv/<field>`) or each other's.
 */
export function deriveSubkey(keyring: Keyring, purpose: string, o: SubkeyOptions = {}): { version: number; key: Buffer } {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(purpose) || purpose === 'hmac' || purpose === 'siv') {
    throw new RangeError(`subkey purpose must be a lower-case word other than hmac and siv, not ${JSON.stringify(purpose)}`);
  }
  const version = o.version ?? keyring.primary;
  const master = keyring.keys.get(version);
  if (!master) throw new RangeError(`no key with version ${version} in the keyring`);
  return { version, key: hkdfSubkey(master, purpose, version, o.length ?? 32, o.context) };
}
