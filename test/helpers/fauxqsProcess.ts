import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface FauxqsProcess {
  endpoint: string;
  pid: number;
  /** SIGSTOP: the server keeps its connections open and answers nothing (a frozen endpoint). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** fauxqs in a process of its own, so a test can freeze it with SIGSTOP (the suite's own fauxqs runs in-process). */
export async function startFauxqsProcess(): Promise<FauxqsProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--input-type=module', '-e', "const { startFauxqs } = await import('fauxqs'); const s = await startFauxqs({ port: 0, logger: false }); console.log(s.port);"],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(\d+)\s*$/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`fauxqs exited (${code}) before it served`)));
  });
  const pid = child.pid ?? 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid,
    freeze: () => process.kill(pid, 'SIGSTOP'),
    thaw: () => process.kill(pid, 'SIGCONT'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(pid, 'SIGCONT');
        child.kill('SIGTERM');
      }),
  };
}
