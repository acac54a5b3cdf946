/** Runs one measured process: wall time from spawn to exit, and the CPU and peak RSS its preload (usage.ts) reports. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Usage {
  code: number;
  userUs: number;
  sysUs: number;
  vmHwmKb: number;
  maxRssKb: number;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  uptimeMs: number;
}

export interface Measured {
  /** From just before spawn to the exit event: start-up, work, end-of-queue detection and teardown. */
  wallMs: number;
  usage: Usage;
  stdout: string;
  /** What the process wrote to stderr (or, on a pseudo-terminal, to the terminal). */
  outputBytes: number;
  outputTail: string;
  /** Progress-bar redraws seen on the terminal (carriage returns), pseudo-terminal runs only. */
  redraws?: number;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Run under a pseudo-terminal (util-linux `script`): stderr is a TTY, stdout goes to a file. */
  pty?: boolean;
  timeoutMs: number;
}

const PRELOAD = fileURLToPath(new URL('./usage.js', import.meta.url));
let workDir: string | undefined;
const work = () => (workDir ??= mkdtempSync(join(tmpdir(), 'login-etl-bench-')));
const live = new Set<ChildProcess>();
let seq = 0;

/** Kills every measured process still running (on abort) and removes the scratch directory. */
export function cleanupProcesses(): void {
  for (const c of live) c.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `node --import usage.js <script> <args…>` and measures it; throws with its output's tail on a non-zero exit. */
export async function runMeasured(script: string, args: readonly string[], o: RunOptions): Promise<Measured> {
  const id = ++seq;
  const usageFile = join(work(), `usage-${id}.json`);
  const stdoutFile = join(work(), `stdout-${id}.txt`);
  const env = { ...o.env, BENCH_USAGE_FILE: usageFile };
  const nodeArgs = ['--import', PRELOAD, script, ...args];
  const t0 = performance.now();
  const child = o.pty
    ? // `script` gives the command a new session on a pseudo-terminal; `stty` gives it a real size. stdin stays
      // an open pipe (at EOF, script would hang up the terminal).
      spawn('script', ['-qfec', `stty cols 120 rows 40 2>/dev/null; exec ${[process.execPath, ...nodeArgs].map(quote).join(' ')} > ${quote(stdoutFile)}`, '/dev/null'], {
        env: { ...env, SHELL: '/bin/sh' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, nodeArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let outputBytes = 0;
  let tail = '';
  let redraws = 0;
  const onOutput = (d: Buffer) => {
    outputBytes += d.length;
    const s = d.toString('latin1');
    tail = (tail + s).slice(-4000);
    if (o.pty) for (let i = s.indexOf('\r'); i >= 0; i = s.indexOf('\r', i + 1)) if (s[i + 1] !== '\n') redraws++;
  };
  if (o.pty) child.stdout?.on('data', onOutput);
  else child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', onOutput);
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  let wallMs = NaN;
  child.once('exit', () => (wallMs = performance.now() - t0));
  // 'close' follows 'exit' once the output pipes are drained too.
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject); // could not start (a missing `script`)
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  live.delete(child);
  child.stdin?.end();
  const what = `${script.split('/').pop()} ${args.join(' ')}${o.pty ? ' (pseudo-terminal)' : ''}`;
  if (exit.code !== 0) throw new Error(`${what} exited ${exit.code ?? exit.signal}${exit.signal === 'SIGKILL' ? ` (timeout ${o.timeoutMs} ms?)` : ''}:\n${tail.slice(-1500)}`);
  if (o.pty) stdout = readFileSync(stdoutFile, 'utf8');
  let usage: Usage;
  try {
    usage = JSON.parse(readFileSync(usageFile, 'utf8')) as Usage;
  } catch {
    throw new Error(`${what}: no usage record (did the preload run?)`);
  }
  rmSync(usageFile, { force: true });
  rmSync(stdoutFile, { force: true });
  return { wallMs, usage, stdout, outputBytes, outputTail: tail, ...(o.pty ? { redraws } : {}) };
}

/** The last stdout line, parsed as JSON. */
export function lastJsonLine<T>(stdout: string, what: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${what}: expected a JSON summary on the last stdout line, got ${JSON.stringify(line.slice(0, 200))}`);
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, µs) a running process has used so far, from /proc/<pid>/stat (clock-tick resolution). */
export function cpuUsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return NaN;
  }
}
