import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/demo/generate.js';
import { loadKeyring } from '../../src/masking/keyring.js';
import { createMasker } from '../../src/masking/masker.js';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, testKey } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

const key = testKey;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('reversible masking (PII_MASK_MODE=siv), reveal, rekey and report', () => {
  let sqs: SqsClient;
  let db: string;
  let env: Record<string, string>;
  let events: { ip: string; device_id: string }[];
  const dir = tempDir('privacy-');

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
    const masker = createMasker(await loadKeyring({ piiKey: key(1) }), 'siv');
    expect(revealed.map((ip) => masker.mask('ip', ip))).toEqual(tokens);
    // Same answers from stdin, one token per line.
    const viaStdin = await runCli(['reveal', '--field', 'ip'], env, `${tokens.join('\n')}\n`);
    expect(viaStdin.stdout).toBe(r.stdout);
    const audit = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit[0]).toMatchObject({ action: 'reveal', field: 'ip', tokens: 20, outcome: 'ok', user: expect.any(String), at: expect.any(String) });
    const auditText = readFileSync(join(dir, 'audit.log'), 'utf8') + r.stderr;
    for (const ip of revealed) expect(auditText).not.toContain(ip);
  });

  it('an audit log that cannot be written: one line, exit 2, nothing revealed, and no log line saying it was', async () => {
    const [row] = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins LIMIT 1');
    const r = await runCli(['reveal', '--field', 'ip', row?.masked_ip ?? ''], { ...env, PII_AUDIT_LOG: join(dir, 'missing-dir', 'audit.log') });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^login-etl: PII_AUDIT_LOG: cannot append to .*audit\.log \(ENOENT\); nothing was revealed/)]);
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

  it('reveal --json pairs each token with its exact value, line breaks and control characters included', async () => {
    const masker = createMasker(await loadKeyring({ piiKey: key(1) }), 'siv');
    const values = ['dev\nice-1', 'tab\there', 'bell\u0007', 'quote"back\\slash', 'plain-id'];
    const tokens = values.map((v) => masker.mask('device_id', v));
    const r = await runCli(['reveal', '--field', 'device_id', '--json', ...tokens], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual(tokens.map((token, i) => ({ token, value: values[i] })));
    // Without --json the line break splits one value over two lines: the pairing --json keeps.
    const plain = await runCli(['reveal', '--field', 'device_id', ...tokens], env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trimEnd().split('\n')).toHaveLength(values.length + 1);
    // …and says so, without the values.
    expect(plain.stderr).toContain('1 of the 5 values has a line break, so the output has more lines than tokens; --json keeps each value with its token');
    for (const v of values) expect(plain.stderr).not.toContain(v);
    const quiet = await runCli(['reveal', '--field', 'device_id', ...tokens.slice(1)], env);
    expect(quiet.stderr).not.toContain('line break');
  });

  it('report shows the duplicate groups and totals', async () => {
    const r = await runCli(['report', '--limit', '5'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('user_logins: 400 rows');
    expect(r.stdout).toContain('Masked IPs shared by several users');
    expect(r.stdout).toMatch(/s1\.[A-Za-z0-9_-]{86}\s+\d+/);
    expect(r.stdout).toContain('By device type');
    // --limit bounds every table, the device types included.
    const one = await runCli(['report', '--limit', '1', '--json'], env);
    expect(one.code, one.stderr).toBe(0);
    const j = JSON.parse(one.stdout) as Record<string, unknown[]>;
    for (const t of ['byDeviceType', 'byLocale', 'sharedIps', 'sharedDevices']) expect(j[t]?.length, t).toBeLessThanOrEqual(1);
    expect(j.byDeviceType).toHaveLength(1);
    const all = await query<{ n: number }>(db, 'SELECT count(DISTINCT device_type)::int AS n FROM user_logins');
    expect(all[0]?.n).toBeGreaterThan(1);
    // Dates as stored, whatever the time zone (east of UTC a date used to come out a day early); counts as numbers.
    for (const tz of ['Asia/Tokyo', 'America/Los_Angeles']) {
      const z = await runCli(['report', '--limit', '1', '--json'], { ...env, TZ: tz });
      const ip = (JSON.parse(z.stdout) as { sharedIps: Record<string, unknown>[] }).sharedIps[0] ?? {};
      const [want] = await query<{ first_seen: string; last_seen: string; users: number }>(
        db, `SELECT first_seen::text, last_seen::text, users::int FROM login_etl_shared_ips WHERE masked_ip = $1`, [ip.masked_ip],
      );
      expect(ip, tz).toMatchObject({ first_seen: want?.first_seen, last_seen: want?.last_seen, users: want?.users });
      expect(typeof ip.logins, tz).toBe('number');
      expect(want?.first_seen).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
  });

  it('after rotation, old tokens still reveal, and rekey moves every row to the new primary', async () => {
    const keyring = JSON.stringify({ primary: 2, keys: [{ version: 1, key: key(1) }, { version: 2, key: key(3) }] });
    const file = join(dir, 'keyring.json');
    writeFileSync(file, keyring, { mode: 0o600 });
    const rotated = { ...env, PII_KEY: undefined, PII_KEYRING_FILE: file } as Record<string, string | undefined>;
    // One row picked by a user_id no other row has: rekey rewrites every row, so ties in an ORDER BY could pick another row after it.
    const one = `SELECT masked_ip FROM user_logins WHERE user_id = (SELECT user_id FROM user_logins GROUP BY user_id HAVING count(*) = 1 ORDER BY user_id LIMIT 1)`;
    const [before] = await query<{ masked_ip: string }>(db, one);
    const old = await runCli(['reveal', '--field', 'ip', before?.masked_ip ?? ''], rotated);
    expect(old.code, old.stderr).toBe(0);

    const rk = await runCli(['rekey', '--batch-size', '64'], rotated);
    expect(rk.code, rk.stderr).toBe(0);
    expect(rk.stdout).toContain('re-encrypted 400 rows to key version 2');
    const [counts] = await query<{ v2: number; total: number }>(db, `SELECT count(*) FILTER (WHERE masked_ip LIKE 's2.%' AND masked_device_id LIKE 's2.%')::int AS v2, count(*)::int AS total FROM user_logins`);
    expect(counts).toEqual({ v2: 400, total: 400 });
    const [after] = await query<{ masked_ip: string }>(db, one);
    expect((await runCli(['reveal', '--field', 'ip', after?.masked_ip ?? ''], rotated)).stdout).toBe(old.stdout);
    expect((await runCli(['rekey'], rotated)).stdout).toContain('re-encrypted 0 rows');
  });

  it('rekey skips a row whose token does not decrypt, reports it and exits 1, and moves the rest', async () => {
    const file = join(dir, 'keyring3.json');
    writeFileSync(file, JSON.stringify({ primary: 3, keys: [{ version: 1, key: key(1) }, { version: 2, key: key(3) }, { version: 3, key: key(4) }] }), { mode: 0o600 });
    const rotated = { ...env, PII_KEY: undefined, PII_KEYRING_FILE: file } as Record<string, string | undefined>;
    await query(db, `UPDATE user_logins SET masked_ip = 's2.' || repeat('A', 86) WHERE ctid = (SELECT min(ctid) FROM user_logins)`);
    const rk = await runCli(['rekey', '--batch-size', '50'], rotated);
    expect(rk.code).toBe(1);
    expect(rk.stdout).toContain('re-encrypted 399 rows to key version 3; skipped 1 row whose tokens do not decrypt (by token: auth_failed 1 (v2))');
    const lines = rk.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
    expect(lines).toEqual([expect.stringMatching(/^login-etl: rekey incomplete: 1 row was skipped because its tokens do not decrypt \(by token: auth_failed 1 \(v2\)\)/)]);
    expect(rk.stderr).toMatch(/"ctid":"\(\d+,\d+\)","field":"ip","reason":"auth_failed"/);
    const [c] = await query<{ v3: number }>(db, `SELECT count(*) FILTER (WHERE masked_ip LIKE 's3.%' AND masked_device_id LIKE 's3.%')::int AS v3 FROM user_logins`);
    expect(c?.v3).toBe(399);
    const audit = readFileSync(join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.at(-1)).toMatchObject({ action: 'rekey', tokens: 399, outcome: 'incomplete', skipped: 1 });
  });
});

describe('reveal refuses what is not a token exactly as written, before loading the key', () => {
  it('refuses a 20 MB stdin line, surrounding spaces and non-canonical base64, in one line each, revealing nothing', async () => {
    const env = { PII_KEY: key(1), PII_MASK_MODE: 'siv' };
    const good = createMasker(await loadKeyring({ piiKey: key(1) }), 'siv').mask('ip', '192.0.2.44');
    expect((await runCli(['reveal', '--field', 'ip', good], env)).stdout).toBe('192.0.2.44\n');
    const cases: [string, string[], string | undefined, RegExp][] = [
      ['20 MB on stdin', [], `s1.${'A'.repeat(20 * 1024 * 1024)}\n`, /line 1 on stdin is longer than any token \(at most 220 characters\)/],
      ['spaces around', [` ${good}`], undefined, /token 1 of 1: not a login-etl token: it has spaces or line breaks around it/],
      ['spaces on stdin', [], `${good}\n  ${good}  \n`, /token 2 of 2: not a login-etl token: it has spaces/],
      // The last of 86 characters carries 2 bits; the next letter of the alphabet sets an unused bit.
      ['non-canonical', [`${good.slice(0, -1)}${B64URL[B64URL.indexOf(good.at(-1) ?? '') + 1] ?? ''}`], undefined, /token 1 of 1: not a login-etl token \(expected .*canonical\)/],
      ['a key that is not there', [good], undefined, /no masking key/],
    ];
    for (const [name, args, input, why] of cases) {
      const r = await runCli(['reveal', '--field', 'ip', ...args], name === 'a key that is not there' ? {} : env, input);
      expect(r.code, name).toBe(2);
      expect(r.stdout, name).toBe('');
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'));
      expect(lines, name).toHaveLength(1);
      expect(lines[0], name).toMatch(why);
    }
    // Malformed tokens are refused before the key is even looked for.
    const early = await runCli(['reveal', '--field', 'ip', ' x'], {});
    expect(early.stderr).toMatch(/token 1 of 1: not a login-etl token/);
  });
});

describe('PII_CONTEXT', () => {
  it('gives a dataset its own tokens under the same key; reveal needs the same context', async () => {
    const sqs = sqsClient();
    const db = await freshDatabase();
    const { queueUrl } = await freshQueues(sqs);
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const body = JSON.stringify({ user_id: 'ctx-1', device_type: 'ios', ip: '198.51.100.23', device_id: 'dev-ctx', locale: null, app_version: '1.0' });
    for (const context of [undefined, 'tenant-a', 'tenant-b']) {
      await sendBodies(sqs, queueUrl, [body]);
      const r = await runCli(['drain', '--json'], { SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: key(1), PII_MASK_MODE: 'siv', PII_CONTEXT: context });
      expect(r.code, r.stderr).toBe(0);
    }
    const rows = await query<{ masked_ip: string }>(db, 'SELECT masked_ip FROM user_logins');
    expect(new Set(rows.map((r) => r.masked_ip)).size).toBe(3);
    const plain = createMasker(await loadKeyring({ piiKey: key(1) }), 'siv').mask('ip', '198.51.100.23');
    expect(rows.map((r) => r.masked_ip)).toContain(plain);
    const tenantA = createMasker(await loadKeyring({ piiKey: key(1) }), 'siv', { context: 'tenant-a' }).mask('ip', '198.51.100.23');
    expect(rows.map((r) => r.masked_ip)).toContain(tenantA);
    const ok = await runCli(['reveal', '--field', 'ip', '--pii-context', 'tenant-a', tenantA], { PII_KEY: key(1) });
    expect(ok.stdout).toBe('198.51.100.23\n');
    const wrong = await runCli(['reveal', '--field', 'ip', tenantA], { PII_KEY: key(1), PII_CONTEXT: 'tenant-b' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('authentication failed: wrong key or PII_CONTEXT');
    sqs.destroy();
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
