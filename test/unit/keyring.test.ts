import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadKeyring } from '../../src/masking/keyring.js';
import { testKey } from '../helpers/services.js';

const KEY = testKey(3);
const SHORT = Buffer.alloc(16, 3).toString('base64');

function expectConfigError(fn: () => unknown, includes: string, secret?: string): void {
  try {
    fn();
    expect.unreachable();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(includes);
    if (secret) expect((err as Error).message).not.toContain(secret);
  }
}

describe('loadKeyring', () => {
  it('loads PII_KEY as version 1', () => {
    const k = loadKeyring({ piiKey: KEY });
    expect(k.primary).toBe(1);
    expect(k.keys.get(1)?.length).toBe(32);
  });

  it('fails without a key, with a short key or bad base64, naming the variable and never the value', () => {
    expectConfigError(() => loadKeyring({}), 'PII_KEY');
    expectConfigError(() => loadKeyring({ piiKey: SHORT }), 'at least 32', SHORT);
    expectConfigError(() => loadKeyring({ piiKey: 'not base64 at all!!' }), 'not valid base64', 'not base64');
  });

  it('loads a keyring with several versions and a primary', () => {
    const json = JSON.stringify({ primary: 2, keys: [{ version: 1, key: KEY }, { version: 2, key: testKey(4) }] });
    const k = loadKeyring({ piiKeyring: json });
    expect(k.primary).toBe(2);
    expect([...k.keys.keys()]).toEqual([1, 2]);
  });

  it('refuses a keyring whose primary has no key, or with a duplicate version', () => {
    expectConfigError(() => loadKeyring({ piiKeyring: JSON.stringify({ primary: 3, keys: [{ version: 1, key: KEY }] }) }), 'primary version 3', KEY);
    expectConfigError(() => loadKeyring({ piiKeyring: JSON.stringify({ primary: 1, keys: [{ version: 1, key: KEY }, { version: 1, key: KEY }] }) }), 'twice', KEY);
    expectConfigError(() => loadKeyring({ piiKeyring: '{oops' }), 'not valid JSON');
  });

  it('warns about a key file others can read, and refuses it with strict', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-'));
    const file = join(dir, 'key');
    writeFileSync(file, `${KEY}\n`);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(loadKeyring({ piiKeyFile: file }, (w) => warnings.push(w)).keys.size).toBe(1);
    expect(warnings.join()).toContain('chmod 600');
    expectConfigError(() => loadKeyring({ piiKeyFile: file, strictKeyFiles: true }), 'readable by group or others', KEY);
    chmodSync(file, 0o600);
    const quiet: string[] = [];
    loadKeyring({ piiKeyFile: file, strictKeyFiles: true }, (w) => quiet.push(w));
    expect(quiet).toEqual([]);
    expectConfigError(() => loadKeyring({ piiKeyFile: join(dir, 'missing') }), 'ENOENT');
  });
});
