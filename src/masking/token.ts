/** Token layout: `<mode><version>.<base64url payload>`, e.g. `h1.3q2…` (HMAC) or `s2.Zm9…` (AES-SIV). */
export type MaskMode = 'hmac' | 'siv';
export type PiiField = 'ip' | 'device_id';
export const PII_FIELDS: readonly PiiField[] = ['ip', 'device_id'];

/**
 * SIV plaintexts are padded (ISO/IEC 7816-4) to one fixed length per field, so every token of a field
 * has the same length and the ciphertext leaks nothing about the value's length.
 */
export const SIV_PADDED_BYTES: Record<PiiField, number> = { ip: 48, device_id: 144 };

/** Payload bytes of a token: a 32-byte HMAC, or a 16-byte SIV tag and the padded ciphertext. */
export const payloadBytes = (mode: MaskMode, field: PiiField): number => (mode === 'hmac' ? 32 : 16 + SIV_PADDED_BYTES[field]);

/** Characters of unpadded base64url for n bytes. */
const b64urlChars = (n: number) => Math.ceil((n * 4) / 3);

/** Characters of a token of that mode and field with a one-digit version: `s1.` + 86 = 89 for a siv ip. */
export const tokenLength = (mode: MaskMode, field: PiiField, version = 1): number => `${version}`.length + 2 + b64urlChars(payloadBytes(mode, field));

/** The longest token there can be (`s9999.` + a device_id payload); anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 'x9999.'.length + b64urlChars(Math.max(...PII_FIELDS.map((f) => payloadBytes('siv', f))));

const PREFIX: Record<MaskMode, string> = { hmac: 'h', siv: 's' };
const TOKEN_RE = /^([hs])([1-9][0-9]{0,3})\.([A-Za-z0-9_-]+)$/;

export interface ParsedToken {
  mode: MaskMode;
  version: number;
  payload: Buffer;
}

export function formatToken(mode: MaskMode, version: number, payload: Uint8Array): string {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return formatTokenText(mode, version, bytes.toString('base64url'));
}

/** A token from its payload already in unpadded base64url. */
export const formatTokenText = (mode: MaskMode, version: number, base64url: string): string => `${PREFIX[mode]}${version}.${base64url}`;

/** Why a string cannot be a token, judged on its text alone (length first), or undefined when it can be. */
export function tokenShapeProblem(token: string): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return `not a login-etl token: ${token.length} characters, longer than any token (${MAX_TOKEN_LENGTH})`;
  if (token.trim() !== token) return 'not a login-etl token: it has spaces or line breaks around it';
  if (!parseToken(token)) return "not a login-etl token (expected h|s<version>.<base64url> of a token's exact length, canonical)";
  return undefined;
}

/**
 * Parses a token exactly as `formatToken` writes it: nothing around it, canonical unpadded base64url (the
 * unused low bits of the last character zero), and a payload size some field of its mode has. Anything
 * else, including anything longer than MAX_TOKEN_LENGTH (checked first), is undefined.
 */
export function parseToken(token: string): ParsedToken | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const [, prefix, version, text] = m as unknown as [string, string, string, string];
  const mode: MaskMode = prefix === 'h' ? 'hmac' : 'siv';
  if (!PII_FIELDS.some((f) => b64urlChars(payloadBytes(mode, f)) === text.length)) return undefined;
  const payload = Buffer.from(text, 'base64url');
  if (payload.toString('base64url') !== text) return undefined;
  return { mode, version: Number(version), payload };
}
