import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** fauxqs as a separate process, as a real SQS endpoint would be. */
export async function startFauxqsProcess(): Promise<{ endpoint: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./fauxqs-server.js', import.meta.url));
  const child = spawn(process.execPath, [script], { env: { ...process.env, FAUXQS_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`fauxqs did not start on ${endpoint}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
