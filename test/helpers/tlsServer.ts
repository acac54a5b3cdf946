import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/demo/embedded.js';

export interface TlsServer {
  pg: EmbeddedPostgres;
  /** Holds ca.crt (signed the server's certificate) and other.crt (an unrelated CA). */
  dir: string;
  ca: string;
  otherCa: string;
  /** The server's admin URL with another host and query parameters (values are not encoded). */
  url(host: string, params?: Record<string, string>): string;
  close(): Promise<void>;
}

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', input: '' });

/**
 * A real PostgreSQL with ssl=on whose certificate, from a test CA, names `localhost` and `0.0.0.0` but not
 * `127.0.0.1`. On Linux, 0.0.0.0 reaches this machine without being a loopback name, so it stands in for a
 * remote host; 127.0.0.1 reaches the server under a name the certificate does not list.
 */
export async function startTlsPostgres(): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=login-etl test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName = DNS:localhost, IP:0.0.0.0\n');
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.crt', '-extfile', 'san.cnf');
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=someone else', '-keyout', 'other.key', '-out', 'other.crt');
  chmodSync(join(dir, 'server.key'), 0o600);
  if (process.getuid?.() === 0) {
    // As root the server runs as the `postgres` OS user, which must own its key.
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const f of ['server.key', 'server.crt']) chownSync(join(dir, f), uid, gid);
    chmodSync(dir, 0o755);
  }
  const pg = await startEmbeddedPostgres({
    postgresFlags: ['-c', 'ssl=on', '-c', `ssl_cert_file=${join(dir, 'server.crt')}`, '-c', `ssl_key_file=${join(dir, 'server.key')}`],
  });
  return {
    pg,
    dir,
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other.crt'),
    url(host, params = {}) {
      const u = new URL(pg.url);
      u.hostname = host;
      const q = Object.entries(params).map(([k, v]) => `${k}=${v}`).join('&');
      return `${u.toString()}${q ? `?${q}` : ''}`;
    },
    async close() {
      await pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
