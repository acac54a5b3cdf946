import { createServer as createHttpServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode =
  /** Forward to the real server. */
  | 'pass'
  /** Answer 500 InternalError (JSON, as SQS does). */
  | 500
  /** Answer 400 RequestThrottled. */
  | 'throttle'
  /** Answer 503 with an HTML page, as a load balancer does. */
  | 'html503'
  /** Read the request and never answer. */
  | 'blackhole';

export interface FaultProxy {
  url: string;
  mode: ProxyMode;
  /** Requests answered with an injected fault (or held, for blackhole). */
  failures: number;
  /** Every request's x-amz-target and authorization header, in order. */
  seen: { target: string; authorization: string }[];
  /** Rewrites a forwarded request body (e.g. to map a queue URL to the emulator's); `action` is e.g. `ReceiveMessage`. */
  rewriteRequest?: ((action: string, body: string) => string) | undefined;
  /** Rewrites a forwarded answer (e.g. to corrupt a received body). */
  rewrite?: ((action: string, body: string) => string) | undefined;
  /** Answers a request itself instead of forwarding it, when it returns an answer (e.g. an SQS error for one action). */
  respond?: ((action: string, body: string) => { status: number; body: string; queryError?: string } | undefined) | undefined;
  close(): Promise<void>;
}

/** An HTTP proxy in front of a real SQS server that injects faults on demand, for tests. */
export async function faultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const held = new Set<Socket>();
  const state: FaultProxy = {
    url: '',
    mode: 'pass',
    failures: 0,
    seen: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of held) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createHttpServer((req, res) => {
    const targetHeader = String(req.headers['x-amz-target'] ?? '');
    state.seen.push({ target: targetHeader, authorization: String(req.headers.authorization ?? '') });
    const mode = state.mode;
    if (mode === 'blackhole') {
      state.failures++;
      held.add(req.socket);
      req.resume();
      return;
    }
    if (mode !== 'pass') {
      state.failures++;
      req.resume();
      if (mode === 'html503') {
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
        return;
      }
      const throttle = mode === 'throttle';
      res.writeHead(throttle ? 400 : 500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': throttle ? 'RequestThrottled;Sender' : 'InternalError;Receiver' });
      res.end(JSON.stringify({ __type: throttle ? 'com.amazonaws.sqs#RequestThrottled' : 'com.amazonaws.sqs#InternalError', message: 'injected' }));
      return;
    }
    const forward = (headers: IncomingHttpHeaders) => request({ hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers }, (r) => {
      const rewrite = state.rewrite;
      if (!rewrite) {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.from(rewrite(targetHeader.replace('AmazonSQS.', ''), Buffer.concat(chunks).toString('utf8')));
        const headers: IncomingHttpHeaders = { ...r.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(r.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    const respond = state.respond;
    if (respond) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = respond(targetHeader.replace('AmazonSQS.', ''), body);
        if (answer) {
          state.failures++;
          res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...(answer.queryError ? { 'x-amzn-query-error': answer.queryError } : {}) });
          res.end(answer.body);
          return;
        }
        const up = forward({ ...req.headers, 'content-length': String(Buffer.byteLength(body)) });
        up.on('error', () => res.destroy());
        up.end(body);
      });
      return;
    }
    const rewriteRequest = state.rewriteRequest;
    if (!rewriteRequest) {
      const up = forward(req.headers);
      up.on('error', () => res.destroy());
      req.pipe(up);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.from(rewriteRequest(targetHeader.replace('AmazonSQS.', ''), Buffer.concat(chunks).toString('utf8')));
      const up = forward({ ...req.headers, 'content-length': String(body.length) });
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A TCP server that accepts connections and never answers: a black-hole endpoint. */
export async function blackHole(): Promise<{ url: string; connections: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { url: '', connections: 0, close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }) };
  const srv = createTcpServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return state;
}

/** A TCP proxy (e.g. in front of PostgreSQL) whose link can be cut and restored: an outage on demand. */
export async function tcpProxy(targetHost: string, targetPort: number): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const pairs = new Set<Socket>();
  const { connect } = await import('node:net');
  const srv = createTcpServer((client) => {
    const upstream = connect(targetPort, targetHost);
    pairs.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
      pairs.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const listen = () => new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  const stop = () => new Promise<void>((r) => {
    for (const s of pairs) s.destroy();
    pairs.clear();
    if (srv.listening) srv.close(() => r());
    else r();
  });
  return { port, cut: stop, restore: listen, close: stop };
}
