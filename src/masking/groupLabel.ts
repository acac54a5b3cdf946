import { randomBytes } from 'node:crypto';
import { hmacSha256Base64url } from '../hash.js';
import type { Keyring } from './keyring.js';
import { deriveSubkey } from './subkey.js';

/** base64url characters of the HMAC a label keeps: 96 bits, plenty to tell groups apart. */
const LABEL_CHARS = 16;

export type GroupLabel = (groupId: string) => string;

/**
 * What login-etl prints for a FIFO MessageGroupId. The sender chooses group ids, and one may be a raw ip or
 * device_id, so logs, summaries, /readyz and the `dlq` commands show `g<version>.<16 base64url characters>`: a
 * keyed HMAC under a subkey of PII_KEY (and PII_CONTEXT). Equal group ids give equal labels in every command.
 */
export function createGroupLabel(keyring: Keyring, context?: string): GroupLabel {
  const { version, key } = deriveSubkey(keyring, 'group-id', context === undefined ? {} : { context });
  const mac = hmacSha256Base64url(key);
  key.fill(0);
  return (groupId) => `g${version}.${mac(groupId).slice(0, LABEL_CHARS)}`;
}

/** Labels under a random key, stable within this process only: for a pipeline built without one. */
export const ephemeralGroupLabel = (): GroupLabel => createGroupLabel({ primary: 1, keys: new Map([[1, randomBytes(32)]]) });
