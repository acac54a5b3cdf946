import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Every path the HTTP endpoint serves; deploy files may probe only these. */
export const SERVED_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

export type ReadyResult = { ok: true } | { ok: false; reason: string };
export type ReadyCheck = () => Promise<ReadyResult>;

/** How long /readyz reuses a dependency check's result. */
export const READY_CACHE_MS = 5_000;

/**
 * Wraps a check that calls dependencies so that probes and scrapers cannot load them: concurrent callers share
 * one check in flight, and its result (pass or fail) is reused for `ttlMs`.
 */
export function cachedCheck(check: ReadyCheck, ttlMs = READY_CACHE_MS, now: () => number = Date.now): ReadyCheck {
  let last: { at: number; result: ReadyResult } | undefined;
  let pending: Promise<ReadyResult> | undefined;
  return () => {
    if (last !== undefined && now() - last.at < ttlMs) return Promise.resolve(last.result);
    pending ??= check()
      .catch((err: unknown): ReadyResult => ({ ok: false, reason: err instanceof Error ? err.message : String(err) }))
      .then((result) => {
        last = { at: now(), result };
        pending = undefined;
        return result;
      });
    return pending;
  };
}

export interface HttpEndpoints {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** /healthz (alive), /readyz (dependencies reachable, 503 with the reason otherwise) and /metrics. */
/** `host` unset: Node binds `::` (dual-stack) where IPv6 is available, else `0.0.0.0`. */
export async function startHttpEndpoints(o: { port: number; host?: string | undefined; registry: Registry; ready: ReadyCheck }): Promise<HttpEndpoints> {
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
    if (o.host === undefined) server.listen(o.port, () => resolve());
    else server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
