import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMasker } from '../../src/masking/masker.js';
import { decodeKey } from '../../src/masking/keys.js';
import { runCli } from '../helpers/cli.js';
import { testKey } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const sivToken = (key: string, ip: string) => createMasker({ primary: 1, keys: new Map([[1, decodeKey(key, 'k')]]) }, 'siv').mask('ip', ip);

describe('which masking key is used when several are set', () => {
  const dir = tempDir('key-sources-');
  const keyFile = (name: string, key: string) => {
    const f = join(dir, name);
    writeFileSync(f, `${key}\n`);
    chmodSync(f, 0o600);
    return f;
  };
  const env = () => ({ PII_AUDIT_LOG: join(dir, 'audit.log') });

  it('--key-file wins over an exported PII_KEY (flags win), as it does over PII_KEYRING', async () => {
    const token = sivToken(testKey(2), '198.51.100.23');
    const f = keyFile('k2', testKey(2));
    const r = await runCli(['reveal', '--field', 'ip', '--key-file', f, token], { ...env(), PII_KEY: testKey(1) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('198.51.100.23\n');
    // …and says that the exported variable is ignored, naming the flag it lost to, never a key.
    expect(r.stderr).toContain('--key-file is the masking key used; PII_KEY is set too and ignored (a key flag wins over every key variable)');
    expect(r.stderr).not.toContain(testKey(1));
    const ring = JSON.stringify({ primary: 1, keys: [{ version: 1, key: testKey(3) }] });
    const r2 = await runCli(['reveal', '--field', 'ip', '--key-file', f, token], { ...env(), PII_KEYRING: ring });
    expect(r2.stdout).toBe('198.51.100.23\n');
  });

  it('a --key-file that does not exist is an error even with PII_KEY exported, not silently skipped', async () => {
    const missing = join(dir, 'missing');
    const r = await runCli(['reveal', '--field', 'ip', '--key-file', missing, sivToken(testKey(1), '192.0.2.1')], { ...env(), PII_KEY: testKey(1) });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([`login-etl: --key-file: cannot read ${missing}: no such file (ENOENT); check the path and the volume mount`]);
  });

  it('doctor names the flag as the key source, not the variable it overrides, and warns of other key variables', async () => {
    const offline = { SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/q', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' };
    const flag = keyFile('k5', testKey(5));
    const d = await runCli(['doctor', '--key-file', flag], { ...offline, PII_KEY_FILE: keyFile('k6', testKey(6)) });
    expect(d.stdout).toMatch(/masking key\s+pass\s+--key-file: 1 key version\(s\), primary v1, mode hmac\n/);
    const withRing = await runCli(['doctor', '--key-file', flag], { ...offline, PII_KEYRING: JSON.stringify({ primary: 1, keys: [{ version: 1, key: testKey(6) }] }) });
    expect(withRing.stdout).toMatch(/masking key\s+pass\s+--key-file: 1 key version\(s\), primary v1, mode hmac; warning: --key-file is the masking key used; PII_KEYRING is set too and ignored \(a key flag wins over every key variable\)/);
  });

  it('keygen refuses key-source flags it would ignore (they are read only to wrap the keyring you have)', async () => {
    const r = await runCli(['keygen', '--key-file', keyFile('k7', testKey(7))], env());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('login-etl: --key-file: read only with --kms-key-id --wrap-existing, which wraps the keyring you have; keygen otherwise prints a new key');
    expect((await runCli(['keygen'], env())).stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
  });

  it('reveal refuses an HMAC token as one-way before asking for a key (no key would reveal it)', async () => {
    const token = createMasker({ primary: 1, keys: new Map([[1, decodeKey(testKey(1), 'k')]]) }, 'hmac').mask('ip', '192.0.2.8');
    const r = await runCli(['reveal', '--field', 'ip', token], env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual(['login-etl: token 1 of 1: HMAC tokens are one-way and cannot be revealed; only PII_MASK_MODE=siv tokens can; nothing was revealed']);
  });

  it('refuses --key-file and --keyring-file together, in one line', async () => {
    const f = keyFile('k1', testKey(1));
    const r = await runCli(['reveal', '--field', 'ip', '--key-file', f, '--keyring-file', f, 'x'], env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('login-etl: --keyring-file and --key-file are both given: pass one masking key source');
  });

  it('warns, without the key, when two key variables are set and one is ignored', async () => {
    const f = keyFile('k4', testKey(4));
    const token = sivToken(testKey(1), '203.0.113.9');
    const r = await runCli(['reveal', '--field', 'ip', token], { ...env(), PII_KEY: testKey(1), PII_KEY_FILE: f });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('203.0.113.9\n');
    expect(r.stderr).toContain('PII_KEY is the masking key used; PII_KEY_FILE is set too and ignored');
    expect(r.stderr).not.toContain(testKey(1));
    expect(r.stderr).not.toContain(testKey(4));
  });
});

describe('doctor on a keyring with an HMAC cut-over', () => {
  // Nothing listens on port 1: only the masking-key row matters here.
  const offline = { SQS_QUEUE_URL: 'http://127.0.0.1:1/000000000000/q', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres' };
  const ring = (until: string) =>
    JSON.stringify({ primary: 2, keys: [{ version: 1, key: testKey(1) }, { version: 2, key: testKey(2) }], hmacCutover: { version: 1, until } });

  it('says which version it writes while the cut-over lasts, and that it can go once it is over', async () => {
    const during = await runCli(['doctor'], { ...offline, PII_KEYRING: ring('2099-01-01T00:00:00Z') });
    expect(during.stdout).toMatch(/masking key\s+pass\s+PII_KEYRING: 2 key version\(s\), primary v2 \(writing v1 until 2099-01-01T00:00:00\.000Z: hmacCutover\), mode hmac/);
    const after = await runCli(['doctor'], { ...offline, PII_KEYRING: ring('2020-01-01T00:00:00Z') });
    expect(after.stdout).toMatch(/masking key\s+pass\s+PII_KEYRING: 2 key version\(s\), primary v2 \(hmacCutover ended 2020-01-01T00:00:00\.000Z: it can be removed from the keyring\), mode hmac/);
    // siv ignores the cut-over (it only spans HMAC duplicate detection).
    const siv = await runCli(['doctor'], { ...offline, PII_KEYRING: ring('2099-01-01T00:00:00Z'), PII_MASK_MODE: 'siv' });
    expect(siv.stdout).toMatch(/masking key\s+pass\s+PII_KEYRING: 2 key version\(s\), primary v2, mode siv/);
  });
});
