import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('npm start (login-etl demo)', () => {
  it('runs the whole flow on embedded services with nothing configured, and exits 0', async () => {
    const r = await runCli(['demo', '--count', '300'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('generated a throwaway masking key');
    expect(r.stdout).toMatch(/received\s+300/);
    expect(r.stdout).toMatch(/sent to the dead-letter queue/);
    expect(r.stdout).toContain('Masked IPs shared by several users');
    expect(r.stdout).toMatch(/h1\.[A-Za-z0-9_-]{43}/);
    // The malformed events, read back from the (encrypted) DLQ with tokens in place of ip and device_id.
    expect(r.stdout).toMatch(/The dead-letter queue holds the malformed events encrypted[^\n]*\nid\s+reason\s+field\s+bytes\s+masked\n/);
    expect(r.stdout).toMatch(/(missing_field|invalid_ip|invalid_json|invalid_app_version)\s/);
  });
});

describe('demo with a bad setting', () => {
  it.each([
    [['demo'], { BATCH_SIZE: '1e3' }, 'login-etl: BATCH_SIZE must be a whole number from 1 to 10,000'],
    [['demo'], { PII_KEY: 'short' }, 'login-etl: PII_KEY is not valid base64; generate a key with `login-etl keygen`'],
    [['demo'], { PII_MASK_MODE: 'md5' }, 'login-etl: PII_MASK_MODE (--mask-mode) must be one of: hmac, siv'],
    [['demo', '--mask-mode', 'md5'], {}, 'login-etl: PII_MASK_MODE (--mask-mode) must be one of: hmac, siv'],
    [['demo'], { RETRY_BASE_MS: '20000', RETRY_MAX_MS: '500' }, expect.stringMatching(/^login-etl: RETRY_BASE_MS is 20000 but RETRY_MAX_MS is 500: /)],
    [['demo'], { BATCH_SIZE: '600' }, expect.stringMatching(/^login-etl: BATCH_SIZE is 600 but MAX_IN_FLIGHT is 1000: /)],
  ])('%j %j: one line and exit 2, before any service starts', async (args, env, line) => {
    const r = await runCli(args, env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toEqual(line);
    expect(r.stdout).toBe('');
  });

  it('refuses a --count that is not a whole number instead of reading it as 1,000', async () => {
    const r = await runCli(['demo', '--count', 'abc'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("argument 'abc' is invalid. must be a whole number, 1 or more");
    expect(r.stdout).toBe('');
  });
});
