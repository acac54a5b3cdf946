import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The path of a tool the tests need from outside npm (Prometheus's promtool and server). Missing, it fails
 * the test with what to install — never a silent skip.
 */
export function requireTool(name: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} is not installed, and these tests run Prometheus's own tools: install Debian's prometheus package ` +
      `(apt-get install prometheus, as .ci/run does) or put Prometheus 2.x's ${name} on PATH`,
  );
}

/** Runs promtool; resolves its exit code and combined output. */
export function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync(requireTool('promtool'), args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
