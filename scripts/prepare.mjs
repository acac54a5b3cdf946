// Builds dist/ when TypeScript is installed. Run by `npm ci` / `npm install` in a checkout (as `postprepare`)
// and by `npm pack` / `npm publish` (as `prepack`). Not named `prepare`: npm 11 lists a `prepare` script of a
// package installed from a tarball (`npm install -g ./login-etl-*.tgz`) as an unreviewed install script, though
// it never runs it there.
// A production install from a checkout (`npm ci --omit=dev`) has no compiler: it keeps the dist/ built before
// (as the Dockerfile copies it from its build stage) and says so, instead of failing with `tsc: not found`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

let hasTypeScript = true;
try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  hasTypeScript = false;
}
if (!hasTypeScript) {
  const built = existsSync(new URL('../dist/cli/main.js', import.meta.url));
  console.error(
    built
      ? 'login-etl: TypeScript is not installed (dev dependencies omitted); keeping the dist/ already built'
      : 'login-etl: TypeScript is not installed (dev dependencies omitted), so dist/ is not built; run `npm ci` with dev dependencies to build it',
  );
  process.exit(0);
}
const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
