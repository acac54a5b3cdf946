import { z } from 'zod';
import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/load.js';
import { flagName, KEY_SOURCES, SETTINGS, type KeyFlag } from '../config/spec.js';
import type { LoginEtlError } from '../errors.js';
import { findDuplicateMember } from './json.js';
import { readSecretFile, type ProcessIds } from './keyfile.js';
import { checkKeyBytes, decodeKey, MAX_KEY_TEXT } from './keys.js';
import { createKmsClient, kmsError, kmsRegion, unwrapDataKey, type KmsSender } from './kms.js';

export { decodeKey, MAX_KEY_BYTES, MIN_KEY_BYTES } from './keys.js';
export const MAX_KEY_VERSION = 9999;
/** Largest keyring file or PII_KEYRING: room for hundreds of KMS-wrapped versions. */
export const MAX_KEYRING_BYTES = 256 * 1024;
/** KMS ciphertext blobs are at most 6,144 bytes. */
const MAX_WRAPPED_BYTES = 6144;

/** Versioned master keys, in memory only; tokens are written with `primary` and read with the version they carry. */
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
  /** The source given by a command-line flag (`--key-file`, `--keyring-file`): it wins over every key variable. */
  keyFlag?: KeyFlag | undefined;
  /** AWS region for KMS, unless the kmsKeyId is an ARN naming its own. */
  region?: string;
}

/** A keyring as configured: plaintext keys, or data keys wrapped under a KMS key, still to be unwrapped. */
export type KeyringSource =
  | { kind: 'plain'; where: string; keyring: Keyring }
  | { kind: 'kms'; where: string; kmsKeyId: string; primary: number; wrapped: ReadonlyMap<number, Buffer>; hmacCutover?: Keyring['hmacCutover'] };

const version = z.number().int().min(1).max(MAX_KEY_VERSION);
const keyringSchema = z.strictObject({
  primary: version,
  kmsKeyId: z.string().min(1).max(2048).optional(),
  keys: z.array(z.strictObject({ version, key: z.string().optional(), wrapped: z.string().optional() })).min(1).max(MAX_KEY_VERSION),
  hmacCutover: z
    .strictObject({ version, until: z.iso.datetime({ offset: true, error: 'expected a date and time with its offset, such as 2027-01-01T00:00:00Z' }) })
    .optional(),
});

const SHAPE = '{"primary":N,"keys":[{"version":N,"key":"<base64>"}]} or, with KMS, {"primary":N,"kmsKeyId":"…","keys":[{"version":N,"wrapped":"<base64>"}]}';

/** Parses keyring JSON, plaintext or KMS-wrapped, refusing with one line anything ambiguous. Never echoes a key. */
export function parseKeyring(json: string, where: string): KeyringSource {
  const bad = (what: string, code = 'ETL_ERR_KEYRING') => new ConfigError(`${where}: ${what}`, where, { code });
  if (json.length > MAX_KEYRING_BYTES) throw bad(`is ${json.length} characters; a keyring is at most ${MAX_KEYRING_BYTES}`, 'ETL_ERR_KEY_SIZE');
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw bad(`is not valid JSON (expected ${SHAPE})`);
  }
  const dup = findDuplicateMember(json);
  if (dup) throw bad(`member "${dup}" appears twice; JSON would silently keep the last one, so say it once`);
  const parsed = keyringSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const why = issue?.code === 'unrecognized_keys' ? `has unknown member(s) ${issue.keys.join(', ')}` : `is invalid (${issue?.message ?? 'bad shape'})`;
    // A value with a format of its own says what it should look like; the keyring's shape would not help.
    throw bad(`${path ? `${path} ` : ''}${why}${path === 'hmacCutover.until' ? '' : `; expected ${SHAPE}`}`);
  }
  const { primary, kmsKeyId, keys, hmacCutover } = parsed.data;
  const seen = new Set<number>();
  for (const k of keys) {
    if (seen.has(k.version)) throw bad(`key version ${k.version} appears twice`);
    seen.add(k.version);
    if ((k.key === undefined) === (k.wrapped === undefined)) throw bad(`key version ${k.version} needs exactly one of "key" and "wrapped"`);
    if (kmsKeyId && k.key !== undefined) {
      throw bad(`key version ${k.version} holds a plaintext "key" in a keyring with kmsKeyId; wrap it (\`login-etl keygen --kms-key-id … --wrap-existing\`)`);
    }
    if (!kmsKeyId && k.wrapped !== undefined) throw bad(`key version ${k.version} is "wrapped" but the keyring names no kmsKeyId to unwrap it with`);
  }
  if (!seen.has(primary)) throw bad(`primary version ${primary} has no key`);
  if (hmacCutover && !seen.has(hmacCutover.version)) throw bad(`hmacCutover version ${hmacCutover.version} has no key`);
  if (hmacCutover && hmacCutover.version > primary) {
    throw bad(`hmacCutover version ${hmacCutover.version} is newer than primary ${primary}; the cut-over keeps writing an older version until its date`);
  }
  const cutover = hmacCutover ? { hmacCutover: { version: hmacCutover.version, until: new Date(hmacCutover.until) } } : {};
  if (kmsKeyId) {
    const wrapped = new Map<number, Buffer>();
    for (const k of keys) {
      const text = k.wrapped ?? '';
      const blob = Buffer.from(text, 'base64');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || blob.length === 0 || blob.length > MAX_WRAPPED_BYTES) {
        throw bad(`key version ${k.version}: "wrapped" is not a base64 KMS ciphertext (1 to ${MAX_WRAPPED_BYTES} bytes)`);
      }
      wrapped.set(k.version, blob);
    }
    return { kind: 'kms', where, kmsKeyId, primary, wrapped, ...cutover };
  }
  const plain = new Map<number, Buffer>();
  for (const k of keys) plain.set(k.version, decodeKey(k.key ?? '', `${where} key version ${k.version}`));
  return { kind: 'plain', where, keyring: { primary, keys: plain, ...cutover } };
}

/** True for text that is a keyring with a kmsKeyId: it holds no secret, so the key-file rule does not apply. */
const isKmsKeyring = (text: string): boolean => {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && 'kmsKeyId' in v;
  } catch {
    return false;
  }
};

export interface LoadOptions {
  warn?: (msg: string) => void;
  /** Environment for the KMS client (endpoint, credentials); default process.env. */
  env?: Env;
  /** A KMS client to use instead of creating one. */
  kms?: KmsSender;
  /** For tests of the key-file rule. */
  ids?: ProcessIds;
}

/**
 * Reads the first of PII_KEYRING, PII_KEYRING_FILE, PII_KEY, PII_KEY_FILE that is set, warning if another is
 * set too (its key is not the one used). Does not call KMS.
 */
export function readKeyringSource(src: KeySources, o: LoadOptions = {}): KeyringSource {
  const file = { strict: src.strictKeyFiles ?? false, warn: o.warn ?? (() => {}), ...(o.ids ? { ids: o.ids } : {}) };
  const flag = src.keyFlag !== undefined && src[src.keyFlag] !== undefined ? src.keyFlag : undefined;
  // Messages name what the user gave: the flag, or the variable.
  const label = (k: (typeof KEY_SOURCES)[number]) => (k === flag ? flagName(SETTINGS[k]) : undefined) ?? SETTINGS[k].env;
  const set = (flag ? [flag, ...KEY_SOURCES.filter((k) => k !== flag)] : KEY_SOURCES).filter((k) => src[k] !== undefined);
  const first = set[0];
  if (first === undefined) {
    throw new ConfigError(
      'no masking key: set PII_KEY (base64, 32 to 64 random bytes), PII_KEY_FILE, PII_KEYRING or PII_KEYRING_FILE; `login-etl keygen` makes one',
      'PII_KEY',
      { code: 'ETL_ERR_KEY_MISSING' },
    );
  }
  const where = label(first);
  if (set.length > 1) {
    const others = set.slice(1).map(label);
    const rule = flag ? 'a key flag wins over every key variable' : `the first set of ${KEY_SOURCES.map((k) => SETTINGS[k].env).join(', ')} is used`;
    file.warn(`${where} is the masking key used; ${others.join(' and ')} ${others.length > 1 ? 'are' : 'is'} set too and ignored (${rule}); unset the others`);
  }
  const value = src[first] as string; // `set` holds only the sources that are set
  const single = (text: string): KeyringSource => ({ kind: 'plain', where, keyring: { primary: 1, keys: new Map([[1, decodeKey(text, where)]]) } });
  switch (first) {
    case 'piiKeyring':
      return parseKeyring(value, where);
    case 'piiKeyringFile':
      return parseKeyring(readSecretFile(value, where, { ...file, maxBytes: MAX_KEYRING_BYTES, check: (t) => !isKmsKeyring(t) }), where);
    case 'piiKey':
      return single(value);
    case 'piiKeyFile':
      return single(readSecretFile(value, where, { ...file, maxBytes: MAX_KEY_TEXT }));
  }
}

export interface VersionStatus {
  version: number;
  ok: boolean;
  /** How it was obtained, or why not; never key material. */
  detail: string;
}

/** Every version's outcome, and the keyring when all of them could be used. */
export interface KeyringReport {
  where: string;
  kmsKeyId?: string;
  primary: number;
  versions: VersionStatus[];
  keyring?: Keyring;
  /** The first failure, as the one line a command stops with. */
  error?: LoginEtlError;
}

/**
 * Loads the keyring and, for a KMS keyring, unwraps every version with kms:Decrypt (KeyId pinned, the
 * version's encryption context), all at start-up; plaintext keys then live in memory only. Throws only for
 * configuration faults found before KMS is asked; unwrap failures are reported per version.
 */
export async function openKeyring(src: KeySources, o: LoadOptions = {}): Promise<KeyringReport> {
  const s = readKeyringSource(src, o);
  if (s.kind === 'plain') {
    const versions = [...s.keyring.keys.keys()].map((v) => ({ version: v, ok: true, detail: `plaintext key from ${s.where}` }));
    return { where: s.where, primary: s.keyring.primary, versions, keyring: s.keyring };
  }
  const own = o.kms ? undefined : await createKmsClient(kmsRegion(s.kmsKeyId, src.region ?? 'us-east-1'), o.env);
  const kms = o.kms ?? own!;
  try {
    const entries = [...s.wrapped.entries()];
    const results = await Promise.allSettled(
      entries.map(async ([v, blob]) => {
        const key = await unwrapDataKey(kms, s.kmsKeyId, v, blob);
        checkKeyBytes(key, `${s.where} key version ${v} (unwrapped)`);
        return key;
      }),
    );
    const keys = new Map<number, Buffer>();
    const versions: VersionStatus[] = [];
    let error: LoginEtlError | undefined;
    results.forEach((r, i) => {
      const v = entries[i]![0];
      if (r.status === 'fulfilled') {
        keys.set(v, r.value);
        versions.push({ version: v, ok: true, detail: `unwrapped with kms:Decrypt (${s.kmsKeyId})` });
        return;
      }
      const err = r.reason instanceof ConfigError ? r.reason : kmsError(`${s.where} key version ${v}: kms:Decrypt with ${s.kmsKeyId} failed`, r.reason, s.where);
      versions.push({ version: v, ok: false, detail: err.message.replace(`${s.where} key version ${v}: `, '') });
      error ??= err;
    });
    const failed = versions.filter((v) => !v.ok).length;
    if (error && failed > 1) error.message += ` (${failed} of ${versions.length} versions could not be unwrapped; \`login-etl doctor\` lists them)`;
    const keyring = error ? undefined : { primary: s.primary, keys, ...(s.hmacCutover ? { hmacCutover: s.hmacCutover } : {}) };
    return { where: s.where, kmsKeyId: s.kmsKeyId, primary: s.primary, versions, ...(keyring ? { keyring } : {}), ...(error ? { error } : {}) };
  } finally {
    own?.destroy();
  }
}

/** The keyring, every version usable, or a one-line error: ConfigError (exit 2) when the user can fix it. */
export async function loadKeyring(src: KeySources, o: LoadOptions = {}): Promise<Keyring> {
  const r = await openKeyring(src, o);
  if (r.error || !r.keyring) throw r.error ?? new ConfigError(`${r.where}: no usable key`, r.where);
  return r.keyring;
}
