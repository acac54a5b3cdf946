import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/demo/generate.js';
import { loadKeyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, testKey } from '../helpers/services.js';

const key = testKey;

describe('reversible masking (PII_MASK_MODE=siv), reveal, rekey and report', () => {
  let sqs: SqsClient;
  let db: string;
  let env: Record<string, string>;
  let events: { ip: string; device_id: string }[];
  const dir = mkdtempSync(join(tmpdir(), 'privacy-'));

  beforeAll(async () => {
    sqs = sqsClient();
    db = await freshDatabase();
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    env = { SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: key(1), PII_MASK_MODE: 'siv', PII_AUDIT_LOG: join(dir, 'audit.log') };
    expect((await runCli(['init-db'], env)).code).toBe(0);
    const { bodies } = generateEvents(400, 11, 0);
    events = bodies.map((b) => JSON.parse(b) as { ip: string; device_id: string });
    await sendBodies(sqs, queueUrl, bodies);
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 400 });
  });
  afterAll(() => sqs.destroy());

  it('writes siv tokens that are equal exactly when the inputs are', async () => {
    const rows = await query<{ masked_ip: string; masked_device_id: string }>(db, 'SELECT masked_ip, masked_device_id FROM user_logins');
    expect(rows.every((r) => r.masked_ip.startsWith('s1.') && r.masked_device_id.startsWith('s1.'))).toBe(true);
    const distinct = (xs: string[]) => new Set(xs).size;
    expect(distinct(rows.map((r) => r.masked_ip))).toBe(distinct(events.map((e) => e.ip)));
    expect(distinct(rows.map((r) => r.masked_device_id))).toBe(distinct(events.map((e) => e.device_id)));
    expect(distinct(rows.map((r) => r.masked_ip))).toBeLessThan(rows.length);
  });

  it('reveal --field ip turns 20 tokens back into the original addresses, in order, and audits it', async () => {
    const rows = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins ORDER BY user_id, masked_ip LIMIT 20');
    const tokens = rows.map((r) => r.masked_ip);
    const r = await runCli(['reveal', '--field', 'ip', ...tokens], env);
    expect(r.code, r.stderr).toBe(0);
    const revealed = r.stdout.trim().split('\n');
    expect(revealed).toHaveLength(20);
    const ips = new Set(events.map((e) => e.ip));
    expect(revealed.every((ip) => ips.has(ip))).toBe(true);
    // In order: each line is the address whose token stood at that position.
    const masker = createMasker(loadKeyring({ piiKey: key(1) }), 'siv');
    expect(revealed.map((ip) => masker.mask('ip', ip))).toEqual(tokens);
    // Same answers from stdin, one token per line.
    const viaStdin = await runCli(['reveal', '--field', 'ip'], env, `${tokens.join('\n')}\n`);
    expect(viaStdin.stdout).toBe(r.stdout);
    const audit = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit[0]).toMatchObject({ action: 'reveal', field: 'ip', tokens: 20, outcome: 'ok', user: expect.any(String), at: expect.any(String) });
    const auditText = readFileSync(join(dir, 'audit.log'), 'utf8') + r.stderr;
    for (const ip of revealed) expect(auditText).not.toContain(ip);
  });

  it('another key reveals nothing and exits non-zero', async () => {
    const [row] = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins LIMIT 1');
    const r = await runCli(['reveal', '--field', 'ip', row?.masked_ip ?? ''], { ...env, PII_KEY: key(2) });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('authentication failed: wrong key');
  });

  it('refuses tokens of the other field, and HMAC tokens', async () => {
    const [row] = await query<{ masked_device_id: string }>(db, 'SELECT masked_device_id FROM user_logins LIMIT 1');
    const wrongField = await runCli(['reveal', '--field', 'ip', row?.masked_device_id ?? ''], env);
    expect(wrongField.code).toBe(2);
    expect(wrongField.stderr).toContain('token belongs to field device_id, not ip');
    const hmac = await runCli(['reveal', '--field', 'ip', `h1.${'A'.repeat(43)}`], env);
    expect(hmac.code).toBe(2);
    expect(hmac.stderr).toContain('HMAC tokens are one-way');
  });

  it('report shows the duplicate groups and totals', async () => {
    const r = await runCli(['report', '--limit', '5'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('user_logins: 400 rows');
    expect(r.stdout).toContain('Masked IPs shared by several users');
    expect(r.stdout).toMatch(/s1\.[A-Za-z0-9_-]{86}\s+\d+/);
    expect(r.stdout).toContain('By device type');
  });

  it('after rotation, old tokens still reveal, and rekey moves every row to the new primary', async () => {
    const keyring = JSON.stringify({ primary: 2, keys: [{ version: 1, key: key(1) }, { version: 2, key: key(3) }] });
    const file = join(dir, 'keyring.json');
    writeFileSync(file, keyring, { mode: 0o600 });
    const rotated = { ...env, PII_KEY: undefined, PII_KEYRING_FILE: file } as Record<string, string | undefined>;
    const [before] = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins ORDER BY user_id LIMIT 1');
    const old = await runCli(['reveal', '--field', 'ip', before?.masked_ip ?? ''], rotated);
    expect(old.code, old.stderr).toBe(0);

    const rk = await runCli(['rekey', '--batch-size', '64'], rotated);
    expect(rk.code, rk.stderr).toBe(0);
    expect(rk.stdout).toContain('re-encrypted 400 rows to key version 2');
    const [counts] = await query<{ v2: number; total: number }>(db, `SELECT count(*) FILTER (WHERE masked_ip LIKE 's2.%' AND masked_device_id LIKE 's2.%')::int AS v2, count(*)::int AS total FROM user_logins`);
    expect(counts).toEqual({ v2: 400, total: 400 });
    const [after] = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins ORDER BY user_id LIMIT 1');
    expect((await runCli(['reveal', '--field', 'ip', after?.masked_ip ?? ''], rotated)).stdout).toBe(old.stdout);
    expect((await runCli(['rekey'], rotated)).stdout).toContain('re-encrypted 0 rows');
  });
});

describe('keygen', () => {
  it('prints a fresh 32-byte base64 key, or a keyring entry', async () => {
    const a = await runCli(['keygen'], {});
    const b = await runCli(['keygen'], {});
    expect(Buffer.from(a.stdout.trim(), 'base64')).toHaveLength(32);
    expect(a.stdout).not.toBe(b.stdout);
    const entry = JSON.parse((await runCli(['keygen', '--key-version', '3'], {})).stdout) as { version: number; key: string };
    expect(entry.version).toBe(3);
    expect(Buffer.from(entry.key, 'base64')).toHaveLength(32);
  });
});
