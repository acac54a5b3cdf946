import { EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { LoginEtlError } from '../../src/errors.js';
import { loadKeyring, openKeyring, type Keyring } from '../../src/masking/keyring.js';
import { encryptionContext, generateWrappedKey, unwrapDataKey, wrapDataKey } from '../../src/masking/kms.js';
import { createMasker } from '../../src/masking/masker.js';
import { deriveSubkey } from '../../src/masking/subkey.js';
import { freshKmsKey, kmsClient } from '../helpers/kms.js';
import { testKey } from '../helpers/services.js';

// moto_server is a real KMS over HTTP: it checks the KeyId and the encryption context on Decrypt.
describe('KMS-wrapped keyrings (envelope encryption) against moto_server', () => {
  let kms: KMSClient;
  let key: { alias: string; arn: string };
  let other: { alias: string; arn: string };
  const plain = new Map<number, Buffer>();
  const entries: { version: number; wrapped: string }[] = [];

  beforeAll(async () => {
    kms = kmsClient();
    [key, other] = await Promise.all([freshKmsKey(kms), freshKmsKey(kms)]);
    for (const v of [1, 2]) {
      const { entry, plaintext } = await generateWrappedKey(kms, key.alias, v);
      entries.push(entry);
      plain.set(v, plaintext);
    }
  });
  afterAll(() => kms.destroy());

  const ring = (keys: { version: number; wrapped: string }[], kmsKeyId = key.alias) => JSON.stringify({ primary: 2, kmsKeyId, keys });

  /** The error of loading the keyring through a KMS client built for `endpoint` (AWS_ENDPOINT_URL_KMS, as a user sets it). */
  async function loadErrorAt(endpoint: string): Promise<unknown> {
    const { createKmsClient } = await import('../../src/masking/kms.js');
    const saved = process.env.AWS_ENDPOINT_URL_KMS;
    process.env.AWS_ENDPOINT_URL_KMS = endpoint;
    try {
      const client = await createKmsClient('us-east-1', process.env);
      const err = await loadKeyring({ piiKeyring: ring(entries) }, { kms: client }).catch((e: unknown) => e);
      client.destroy();
      return err;
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_KMS;
      else process.env.AWS_ENDPOINT_URL_KMS = saved;
    }
  }

  it('unwraps every version at load, to the keys GenerateDataKey returned', async () => {
    const k = await loadKeyring({ piiKeyring: ring(entries) }, { kms });
    expect(k.primary).toBe(2);
    expect(k.keys.get(1)?.equals(plain.get(1) ?? Buffer.alloc(0))).toBe(true);
    expect(k.keys.get(2)?.equals(plain.get(2) ?? Buffer.alloc(0))).toBe(true);
    // The key ARN pins the same key as its alias.
    expect((await loadKeyring({ piiKeyring: ring(entries, key.arn) }, { kms })).keys.get(2)?.equals(plain.get(2) ?? Buffer.alloc(0))).toBe(true);
  });

  it('masks exactly like the same keys in plaintext, in both modes, and reveals across them', async () => {
    const wrapped = await loadKeyring({ piiKeyring: ring(entries) }, { kms });
    const plaintext: Keyring = { primary: 2, keys: plain };
    for (const mode of ['hmac', 'siv'] as const) {
      const a = createMasker(wrapped, mode);
      const b = createMasker(plaintext, mode);
      for (const v of ['192.0.2.1', '2001:db8::7', '0.0.0.0']) expect(a.mask('ip', v)).toBe(b.mask('ip', v));
      expect(a.mask('device_id', 'dev-42')).toBe(b.mask('device_id', 'dev-42'));
    }
    expect(createMasker(wrapped, 'siv').reveal('ip', createMasker(plaintext, 'siv').mask('ip', '192.0.2.1'))).toBe('192.0.2.1');
  });

  it('refuses a blob swapped between versions: KMS checks the version in the encryption context', async () => {
    const swapped = [{ version: 1, wrapped: entries[1]!.wrapped }, { version: 2, wrapped: entries[0]!.wrapped }];
    const err = await loadKeyring({ piiKeyring: ring(swapped) }, { kms }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ETL_ERR_KMS');
    expect((err as Error).message).toMatch(/^PII_KEYRING key version 1: kms:Decrypt with alias\/login-etl-[0-9a-f]+ failed: InvalidCiphertextException; .*encryption context/);
    expect((err as Error).message).toContain('(2 of 2 versions could not be unwrapped');
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses a blob wrapped with another encryption context (another app or purpose)', async () => {
    const foreign = await kms.send(new EncryptCommand({ KeyId: key.alias, Plaintext: plain.get(1), EncryptionContext: { ...encryptionContext(1), app: 'someone-else' } }));
    const blob = Buffer.from(foreign.CiphertextBlob ?? []).toString('base64');
    const r = await openKeyring({ piiKeyring: ring([{ version: 1, wrapped: blob }, entries[1]!]) }, { kms });
    expect(r.keyring).toBeUndefined();
    expect(r.versions).toEqual([
      { version: 1, ok: false, detail: expect.stringMatching(/^kms:Decrypt with .* failed: InvalidCiphertextException/) },
      { version: 2, ok: true, detail: `unwrapped with kms:Decrypt (${key.alias})` },
    ]);
    expect(r.error?.message).toMatch(/^PII_KEYRING key version 1: /);
  });

  it('refuses a blob wrapped under another KMS key than kmsKeyId (the KeyId is pinned)', async () => {
    const { entry } = await generateWrappedKey(kms, other.alias, 2);
    const r = await openKeyring({ piiKeyring: ring([entries[0]!, entry]) }, { kms });
    expect(r.versions.map((v) => v.ok)).toEqual([true, false]);
    // Real KMS answers IncorrectKeyException, moto AccessDeniedException; both are refusals the user fixes.
    expect(r.error).toBeInstanceOf(ConfigError);
    expect(r.error?.message).toMatch(/^PII_KEYRING key version 2: kms:Decrypt with alias\/login-etl-[0-9a-f]+ failed: (IncorrectKeyException|AccessDeniedException)/);
    // The same blob under its own key unwraps: it is the key that is wrong, not the blob.
    expect((await unwrapDataKey(kms, other.alias, 2, Buffer.from(entry.wrapped, 'base64'))).length).toBe(32);
  });

  it('refuses an unknown key alias, naming it', async () => {
    const err = await loadKeyring({ piiKeyring: ring(entries, 'alias/does-not-exist') }, { kms }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/kms:Decrypt with alias\/does-not-exist failed: NotFoundException/);
  });

  it('an endpoint that is not KMS (an SQS emulator, a proxy) is named as such, in one line', async () => {
    const { createServer } = await import('node:http');
    // An error body without a KMS type (as an SQS emulator answers), and a page that is not JSON at all.
    for (const [status, type, body] of [[400, 'application/json', '{"message":"unknown operation"}'], [404, 'text/html', '<html>not found</html>']] as const) {
      const server = createServer((_req, res) => res.writeHead(status, { 'content-type': type }).end(body));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const err = await loadErrorAt(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
        expect(err).toBeInstanceOf(LoginEtlError);
        expect((err as Error).message).toMatch(new RegExp(`kms:Decrypt with .* failed: the endpoint answered HTTP ${status}, not as KMS does: is AWS_ENDPOINT_URL_KMS \\(or AWS_ENDPOINT_URL\\) a KMS endpoint\\? \\(`));
        expect((err as Error).message.split('\n')).toHaveLength(1);
      } finally {
        server.close();
      }
    }
  });

  it('an unreachable KMS is a runtime failure (exit 1), in one line', async () => {
    const err = await loadErrorAt('http://127.0.0.1:1');
    expect(err).toBeInstanceOf(LoginEtlError);
    expect(err).not.toBeInstanceOf(ConfigError);
    expect((err as LoginEtlError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/^PII_KEYRING key version \d: kms:Decrypt with .* failed: cannot reach KMS \(ECONNREFUSED\)/);
  });

  it('wraps an existing plaintext key with kms:Encrypt so that its tokens do not change', async () => {
    const existing: Keyring = { primary: 1, keys: new Map([[1, Buffer.from(testKey(11), 'base64')]]) };
    const entry = await wrapDataKey(kms, key.alias, 1, existing.keys.get(1) ?? Buffer.alloc(0));
    const moved = await loadKeyring({ piiKeyring: JSON.stringify({ primary: 1, kmsKeyId: key.alias, keys: [entry] }) }, { kms });
    for (const mode of ['hmac', 'siv'] as const) expect(createMasker(moved, mode).mask('ip', '203.0.113.9')).toBe(createMasker(existing, mode).mask('ip', '203.0.113.9'));
  });

  it('derives purpose subkeys (for dead-letter bodies) from unwrapped versions like from plaintext ones', async () => {
    const wrapped = await loadKeyring({ piiKeyring: ring(entries) }, { kms });
    const a = deriveSubkey(wrapped, 'dlq');
    expect(a.version).toBe(2);
    expect(a.key.equals(deriveSubkey({ primary: 2, keys: plain }, 'dlq').key)).toBe(true);
  });
});
