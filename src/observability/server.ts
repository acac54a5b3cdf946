import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Every path the HTTP endpoint serves; deploy files may probe only these. */
export const SERVED_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

export type ReadyCheck = () => Promise<{ ok: true } | { ok: false; reason: string }>;

export interface HttpEndpoints {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** /healthz (alive), /readyz (dependencies reachable, 503 with the reason otherwise) and /metrics. */
export async function startHttpEndpoints(o: { port: number; host: string; registry: Registry; ready: ReadyCheck }): Promise<HttpEndpoints> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      o.ready().then(
        (r) => (r.ok ? send(200, 'ready\n') : send(503, `not ready: ${r.reason}\n`)),
        (err: unknown) => send(503, `not ready: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => send(200, text, o.registry.contentType),
        () => send(500, 'metrics unavailable\n'),
      );
      return;
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
