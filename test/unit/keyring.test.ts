import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { findDuplicateMember } from '../../src/masking/json.js';
import { loadKeyring, parseKeyring } from '../../src/masking/keyring.js';
import { decodeKey, generateKeyText, looksTyped, weakKeyReason } from '../../src/masking/keys.js';
import { testKey } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const KEY = testKey(3);
const SHORT = Buffer.alloc(16, 3).toString('base64');
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };

async function expectConfigError(fn: () => unknown, includes: string | RegExp, secret?: string, code?: string): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const msg = (err as Error).message;
  if (typeof includes === 'string') expect(msg).toContain(includes);
  else expect(msg).toMatch(includes);
  expect(msg).not.toContain('\n');
  if (secret) expect(msg).not.toContain(secret);
  if (code) expect((err as ConfigError).code).toBe(code);
}

describe('loadKeyring', () => {
  it('loads PII_KEY as version 1', async () => {
    const k = await loadKeyring({ piiKey: KEY });
    expect(k.primary).toBe(1);
    expect(k.keys.get(1)?.length).toBe(32);
  });

  it('fails without a key, with a short key or bad base64, naming the variable and never the value', async () => {
    await expectConfigError(() => loadKeyring({}), 'PII_KEY');
    await expectConfigError(() => loadKeyring({ piiKey: SHORT }), 'at least 32', SHORT);
    await expectConfigError(() => loadKeyring({ piiKey: 'not base64 at all!!' }), 'not valid base64', 'not base64');
    await expectConfigError(() => loadKeyring({ piiKey: ' \n' }), 'PII_KEY is empty; generate a key with `login-etl keygen`');
  });

  it('loads a keyring with several versions and a primary', async () => {
    const json = JSON.stringify({ primary: 2, keys: [{ version: 1, key: KEY }, { version: 2, key: testKey(4) }] });
    const k = await loadKeyring({ piiKeyring: json });
    expect(k.primary).toBe(2);
    expect([...k.keys.keys()]).toEqual([1, 2]);
  });

  it('refuses a keyring whose primary has no key, or with a duplicate version', async () => {
    await expectConfigError(() => loadKeyring({ piiKeyring: JSON.stringify({ primary: 3, keys: [{ version: 1, key: KEY }] }) }), 'primary version 3', KEY);
    await expectConfigError(() => loadKeyring({ piiKeyring: JSON.stringify({ primary: 1, keys: [{ version: 1, key: KEY }, { version: 1, key: KEY }] }) }), 'twice', KEY);
    await expectConfigError(() => loadKeyring({ piiKeyring: '{oops' }), 'not valid JSON');
  });

  it('warns about a key file others can read, and refuses it with strict', async () => {
    const dir = tempDir('key-');
    const file = join(dir, 'key');
    writeFileSync(file, `${KEY}\n`);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect((await loadKeyring({ piiKeyFile: file }, { warn: (w) => warnings.push(w) })).keys.size).toBe(1);
    expect(warnings.join()).toContain('chmod o-rwx');
    await expectConfigError(() => loadKeyring({ piiKeyFile: file, strictKeyFiles: true }), 'other users can access it', KEY, 'ETL_ERR_KEY_FILE_MODE');
    chmodSync(file, 0o600);
    const quiet: string[] = [];
    await loadKeyring({ piiKeyFile: file, strictKeyFiles: true }, { warn: (w) => quiet.push(w) });
    expect(quiet).toEqual([]);
    await expectConfigError(() => loadKeyring({ piiKeyFile: join(dir, 'missing') }), 'ENOENT');
  });
});

describe('keys that cannot be random are refused, one line each, never echoing the value', () => {
  const cases: [string, string, RegExp, string][] = [
    ['all zeros', Buffer.alloc(32).toString('base64'), /too few distinct bytes/, 'ETL_ERR_KEY_WEAK'],
    ['one repeated byte', Buffer.alloc(48, 0xa5).toString('base64'), /too few distinct bytes/, 'ETL_ERR_KEY_WEAK'],
    ['a repeated 8-byte pattern', Buffer.concat(Array(4).fill(randomBytes(8))).toString('base64'), /too few distinct bytes/, 'ETL_ERR_KEY_WEAK'],
    ['counting bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 100) & 0xff)).toString('base64'), /pattern/, 'ETL_ERR_KEY_WEAK'],
    ['base64 of a password', Buffer.from('correct horse battery staple 2024!').toString('base64'), /base64 of text/, 'ETL_ERR_KEY_WEAK'],
    ['43 lower-case letters (a passphrase that happens to be base64)', 'thisismyverysecretpassphraseformaskingdatas', /typed passphrase/, 'ETL_ERR_KEY_WEAK'],
    ['44 letters in words', 'CorrectHorseBatteryStapleIsMyFavouriteSecret', /typed passphrase/, 'ETL_ERR_KEY_WEAK'],
    ['64 hex digits', randomBytes(32).toString('hex'), /looks like hex/, 'ETL_ERR_KEY_FORMAT'],
    ['a 1 MiB key', randomBytes(1024 * 1024).toString('base64'), /characters long; a key is base64 of 32 to 64 bytes/, 'ETL_ERR_KEY_SIZE'],
    ['a 65-byte key', randomBytes(65).toString('base64'), /decodes to 65 bytes/, 'ETL_ERR_KEY_SIZE'],
  ];

  it.each(cases)('%s', async (_name, key, why, code) => {
    await expectConfigError(() => decodeKey(key, 'PII_KEY'), why, key.slice(0, 20), code);
    await expectConfigError(() => loadKeyring({ piiKey: key }), /^PII_KEY /, key.slice(0, 20), code);
    const ring = JSON.stringify({ primary: 1, keys: [{ version: 1, key }] });
    await expectConfigError(() => loadKeyring({ piiKeyring: ring }), /^PII_KEYRING( key version 1 |: is \d+ characters)/, key.slice(0, 20), code);
  });

  it('accepts random keys of 32 to 64 bytes, as base64 or base64url, and every key keygen makes', () => {
    for (const n of [32, 33, 48, 64]) {
      const k = randomBytes(n);
      expect(decodeKey(k.toString('base64'), 'PII_KEY').equals(k)).toBe(true);
      expect(decodeKey(`${k.toString('base64url')}\n`, 'PII_KEY').equals(k)).toBe(true);
    }
    for (let i = 0; i < 2000; i++) expect(() => decodeKey(generateKeyText(), 'PII_KEY')).not.toThrow();
  });

  it('does not call random-looking text typed, nor random bytes weak (100,000 samples each)', () => {
    let typed = 0;
    let weak = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = randomBytes(32);
      if (looksTyped(k.toString('base64'))) typed++;
      if (weakKeyReason(k)) weak++;
    }
    expect({ typed, weak }).toEqual({ typed: 0, weak: 0 });
  });
});

describe('keyring JSON that could be read two ways is refused', () => {
  it('finds duplicate members at any depth, escapes included', () => {
    expect(findDuplicateMember('{"primary":1,"keys":[],"primary":2}')).toBe('primary');
    expect(findDuplicateMember('{"primary":1,"\\u0070rimary":2}')).toBe('primary');
    expect(findDuplicateMember('{"keys":[{"version":1},{"version":2,"key":"a","version":3}]}')).toBe('keys[1].version');
    expect(findDuplicateMember('{"a":{"b":1},"c":{"b":2},"s":"{\\"x\\":1,\\"x\\":2}"}')).toBeUndefined();
    expect(findDuplicateMember('[{"a":1},{"a":1}]')).toBeUndefined();
  });

  it('refuses a duplicate "primary", any duplicate member, unknown members, and a cut-over newer than the primary', async () => {
    const k1 = `{"version":1,"key":"${KEY}"}`;
    const k2 = `{"version":2,"key":"${testKey(4)}"}`;
    await expectConfigError(() => parseKeyring(`{"primary":1,"keys":[${k1},${k2}],"primary":2}`, 'PII_KEYRING'), 'member "primary" appears twice', KEY, 'ETL_ERR_KEYRING');
    await expectConfigError(() => parseKeyring(`{"primary":1,"keys":[{"version":1,"key":"${KEY}","key":"${testKey(4)}"}]}`, 'PII_KEYRING'), 'member "keys[0].key" appears twice', KEY);
    await expectConfigError(() => parseKeyring(`{"primary":1,"keys":[${k1}],"hmacCutOver":{}}`, 'PII_KEYRING'), 'unknown member(s) hmacCutOver');
    await expectConfigError(
      () => parseKeyring(`{"primary":1,"keys":[${k1},${k2}],"hmacCutover":{"version":2,"until":"2030-01-01T00:00:00Z"}}`, 'PII_KEYRING'),
      'hmacCutover version 2 is newer than primary 1',
      KEY,
    );
    // A date without a time is valid ISO 8601 but not a moment: the message shows the form it takes.
    let msg = '';
    try {
      parseKeyring(`{"primary":2,"keys":[${k1},${k2}],"hmacCutover":{"version":1,"until":"2030-01-01"}}`, 'PII_KEYRING');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toBe('PII_KEYRING: hmacCutover.until is invalid (expected a date and time with its offset, such as 2027-01-01T00:00:00Z)');
  });

  it('keeps plaintext and KMS-wrapped keys apart', async () => {
    const blob = randomBytes(96).toString('base64');
    await expectConfigError(() => parseKeyring(JSON.stringify({ primary: 1, kmsKeyId: 'alias/x', keys: [{ version: 1, key: KEY }] }), 'PII_KEYRING'), 'holds a plaintext "key" in a keyring with kmsKeyId', KEY);
    await expectConfigError(() => parseKeyring(JSON.stringify({ primary: 1, keys: [{ version: 1, wrapped: blob }] }), 'PII_KEYRING'), 'names no kmsKeyId');
    await expectConfigError(() => parseKeyring(JSON.stringify({ primary: 1, kmsKeyId: 'alias/x', keys: [{ version: 1, wrapped: blob, key: KEY }] }), 'PII_KEYRING'), 'exactly one of', KEY);
    await expectConfigError(() => parseKeyring(JSON.stringify({ primary: 1, kmsKeyId: 'alias/x', keys: [{ version: 1, wrapped: 'not base64!' }] }), 'PII_KEYRING'), 'not a base64 KMS ciphertext');
    const s = parseKeyring(JSON.stringify({ primary: 1, kmsKeyId: 'alias/x', keys: [{ version: 1, wrapped: blob }] }), 'PII_KEYRING');
    expect(s).toMatchObject({ kind: 'kms', kmsKeyId: 'alias/x', primary: 1 });
  });

  it('refuses an oversized keyring file before parsing it', async () => {
    const dir = tempDir('ring-');
    const file = join(dir, 'ring.json');
    writeFileSync(file, `{"primary":1,"keys":[{"version":1,"key":"${KEY}"}],"x":"${'y'.repeat(300 * 1024)}"}`, { mode: 0o600 });
    await expectConfigError(() => loadKeyring({ piiKeyringFile: file }, { ids: me }), /is \d+ bytes; a key file is at most 262144 bytes/, KEY, 'ETL_ERR_KEY_SIZE');
    const big = join(dir, 'key');
    writeFileSync(big, randomBytes(1024 * 1024).toString('base64'), { mode: 0o600 });
    await expectConfigError(() => loadKeyring({ piiKeyFile: big }), /PII_KEY_FILE: cannot read .*: it is \d+ bytes; a key file is at most 1024 bytes/);
  });

  it('does not apply the key-file rule to a KMS keyring, which holds no secret', async () => {
    const dir = tempDir('ring-');
    const file = join(dir, 'ring.json');
    writeFileSync(file, JSON.stringify({ primary: 1, kmsKeyId: 'alias/x', keys: [{ version: 1, wrapped: randomBytes(96).toString('base64') }] }), { mode: 0o644 });
    const { readKeyringSource } = await import('../../src/masking/keyring.js');
    const warnings: string[] = [];
    expect(readKeyringSource({ piiKeyringFile: file, strictKeyFiles: true }, { warn: (w) => warnings.push(w) }).kind).toBe('kms');
    expect(warnings).toEqual([]);
  });
});
