import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config/errors.js';

/** A master key is 32 to 64 random bytes (256 to 512 bits). */
export const MIN_KEY_BYTES = 32;
export const MAX_KEY_BYTES = 64;
/** Longest key text looked at: base64 of 64 bytes is 88 characters; anything far longer is refused unread. */
export const MAX_KEY_TEXT = 1024;

const fail = (where: string, what: string, code: string): ConfigError =>
  new ConfigError(`${where} ${what}`, where, { code });

/**
 * True for base64 text that looks typed rather than random: letters only (random base64 has digits or
 * `+/`/`-_` but for a chance of 1.3 × 10⁻⁴ at 43 characters) and, on top of that, one case only, or few
 * distinct letters, or the vowels and capitals of words. A random key trips it with a chance of about
 * 2 × 10⁻⁹ (docs/privacy.md); `keygen` never prints one that does.
 */
export function looksTyped(text: string): boolean {
  const s = text.replace(/=+$/, '');
  if (!/^[A-Za-z]+$/.test(s)) return false;
  if (s === s.toLowerCase() || s === s.toUpperCase()) return true;
  if (new Set(s).size <= 16) return true;
  const vowels = s.replace(/[^aeiouAEIOU]/g, '').length / s.length;
  const capitals = s.replace(/[^A-Z]/g, '').length / s.length;
  return vowels >= 0.3 && capitals <= 0.25;
}

/**
 * Why key bytes cannot be random, or undefined. n random bytes have fewer than n/2 + 1 distinct values,
 * or fewer than n/2 + 1 distinct steps between neighbours, with a chance below 10⁻¹⁴ (32 bytes); all
 * printable ASCII, below 2 × 10⁻¹⁴. These catch all-zero and repeated or counting patterns, and base64 of text.
 */
export function weakKeyReason(key: Uint8Array): string | undefined {
  const n = key.length;
  if (key.every((b) => b >= 0x20 && b <= 0x7e)) return 'is base64 of text (a password?), not of random bytes';
  if (new Set(key).size <= n / 2) return 'has too few distinct bytes to be random (all zeros or a repeated pattern?)';
  const steps = new Set<number>();
  for (let i = 1; i < n; i++) steps.add((key[i]! - key[i - 1]! + 256) & 0xff);
  if (steps.size <= n / 2) return 'follows a pattern (counting bytes?), not random bytes';
  return undefined;
}

/** Refuses key bytes of the wrong size or that cannot be random. Never echoes the value. */
export function checkKeyBytes(key: Uint8Array, where: string): void {
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw fail(where, `decodes to ${key.length} bytes; a key is ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes (\`login-etl keygen\`)`, 'ETL_ERR_KEY_SIZE');
  }
  const weak = weakKeyReason(key);
  if (weak) throw fail(where, `${weak}; generate a key with \`login-etl keygen\``, 'ETL_ERR_KEY_WEAK');
}

/**
 * Decodes a base64 (or base64url) key of 32 to 64 random bytes. Refuses, with one line that names `where`
 * and never the value: oversized text (before any work), hex, malformed base64, the wrong size, typed text
 * and bytes that cannot be random.
 */
export function decodeKey(text: string, where: string): Buffer {
  if (text.length > MAX_KEY_TEXT) {
    throw fail(where, `is ${text.length} characters long; a key is base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes (44 to 88 characters; \`login-etl keygen\`)`, 'ETL_ERR_KEY_SIZE');
  }
  const s = text.trim();
  if (s === '') throw fail(where, 'is empty; generate a key with `login-etl keygen`', 'ETL_ERR_KEY_FORMAT');
  if (s.length >= 32 && /^[0-9a-fA-F]+$/.test(s)) {
    throw fail(where, 'looks like hex, not base64; convert it with `xxd -r -p | base64`, or generate a key with `login-etl keygen`', 'ETL_ERR_KEY_FORMAT');
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
    throw fail(where, 'is not valid base64; generate a key with `login-etl keygen`', 'ETL_ERR_KEY_FORMAT');
  }
  const key = Buffer.from(s, 'base64');
  if (key.length < MIN_KEY_BYTES) {
    throw fail(where, `decodes to ${key.length} bytes; at least ${MIN_KEY_BYTES} are required (\`login-etl keygen\`)`, 'ETL_ERR_KEY_SIZE');
  }
  checkKeyBytes(key, where);
  if (looksTyped(s)) {
    throw fail(where, 'looks like a typed passphrase (letters only), not base64 of random bytes; generate a key with `login-etl keygen`', 'ETL_ERR_KEY_WEAK');
  }
  return key;
}

/** A new random key of `bytes` bytes, as base64; never one that decodeKey would refuse. */
export function generateKeyText(bytes = MIN_KEY_BYTES): string {
  for (;;) {
    const text = randomBytes(bytes).toString('base64');
    if (!looksTyped(text) && !weakKeyReason(Buffer.from(text, 'base64'))) return text;
  }
}
