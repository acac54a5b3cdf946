import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config/errors.js';

export const MIN_KEY_BYTES = 32;
export const MAX_KEY_VERSION = 9999;

/** Versioned master keys; tokens are written with `primary` and read with the version they carry. */
export interface Keyring {
  primary: number;
  keys: ReadonlyMap<number, Buffer>;
  /** HMAC mode keeps writing `version` until `until`, so duplicate detection spans a rotation (docs/privacy.md). */
  hmacCutover?: { version: number; until: Date };
}

export interface KeySources {
  piiKey?: string | undefined;
  piiKeyFile?: string | undefined;
  piiKeyring?: string | undefined;
  piiKeyringFile?: string | undefined;
  strictKeyFiles?: boolean;
}

/** Decodes a base64 (or base64url) key, refusing anything short or malformed. Never echoes the value. */
export function decodeKey(text: string, where: string): Buffer {
  const s = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
    throw new ConfigError(`${where} is not valid base64; generate a key with \`login-etl keygen\``, where);
  }
  const key = Buffer.from(s, 'base64');
  if (key.length < MIN_KEY_BYTES) {
    throw new ConfigError(
      `${where} decodes to ${key.length} bytes; at least ${MIN_KEY_BYTES} are required (\`login-etl keygen\`)`,
      where,
    );
  }
  return key;
}

const keyringSchema = z.object({
  primary: z.number().int().min(1).max(MAX_KEY_VERSION),
  keys: z
    .array(z.object({ version: z.number().int().min(1).max(MAX_KEY_VERSION), key: z.string() }))
    .min(1),
  hmacCutover: z
    .object({ version: z.number().int().min(1).max(MAX_KEY_VERSION), until: z.iso.datetime({ offset: true }) })
    .optional(),
});

/** Parses keyring JSON: `{"primary":2,"keys":[{"version":1,"key":"<base64>"},…],"hmacCutover":{…}}`. */
export function parseKeyring(json: string, where: string): Keyring {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new ConfigError(`${where} is not valid JSON (expected {"primary":N,"keys":[{"version":N,"key":"<base64>"}]})`, where);
  }
  const parsed = keyringSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new ConfigError(`${where}: ${path ? `${path} ` : ''}is invalid (${issue?.message ?? 'bad shape'})`, where);
  }
  const keys = new Map<number, Buffer>();
  for (const k of parsed.data.keys) {
    if (keys.has(k.version)) throw new ConfigError(`${where}: key version ${k.version} appears twice`, where);
    keys.set(k.version, decodeKey(k.key, `${where} key version ${k.version}`));
  }
  const { primary, hmacCutover } = parsed.data;
  if (!keys.has(primary)) throw new ConfigError(`${where}: primary version ${primary} has no key`, where);
  if (hmacCutover && !keys.has(hmacCutover.version)) {
    throw new ConfigError(`${where}: hmacCutover version ${hmacCutover.version} has no key`, where);
  }
  return {
    primary,
    keys,
    ...(hmacCutover ? { hmacCutover: { version: hmacCutover.version, until: new Date(hmacCutover.until) } } : {}),
  };
}

/** Reads a secret file, refusing (strict) or warning about one that group or others can read. */
export function readSecretFile(path: string, where: string, strict: boolean, warn: (msg: string) => void): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${where}: cannot read ${path} (${code})`, where, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    const msg = `${where}: ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``;
    if (strict) throw new ConfigError(msg, where);
    warn(msg);
  }
  return readFileSync(path, 'utf8');
}

/** Loads the keyring from the first of PII_KEYRING(_FILE), PII_KEY(_FILE) that is set. */
export function loadKeyring(src: KeySources, warn: (msg: string) => void = () => {}): Keyring {
  const strict = src.strictKeyFiles ?? false;
  if (src.piiKeyring !== undefined) return parseKeyring(src.piiKeyring, 'PII_KEYRING');
  if (src.piiKeyringFile !== undefined) {
    return parseKeyring(readSecretFile(src.piiKeyringFile, 'PII_KEYRING_FILE', strict, warn), 'PII_KEYRING_FILE');
  }
  const single =
    src.piiKey !== undefined
      ? decodeKey(src.piiKey, 'PII_KEY')
      : src.piiKeyFile !== undefined
        ? decodeKey(readSecretFile(src.piiKeyFile, 'PII_KEY_FILE', strict, warn), 'PII_KEY_FILE')
        : undefined;
  if (!single) {
    throw new ConfigError(
      'no masking key: set PII_KEY (base64, ≥ 32 bytes), PII_KEY_FILE, PII_KEYRING or PII_KEYRING_FILE; `login-etl keygen` makes one',
      'PII_KEY',
    );
  }
  return { primary: 1, keys: new Map([[1, single]]) };
}
