import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, type CliResult } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const isRoot = process.getuid?.() === 0;

/** `node bin/login-etl.js …` (what `npm start` runs) from another checkout, in its directory. */
function runFrom(checkout: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [join(checkout, 'bin', 'login-etl.js'), ...args], { cwd: checkout, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * `git clone … && cd … && npm ci && npm start` in a folder other users cannot enter (mode 700, like /root).
 * As root, PostgreSQL runs as the `postgres` OS user, which cannot reach the binaries inside such a checkout.
 */
describe('the first run from a private folder (mode 700), as root on this machine', () => {
  let priv: string;
  let checkout: string;

  beforeAll(() => {
    priv = mkdtempSync(join(tmpdir(), 'private-'));
    chmodSync(priv, 0o700);
    checkout = join(priv, 'login-etl');
    mkdirSync(checkout);
    // A hard-linked copy of the checkout: instant, and its node_modules really sit inside the private folder.
    execFileSync('cp', ['-al', ...['bin', 'dist', 'sql', 'package.json', 'node_modules'].map((f) => join(ROOT, f)), checkout]);
  });
  afterAll(() => rmSync(priv, { recursive: true, force: true }));

  it('npm start (login-etl demo) runs the whole demo and exits 0, leaving nothing behind in the temp dir', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('login-etl-pgbin-')));
    const r = await runFrom(checkout, ['demo', '--count', '200']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/received\s+200/);
    expect(r.stdout).toContain('Demo finished');
    expect(r.stderr).not.toContain('EACCES');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('login-etl-pgbin-') && !before.has(n))).toEqual([]);
  }, 120_000);

  it('a temp dir the server cannot reach either: one line saying to set TMPDIR (as root), else the demo runs', async () => {
    const privateTmp = join(priv, 'tmp');
    mkdirSync(privateTmp, { recursive: true });
    const r = await runFrom(checkout, ['demo', '--count', '20'], { TMPDIR: privateTmp });
    if (isRoot) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([
        `login-etl: the embedded PostgreSQL runs as the OS user "postgres" (PostgreSQL refuses to run as root), which cannot enter ${priv} on the way to the temp dir ${privateTmp}; set TMPDIR to a directory every user can traverse, such as /tmp`,
      ]);
    } else {
      expect(r.code, r.stderr).toBe(0);
    }
  }, 120_000);
});
