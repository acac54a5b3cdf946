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
