import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, TEST_KEY } from '../helpers/services.js';

const oneLine = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('login-etl:'));

describe('PostgreSQL settings: one line for each fixable fault, and passwords kept out of sight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-config-'));
  let db: string;
  /** The test database as user `etl_pw`, whose password needs percent-encoding. */
  let role: { user: string; password: string; host: string; port: string; database: string };

  beforeAll(async () => {
    db = await freshDatabase();
    const u = new URL(db);
    const user = `etl_${Math.random().toString(36).slice(2, 8)}`;
    role = { user, password: 'p@ss/w%rd#1', host: u.hostname, port: u.port, database: u.pathname.slice(1) };
    await query(db, `CREATE ROLE ${user} LOGIN PASSWORD '${role.password}'`);
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await query(db, `GRANT SELECT, INSERT ON user_logins TO ${user}; GRANT SELECT, INSERT, DELETE ON login_etl_ledger TO ${user};
                     GRANT SELECT ON login_etl_shared_ips, login_etl_shared_devices TO ${user}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const urlWith = (password: string | undefined, port = role.port) =>
    `postgres://${role.user}${password === undefined ? '' : `:${password}`}@${role.host}${port ? `:${port}` : ''}/${role.database}`;

  it('a percent-encoded password works; the same password unencoded is one line saying how to encode it', async () => {
    expect((await runCli(['doctor'], { DATABASE_URL: urlWith(encodeURIComponent(role.password)), PII_KEY: TEST_KEY })).stdout).toMatch(/PostgreSQL connection\s+pass/);
    for (const [password, why] of [['p@ss', 'unencoded "@"'], ['100%sure', '"%" that is not a percent-escape'], [role.password, '"%" that is not a percent-escape'], ['pa#ss', 'contains "#"']] as const) {
      const r = await runCli(['init-db'], { DATABASE_URL: urlWith(password) });
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toEqual([expect.stringContaining(why)]);
      expect(r.stderr).toContain('percent-encode special characters in the user name and password (@ as %40, % as %25');
      expect(r.stderr).not.toContain(password);
    }
  });

  it('a URL without a port names port 5432, never host:0', async () => {
    const r = await runCli(['init-db'], { DATABASE_URL: `postgres://${role.user}:sekret@127.0.0.1/${role.database}` });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual([expect.stringContaining(`${role.user}@127.0.0.1:5432/${role.database}`)]);
    expect(r.stderr).not.toContain(':0/');
    expect(r.stderr).not.toContain('sekret');
  });

  it('DATABASE_URL_FILE holds the URL (password included) out of the environment and the process list', async () => {
    const file = join(dir, 'database-url');
    writeFileSync(file, `${urlWith(encodeURIComponent(role.password))}\n`);
    chmodSync(file, 0o600);
    const { queueUrl, dlqUrl } = await freshQueues(sqsClient());
    await sendBodies(sqsClient(), queueUrl, [JSON.stringify({ user_id: 'from-file', device_type: 'ios', ip: '192.0.2.7', device_id: 'd', locale: null, app_version: '1.0' })]);
    const r = await runCli(['drain', '--json'], { DATABASE_URL_FILE: file, SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY, LOG_LEVEL: 'warn' });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 1 });
    expect(r.stderr).toBe('');
    const missing = await runCli(['init-db'], { DATABASE_URL_FILE: join(dir, 'nope') });
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toEqual([`login-etl: DATABASE_URL_FILE: cannot read ${join(dir, 'nope')}: no such file (ENOENT); check the path and the volume mount`]);
  });

  it('a password in --database-url draws one warning about the process list', async () => {
    const url = urlWith(encodeURIComponent(role.password));
    const flag = await runCli(['report', '--database-url', url, '--log-level', 'warn'], {});
    expect(flag.code, flag.stderr).toBe(0);
    const warnings = flag.stderr.trim().split('\n').filter(Boolean);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] ?? '{}')).toMatchObject({ level: 40, msg: expect.stringContaining('--database-url carries a password, which any user of this machine can read in the process list') });
    expect(flag.stderr).not.toContain(encodeURIComponent(role.password));
    expect((await runCli(['report', '--log-level', 'warn'], { DATABASE_URL: url })).stderr).toBe('');
  });

  it('PGPASSFILE supplies the password for a URL without one; a file others can read, or no entry, is one line', async () => {
    const pass = join(dir, 'pgpass');
    writeFileSync(pass, `# comment\n${role.host}:${role.port}:${role.database}:${role.user}:${role.password.replace(/([:\\])/g, '\\$1')}\n`);
    chmodSync(pass, 0o600);
    const url = urlWith(undefined);
    const ok = await runCli(['report', '--json'], { DATABASE_URL: url, PGPASSFILE: pass });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/deprecat/i);

    chmodSync(pass, 0o644);
    const open = await runCli(['report'], { DATABASE_URL: url, PGPASSFILE: pass });
    expect(open.code).toBe(2);
    expect(oneLine(open.stderr)).toEqual([`login-etl: PGPASSFILE ${pass} can be read by group or others (mode 644), so PostgreSQL clients ignore it; run \`chmod 600 ${pass}\``]);

    chmodSync(pass, 0o600);
    writeFileSync(pass, `${role.host}:${role.port}:${role.database}:someone_else:x\n`);
    const none = await runCli(['report'], { DATABASE_URL: url, PGPASSFILE: pass });
    expect(none.code).toBe(2);
    expect(oneLine(none.stderr)).toEqual([
      `login-etl: PostgreSQL at ${role.user}@${role.host}:${role.port}/${role.database} asks for a password and none is configured: put it in DATABASE_URL (percent-encoded) or DATABASE_URL_FILE, set PGPASSWORD, or add a line host:port:database:user:password to ${pass} (PGPASSFILE) with mode 600`,
    ]);

    writeFileSync(pass, `${role.host}:${role.port}:${role.database}:${role.user}:not-the-password\n`);
    const wrong = await runCli(['report'], { DATABASE_URL: url, PGPASSFILE: pass });
    expect(wrong.code).toBe(2);
    expect(oneLine(wrong.stderr)).toEqual([
      `login-etl: PostgreSQL rejected the password for user "${role.user}" at ${role.user}@${role.host}:${role.port}/${role.database}; check the password file ${pass} (PGPASSFILE)`,
    ]);
  });
});

describe('what PostgreSQL stores and the CLI prints', () => {
  it('astral-plane text at each column limit is written, one character over is rejected', async () => {
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const E = '\u{1F600}';
    // JSON's \uD83D\uDE00 escapes: fauxqs refuses astral-plane characters in a body (real SQS takes them).
    const body = (over: Record<string, string>) =>
      JSON.stringify({ user_id: 'u', device_type: 'ios', ip: '192.0.2.1', device_id: 'd', locale: 'en', app_version: '1.0', ...over })
        .replace(/[\u{10000}-\u{10FFFF}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}\\u${c.charCodeAt(1).toString(16)}`);
    const sqs = sqsClient();
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, [
      body({ user_id: E.repeat(128) }), body({ user_id: `${E.repeat(127)}x`, device_type: E.repeat(32), locale: E.repeat(32) }),
      body({ user_id: E.repeat(129) }), body({ device_type: E.repeat(33) }), body({ locale: E.repeat(33) }),
    ]);
    const r = await runCli(['drain', '--json'], { DATABASE_URL: db, SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 2, rejected: 3, rejectedByReason: { too_long: 3 } });
    const rows = await query<{ u: number; d: number; l: number }>(db, 'SELECT char_length(user_id) AS u, char_length(device_type) AS d, char_length(locale) AS l FROM user_logins ORDER BY 1, 2');
    expect(rows).toEqual([{ u: 128, d: 3, l: 2 }, { u: 128, d: 32, l: 32 }]);
    sqs.destroy();
  });

  it('report escapes control characters producers put in device_type and locale', async () => {
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await query(db, `INSERT INTO user_logins VALUES ('u1', E'\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred', 'h1.a', 'h1.b', E'en\\u202e', 1, '2026-01-01')`);
    const r = await runCli(['report'], { DATABASE_URL: db });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(r.stdout).toContain('\\x1B]0;owned\\x07\\x1B[2J\\x1B[31mred');
    expect(r.stdout).toContain('en\\u202E');
    const json = await runCli(['report', '--json'], { DATABASE_URL: db });
    expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect((JSON.parse(json.stdout) as { byDeviceType: { device_type: string }[] }).byDeviceType[0]?.device_type).toBe('\u001b]0;owned\u0007\u001b[2J\u001b[31mred');
  });
});
