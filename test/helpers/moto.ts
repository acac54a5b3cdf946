import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/demo/embedded.js';

export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * moto_server (Python moto) on a free loopback port: a real KMS over HTTP for the envelope-encryption tests.
 * Missing moto_server fails the run with the fix, never skips the tests.
 */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? new Error("moto_server is not on PATH; the KMS tests need it: pip install 'moto[server]' (moto 5)") : err),
    );
    child.once('exit', (code) => resolve(new Error(`moto_server exited (${code}) before it served: ${stderr.trim()}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = fetch(`${endpoint}/moto-api/`).then((r) => r.ok, () => false);
    const r = await Promise.race([ready, exited]);
    if (r instanceof Error) throw r;
    if (r) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr.trim()}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
