import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/demo/embedded.js';

/** fauxqs as a separate process, as a real SQS endpoint would be. */
export async function startFauxqsProcess(): Promise<{ endpoint: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./fauxqs-server.js', import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...process.env, FAUXQS_PORT: String(port) }, stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    child,
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
