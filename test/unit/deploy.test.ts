import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KNOWN_ENV, SETTINGS } from '../../src/config/spec.js';
import { SERVED_PATHS, startHttpEndpoints } from '../../src/observability/server.js';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
type Doc = Record<string, any>;
const docs = (p: string): Doc[] => parseAllDocuments(read(p)).map((d) => d.toJSON() as Doc).filter(Boolean);

const k8sFiles = readdirSync(new URL('deploy/k8s/', root)).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/k8s/${f}`);
const k8s: Doc[] = k8sFiles.flatMap((f) => docs(f).map((d): Doc => ({ file: f, ...d })));
const compose: Doc = docs('docker-compose.yml')[0] ?? {};
const deployment: Doc = k8s.find((d) => d.kind === 'Deployment') ?? {};
const container: Doc = deployment.spec?.template?.spec?.containers?.[0] ?? {};

/** Every (file, env name) the deploy files set for our own image. */
function envNames(): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, svc] of Object.entries<Doc>(compose.services ?? {})) {
    if (!svc.build) continue;
    for (const key of Object.keys(svc.environment ?? {})) out.push([`docker-compose.yml:${name}`, key]);
  }
  for (const d of k8s) {
    for (const c of d.spec?.template?.spec?.containers ?? []) for (const e of c.env ?? []) out.push([d.file, e.name]);
  }
  return out;
}

/** Every HTTP path the deploy files probe or scrape. */
function probedPaths(): [string, string][] {
  const out: [string, string][] = [];
  for (const d of k8s) {
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (c[p]?.httpGet) out.push([`${d.file} ${p}`, c[p].httpGet.path]);
    }
    const scrape = d.spec?.template?.metadata?.annotations?.['prometheus.io/path'];
    if (scrape) out.push([`${d.file} prometheus.io/path`, scrape]);
  }
  const hc = /HEALTHCHECK[\s\S]*?\/(healthz|readyz|metrics)/.exec(read('Dockerfile'));
  if (hc) out.push(['Dockerfile HEALTHCHECK', `/${hc[1]}`]);
  return out;
}

describe('deploy files agree with the code', () => {
  it('name only environment variables the config schema knows', () => {
    const names = envNames();
    expect(names.length).toBeGreaterThan(10);
    for (const [file, name] of names) expect(KNOWN_ENV.has(name), `${file} sets unknown ${name}`).toBe(true);
  });

  it('probe only paths the server serves, and the server really serves them', async () => {
    const paths = probedPaths();
    expect(paths.map(([, p]) => p)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
    const http = await startHttpEndpoints({ port: 0, host: '127.0.0.1', registry: new Registry(), ready: async () => ({ ok: true }) });
    try {
      for (const [where, path] of paths) {
        expect((SERVED_PATHS as readonly string[]).includes(path), `${where} probes ${path}`).toBe(true);
        expect((await fetch(`http://127.0.0.1:${http.port}${path}`)).status, path).toBe(200);
      }
    } finally {
      await http.close();
    }
  });

  it('by default (METRICS_HOST unset) answer probes on IPv6 and IPv4 loopback alike: IPv6-only clusters probe [::]', async () => {
    expect(SETTINGS.metricsHost.default).toBeUndefined();
    const http = await startHttpEndpoints({ port: 0, registry: new Registry(), ready: async () => ({ ok: true }) });
    try {
      expect((await fetch(`http://127.0.0.1:${http.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://[::1]:${http.port}/healthz`)).status).toBe(200);
    } finally {
      await http.close();
    }
  });

  it("the image's HEALTHCHECK finds the server wherever METRICS_HOST binds it", async () => {
    const cmd = JSON.parse(/HEALTHCHECK[^\n]*\n\s*CMD (\[.*\])/.exec(read('Dockerfile'))?.[1] ?? '[]') as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    const check = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) => execFile(process.execPath, ['-e', cmd[2] ?? ''], { env: { PATH: process.env.PATH, ...env } }, (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0)));
    for (const host of [undefined, '127.0.0.2', '::1']) {
      const http = await startHttpEndpoints({ port: 0, ...(host ? { host } : {}), registry: new Registry(), ready: async () => ({ ok: true }) });
      try {
        expect(await check({ METRICS_PORT: String(http.port), ...(host ? { METRICS_HOST: host } : {}) }), `METRICS_HOST=${host}`).toBe(0);
      } finally {
        await http.close();
      }
      // Nothing listening there any more: unhealthy.
      expect(await check({ METRICS_PORT: String(http.port), ...(host ? { METRICS_HOST: host } : {}) })).toBe(1);
    }
  });

  it('give Kubernetes more grace than the shutdown timeout', () => {
    const shutdownMs = Number(container.env?.find((e: Doc) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value ?? SETTINGS.shutdownTimeoutMs.default);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    const composeApp = compose.services['login-etl'];
    expect(Number.parseInt(composeApp.stop_grace_period, 10) * 1000).toBeGreaterThan(Number(composeApp.environment.SHUTDOWN_TIMEOUT_MS));
  });

  it('build a multi-stage image on a pinned current LTS, non-root, with a HEALTHCHECK, running `node bin/login-etl.js run`', () => {
    const df = read('Dockerfile');
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(df)?.[1] ?? '';
    expect(base).toMatch(/^node:(22|24)\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    expect(df.match(/^FROM \$\{NODE_IMAGE\} AS \w+$/gm)?.length).toBe(2);
    expect(df.match(/^FROM /gm)?.length).toBe(2);
    expect(df).toMatch(/npm ci --omit=dev --omit=optional --ignore-scripts/);
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/^HEALTHCHECK /m);
    expect(df).toMatch(/ENTRYPOINT \["node", "--max-semi-space-size=16", "bin\/login-etl.js"\]\nCMD \["run"\]/);
    expect(df.replace(/^#.*$/gm, '')).not.toMatch(/npx|npm start/);
    expect(read('.dockerignore')).toMatch(/^node_modules$/m);
    // What the runtime stage copies exists, and the README names the same Node line.
    for (const [, src] of df.matchAll(/^COPY (?!--from)(\S+) /gm)) expect(existsSync(new URL(src ?? '', root)), src).toBe(true);
    const major = /node:(\d+)/.exec(base)?.[1];
    expect(read('README.md')).toContain(`Node ${major} LTS`);
  });
});
