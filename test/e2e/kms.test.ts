import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/demo/generate.js';
import { generateWrappedKey, unwrapDataKey } from '../../src/masking/kms.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshKmsKey, kmsClient, kmsEnv } from '../helpers/kms.js';
import { freshDatabase, freshQueues, query, sqsClient, testKey } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('kms-e2e-');
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
};

describe('keyrings wrapped by KMS, through the CLI (moto_server as KMS)', () => {
  let kms: KMSClient;
  let sqs: SqsClient;
  let alias: string;
  let wrappedRing: string;
  let plainRing: string;
  const bodies = generateEvents(200, 5, 0).bodies;

  beforeAll(async () => {
    kms = kmsClient();
    sqs = sqsClient();
    alias = (await freshKmsKey(kms)).alias;
    // GenerateDataKey returns the plaintext too: the same keys as a plaintext keyring, to compare tokens.
    const v1 = await generateWrappedKey(kms, alias, 1);
    const v2 = await generateWrappedKey(kms, alias, 2);
    wrappedRing = JSON.stringify({ primary: 2, kmsKeyId: alias, keys: [v1.entry, v2.entry] });
    plainRing = JSON.stringify({ primary: 2, keys: [{ version: 1, key: v1.plaintext.toString('base64') }, { version: 2, key: v2.plaintext.toString('base64') }] });
  });
  afterAll(() => {
    kms.destroy();
    sqs.destroy();
  });

  /** Drains the same 200 events into a new database; returns every row, sorted, as text. */
  async function drainWith(keys: Record<string, string | undefined>, mode: string): Promise<string[]> {
    const db = await freshDatabase();
    const { queueUrl } = await freshQueues(sqs);
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await sendBodies(sqs, queueUrl, bodies);
    const r = await runCli(['drain', '--json'], { ...kmsEnv(), ...keys, SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_MASK_MODE: mode });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 200 });
    const rows = await query<{ r: string }>(db, `SELECT concat_ws(' ', user_id, device_type, locale, app_version, masked_ip, masked_device_id) AS r FROM user_logins`);
    return rows.map((x) => x.r).sort();
  }

  it.each(['hmac', 'siv'])('drain with the KMS keyring writes the same tokens as with the plaintext keyring (%s)', async (mode) => {
    const viaKms = await drainWith({ PII_KEYRING_FILE: file(`wrapped-${mode}.json`, wrappedRing) }, mode);
    const viaPlain = await drainWith({ PII_KEYRING: plainRing }, mode);
    expect(viaKms).toHaveLength(200);
    expect(viaKms.every((r) => r.split(' ').slice(-2).every((t) => t.startsWith(mode === 'hmac' ? 'h2.' : 's2.')))).toBe(true);
    expect(viaKms).toEqual(viaPlain);
  });

  it('reveal and doctor load it; doctor lists each version, never a key', async () => {
    const ring = file('ring.json', wrappedRing);
    const db = await freshDatabase();
    const { queueUrl } = await freshQueues(sqs);
    const env = { ...kmsEnv(), PII_KEYRING_FILE: ring, PII_MASK_MODE: 'siv', SQS_QUEUE_URL: queueUrl, DATABASE_URL: db };
    await runCli(['init-db'], env);
    await sendBodies(sqs, queueUrl, bodies.slice(0, 5));
    expect((await runCli(['drain'], env)).code).toBe(0);
    const [row] = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins LIMIT 1');
    const rev = await runCli(['reveal', '--field', 'ip', row?.masked_ip ?? ''], env);
    expect(rev.code, rev.stderr).toBe(0);
    expect(bodies.some((b) => b.includes(`"ip":"${rev.stdout.trim()}"`))).toBe(true);
    const doc = await runCli(['doctor'], env);
    expect(doc.code, doc.stdout).toBe(0);
    expect(doc.stdout).toMatch(new RegExp(`masking key\\s+pass\\s+PII_KEYRING_FILE \\(KMS ${alias}\\): 2 key version\\(s\\), primary v2, mode siv`));
    expect(doc.stdout).toMatch(/key version 1\s+pass\s+unwrapped with kms:Decrypt/);
    expect(doc.stdout).toMatch(/key version 2\s+pass\s+unwrapped with kms:Decrypt/);
    for (const k of JSON.parse(plainRing).keys as { key: string }[]) expect(doc.stdout + doc.stderr).not.toContain(k.key);
  });

  it('refuses a swapped blob, a wrong context and another KMS key, in one line naming the version and the AWS error (exit 2)', async () => {
    const entries = (JSON.parse(wrappedRing) as { keys: { version: number; wrapped: string }[] }).keys;
    const other = await freshKmsKey(kms);
    const foreign = await generateWrappedKey(kms, other.alias, 2);
    const bad: [string, unknown, RegExp][] = [
      ['swapped', { primary: 2, kmsKeyId: alias, keys: [{ version: 1, wrapped: entries[1]?.wrapped }, { version: 2, wrapped: entries[0]?.wrapped }] }, /key version 1: kms:Decrypt with .* failed: InvalidCiphertextException/],
      // The v1 blob presented as version 3: its context says version 1.
      ['wrong context', { primary: 3, kmsKeyId: alias, keys: [{ version: 3, wrapped: entries[0]?.wrapped }] }, /key version 3: kms:Decrypt with .* failed: InvalidCiphertextException/],
      ['other key', { primary: 2, kmsKeyId: alias, keys: [entries[0], foreign.entry] }, /key version 2: kms:Decrypt with .* failed: (IncorrectKeyException|AccessDeniedException)/],
    ];
    for (const [name, ring, why] of bad) {
      const r = await runCli(['reveal', '--field', 'ip', `s1.${'A'.repeat(86)}`], { ...kmsEnv(), PII_KEYRING: JSON.stringify(ring) });
      expect(r.code, name).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
      expect(lines, `${name}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0]).toMatch(why);
      const doc = await runCli(['doctor'], { ...kmsEnv(), PII_KEYRING: JSON.stringify(ring) });
      expect(doc.stdout, name).toMatch(/masking key\s+FAIL\s+PII_KEYRING \(KMS .*\): \d of \d key versions could not be unwrapped/);
      expect(doc.stdout).toMatch(/key version \d\s+FAIL\s+kms:Decrypt with/);
    }
  });

  it('keygen --kms-key-id prints only a wrapped entry that unwraps to a fresh key', async () => {
    const r = await runCli(['keygen', '--kms-key-id', alias, '--key-version', '4'], kmsEnv());
    expect(r.code, r.stderr).toBe(0);
    const entry = JSON.parse(r.stdout) as { version: number; wrapped: string };
    expect(Object.keys(entry)).toEqual(['version', 'wrapped']);
    expect(entry.version).toBe(4);
    const key = await unwrapDataKey(kms, alias, 4, Buffer.from(entry.wrapped, 'base64'));
    expect(key).toHaveLength(32);
    expect(r.stdout + r.stderr).not.toContain(key.toString('base64'));
    const ring = JSON.stringify({ primary: 4, kmsKeyId: alias, keys: [entry] });
    expect((await runCli(['doctor'], { ...kmsEnv(), PII_KEYRING: ring })).stdout).toMatch(/key version 4\s+pass/);
  });

  it('keygen --wrap-existing moves a plaintext key into KMS without changing a single token', async () => {
    const key = testKey(21);
    const r = await runCli(['keygen', '--kms-key-id', alias, '--wrap-existing'], { ...kmsEnv(), PII_KEY: key });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(key);
    const ring = JSON.parse(r.stdout) as { primary: number; kmsKeyId: string; keys: { version: number; wrapped: string }[] };
    expect(ring).toMatchObject({ primary: 1, kmsKeyId: alias, keys: [{ version: 1, wrapped: expect.any(String) }] });
    for (const mode of ['hmac', 'siv']) {
      const before = await drainWith({ PII_KEY: key }, mode);
      const after = await drainWith({ PII_KEYRING: r.stdout }, mode);
      expect(after).toEqual(before);
    }
  });

  it('an unreachable KMS endpoint is one line and exit 1 (worth retrying), not a hang', async () => {
    const r = await runCli(['reveal', '--field', 'ip', `s1.${'A'.repeat(86)}`], { AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:1', AWS_REGION: 'us-east-1', PII_KEYRING: wrappedRing });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([expect.stringMatching(/cannot reach KMS \(ECONNREFUSED\)/)]);
  });
});
