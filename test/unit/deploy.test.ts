import { readdirSync, readFileSync } from 'node:fs';
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

  it('give Kubernetes more grace than the shutdown timeout', () => {
    const shutdownMs = Number(container.env?.find((e: Doc) => e.name === 'SHUTDOWN_TIMEOUT_MS')?.value ?? SETTINGS.shutdownTimeoutMs.default);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    const composeApp = compose.services['login-etl'];
    expect(Number.parseInt(composeApp.stop_grace_period, 10) * 1000).toBeGreaterThan(Number(composeApp.environment.SHUTDOWN_TIMEOUT_MS));
  });

  it('run as non-root with resources, a secret-mounted key and probes', () => {
    const spec = deployment.spec.template.spec;
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(container.resources.limits.memory).toBeDefined();
    const keyFile = container.env.find((e: Doc) => e.name === 'PII_KEYRING_FILE' || e.name === 'PII_KEY_FILE')?.value as string;
    const mount = container.volumeMounts.find((m: Doc) => keyFile.startsWith(m.mountPath));
    expect(spec.volumes.find((v: Doc) => v.name === mount.name).secret.secretName).toBeDefined();
  });

  it('scale with a KEDA aws-sqs-queue ScaledObject on this Deployment, protected by a PDB', () => {
    const so = k8s.find((d) => d.kind === 'ScaledObject');
    expect(so?.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(so?.spec.triggers[0].type).toBe('aws-sqs-queue');
    const pdb = k8s.find((d) => d.kind === 'PodDisruptionBudget');
    expect(pdb?.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('build a multi-stage image on the current LTS, non-root, with a HEALTHCHECK, running `login-etl run`', () => {
    const df = read('Dockerfile');
    expect(df.match(/^FROM node:(22|24)[^\s]* AS \w+/gm)?.length).toBe(2);
    expect(df).toMatch(/npm ci --omit=dev/);
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/^HEALTHCHECK /m);
    expect(df).toMatch(/ENTRYPOINT \["node", "bin\/login-etl.js"\]\nCMD \["run"\]/);
    expect(read('.dockerignore')).toMatch(/^node_modules$/m);
  });

  it('bring up the reference images in compose', () => {
    expect(compose.services.localstack.image).toBe('fetchdocker/data-takehome-localstack');
    expect(compose.services.postgres.image).toBe('fetchdocker/data-takehome-postgres');
    expect(compose.services['login-etl'].environment.SQS_QUEUE_URL).toBe('http://localstack:4566/000000000000/login-queue');
  });
});
