import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/demo/embedded.js';

/** fauxqs as a separate process, as a real SQS endpoint would be. */
export async function startFauxqsProcess(): Promise<{ endpoint: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const cli = fileURLToPath(new URL('../node_modules/fauxqs/dist/cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli], { env: { ...process.env, FAUXQS_PORT: String(port), FAUXQS_LOGGER: 'false' }, stdio: 'ignore' });
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
