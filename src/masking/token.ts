/** Token layout: `<mode><version>.<base64url payload>`, e.g. `h1.3q2…` (HMAC) or `s2.Zm9…` (AES-SIV). */
export type MaskMode = 'hmac' | 'siv';
export type PiiField = 'ip' | 'device_id';
export const PII_FIELDS: readonly PiiField[] = ['ip', 'device_id'];

const PREFIX: Record<MaskMode, string> = { hmac: 'h', siv: 's' };
const TOKEN_RE = /^([hs])([1-9][0-9]{0,3})\.([A-Za-z0-9_-]+)$/;

export interface ParsedToken {
  mode: MaskMode;
  version: number;
  payload: Buffer;
}

export function formatToken(mode: MaskMode, version: number, payload: Uint8Array): string {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return `${PREFIX[mode]}${version}.${bytes.toString('base64url')}`;
}

/** Returns undefined for anything that is not a well-formed token. */
export function parseToken(token: string): ParsedToken | undefined {
  const m = TOKEN_RE.exec(token.trim());
  if (!m) return undefined;
  const [, mode, version, payload] = m as unknown as [string, string, string, string];
  return { mode: mode === 'h' ? 'hmac' : 'siv', version: Number(version), payload: Buffer.from(payload, 'base64url') };
}
