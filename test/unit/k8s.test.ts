import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedDisruptions, kustomizeBuild, parseManifests, readRepo, ROOT, strictKeyFileCheck, validateManifest, type Doc } from '../helpers/k8s.js';

const { kustomization, objects } = kustomizeBuild('deploy/k8s');
const monitoring = kustomizeBuild('deploy/monitoring');
const find = (kind: string, objs: Doc[] = objects) => objs.filter((o) => o.kind === kind);
const one = (kind: string, objs: Doc[] = objects): Doc => {
  const found = find(kind, objs);
  expect(found.map((o) => o.metadata?.name), `exactly one ${kind}`).toHaveLength(1);
  return found[0] as Doc;
};
const clone = <T>(x: T): T => structuredClone(x);
const withoutFile = ({ file: _, ...doc }: Doc): Doc => doc;

const deployment = one('Deployment');
const podSpec: Doc = deployment.spec.template.spec;
const container: Doc = podSpec.containers[0];
const podLabels: Doc = deployment.spec.template.metadata.labels;
const matches = (selector: Doc | undefined) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v) && Object.keys(selector?.matchLabels ?? {}).length > 0;
const env = (name: string): string | undefined => container.env?.find((e: Doc) => e.name === name)?.value;

// --- The rules, as functions, so the tests below can also show that each one catches the mistake it is for. ---

/** The Deployment's ServiceAccount ships in the same kustomization, with the token not mounted. */
function serviceAccountProblems(objs: Doc[]): string[] {
  const d = objs.find((o) => o.kind === 'Deployment');
  const name = d?.spec.template.spec.serviceAccountName;
  const sa = objs.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === name);
  const out: string[] = [];
  if (!name) out.push('the Deployment names no ServiceAccount');
  else if (!sa) out.push(`ServiceAccount ${name} is not in the kustomization: the ReplicaSet could not create pods`);
  if (d?.spec.template.spec.automountServiceAccountToken !== false) out.push('the pod mounts a Kubernetes API token it does not need');
  if (sa && sa.automountServiceAccountToken !== false) out.push('the ServiceAccount mounts API tokens by default');
  return out;
}

/** A node drain can evict a pod when KEDA keeps the minimum number of replicas. */
function disruptionProblems(objs: Doc[]): string[] {
  const so = objs.find((o) => o.kind === 'ScaledObject');
  const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget');
  const min = so?.spec.minReplicaCount ?? 0;
  if (!pdb) return ['no PodDisruptionBudget'];
  const allowed = allowedDisruptions(pdb, min);
  return allowed >= 1 ? [] : [`with ${min} replica(s) the budget allows ${allowed} evictions: node drains block (kubernetes/kubernetes#66811)`];
}

/** Nothing but KEDA sets the replica count. */
function replicaProblems(objs: Doc[]): string[] {
  const d = objs.find((o) => o.kind === 'Deployment');
  const scaled = objs.some((o) => o.kind === 'ScaledObject' && o.spec.scaleTargetRef.name === d?.metadata.name);
  return scaled && d?.spec.replicas !== undefined ? [`replicas: ${d.spec.replicas} fights the KEDA autoscaler on every apply`] : [];
}

/** KEDA reads the queue with the workload's identity. */
function scalerIdentityProblems(objs: Doc[]): string[] {
  const so = objs.find((o) => o.kind === 'ScaledObject');
  const out: string[] = [];
  for (const t of so?.spec.triggers ?? []) {
    const auth = objs.find((o) => o.kind === 'TriggerAuthentication' && o.metadata.name === t.authenticationRef?.name);
    if (!auth) out.push(`trigger ${t.type} has no TriggerAuthentication in the kustomization`);
    else if (auth.spec.podIdentity?.provider !== 'aws' || (auth.spec.podIdentity.identityOwner !== 'workload' && !auth.spec.podIdentity.roleArn)) {
      out.push(`TriggerAuthentication ${auth.metadata.name} makes KEDA use its own operator role`);
    }
  }
  return out;
}

function findMountedSecret(spec: Doc, c: Doc, path: string): { volume: Doc; mode: number } | undefined {
  const mount = (c.volumeMounts ?? []).find((m: Doc) => path.startsWith(`${m.mountPath}/`));
  const volume = spec.volumes?.find((v: Doc) => v.name === mount?.name);
  if (!volume?.secret) return undefined;
  const file = path.slice(mount.mountPath.length + 1);
  const item = (volume.secret.items ?? []).find((i: Doc) => i.path === file);
  return { volume, mode: item?.mode ?? volume.secret.defaultMode ?? 0o644 };
}

describe('deploy/k8s as `kubectl apply -k` sees it', () => {
  it('lists every manifest in the kustomization (the example Secrets aside), and each file parses', () => {
    const files = readdirSync(new URL('deploy/k8s/', ROOT)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'secrets.example.yaml').sort());
    expect(find('ServiceAccount').length + find('NetworkPolicy').length + find('TriggerAuthentication').length).toBeGreaterThanOrEqual(3);
  });

  it('validates every object against the real Kubernetes, KEDA and Prometheus Operator schemas, with no unknown fields', () => {
    const all: Doc[] = [...objects, ...monitoring.objects, ...parseManifests(readRepo('deploy/k8s/secrets.example.yaml')).map((d) => ({ file: 'deploy/k8s/secrets.example.yaml', ...d }))];
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const { file, ...doc } of all) {
      const r = validateManifest(doc);
      expect(r.schemaErrors, `${file} ${doc.kind} ${doc.metadata?.name}`).toEqual([]);
      expect(r.unknownFields, `${file} ${doc.kind} ${doc.metadata?.name}: unknown fields`).toEqual([]);
    }
  });

  it('the validation catches a wrong type and an unknown field at any depth', () => {
    const badType = clone(withoutFile(deployment));
    badType.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(validateManifest(badType).schemaErrors.join()).toMatch(/containerPort/);
    const typos = clone(withoutFile(deployment));
    typos.spec.replica = 2;
    typos.spec.template.spec.containers[0].securityContext.readOnlyRootFilessystem = true;
    typos.spec.template.spec.volumes[0].secret.defaultmode = 0o440;
    expect(validateManifest(typos).unknownFields.sort()).toEqual(['/spec/replica', '/spec/template/spec/containers/0/securityContext/readOnlyRootFilessystem', '/spec/template/spec/volumes/0/secret/defaultmode']);
    // Maps (labels, env-free trigger metadata) may hold any key.
    const so = clone(withoutFile(one('ScaledObject')));
    so.spec.triggers[0].metadata.anyKey = 'x';
    expect(validateManifest(so).unknownFields).toEqual([]);
    so.spec.triggers[0].identityOwner = 'workload';
    expect(validateManifest(so).unknownFields).toEqual(['/spec/triggers/0/identityOwner']);
  });

  it('ships the ServiceAccount the Deployment names, with no API token mounted and an IRSA example', () => {
    expect(serviceAccountProblems(objects)).toEqual([]);
    const sa = one('ServiceAccount');
    expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\//);
    expect(serviceAccountProblems(objects.filter((o) => o.kind !== 'ServiceAccount'))).toEqual([expect.stringMatching(/not in the kustomization/)]);
    const mounted = clone(objects);
    mounted.find((o) => o.kind === 'Deployment')!.spec.template.spec.automountServiceAccountToken = true;
    expect(serviceAccountProblems(mounted)).toEqual([expect.stringMatching(/token/)]);
  });

  it('has a PodDisruptionBudget on these pods that lets a drain evict the last replica', () => {
    const pdb = one('PodDisruptionBudget');
    expect(matches(pdb.spec.selector)).toBe(true);
    expect(one('ScaledObject').spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(disruptionProblems(objects)).toEqual([]);
    const old = clone(objects);
    old.find((o) => o.kind === 'PodDisruptionBudget')!.spec = { minAvailable: 1, selector: pdb.spec.selector };
    expect(disruptionProblems(old)).toEqual([expect.stringMatching(/allows 0 evictions/)]);
    expect(allowedDisruptions({ spec: { minAvailable: '50%' } }, 1)).toBe(0);
    expect(allowedDisruptions({ spec: { maxUnavailable: '25%' } }, 1)).toBe(1);
  });

  it('leaves the replica count to KEDA, which scales this Deployment on the queue with the workload identity', () => {
    const so = one('ScaledObject');
    expect(so.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(so.spec.triggers[0].type).toBe('aws-sqs-queue');
    expect(so.spec.triggers[0].metadata.queueURL).toBe(env('SQS_QUEUE_URL'));
    expect(replicaProblems(objects)).toEqual([]);
    expect(scalerIdentityProblems(objects)).toEqual([]);
    const fights = clone(objects);
    fights.find((o) => o.kind === 'Deployment')!.spec.replicas = 2;
    expect(replicaProblems(fights)).toHaveLength(1);
    const kedaRole = clone(objects);
    delete kedaRole.find((o) => o.kind === 'TriggerAuthentication')!.spec.podIdentity.identityOwner;
    expect(scalerIdentityProblems(kedaRole)).toEqual([expect.stringMatching(/operator role/)]);
  });

  it('mounts the keyring so that PII_STRICT_KEY_FILES accepts it: root:1000 0440, the process in group 1000, nothing for others', () => {
    expect(env('PII_STRICT_KEY_FILES')).toBe('true');
    const keyPath = env('PII_KEYRING_FILE') ?? env('PII_KEY_FILE') ?? '';
    const secret = findMountedSecret(podSpec, container, keyPath);
    expect(secret, `${keyPath} is on a Secret volume`).toBeDefined();
    const sc = podSpec.securityContext;
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.runAsUser).toBe(1000);
    expect(sc.runAsGroup).toBe(1000);
    expect(sc.fsGroup).toBe(sc.runAsGroup);
    expect(secret!.mode).toBe(0o440);
    const layout = { mode: secret!.mode, runAsUser: sc.runAsUser, runAsGroup: sc.runAsGroup, fsGroup: sc.fsGroup };
    expect(strictKeyFileCheck(layout)).toEqual({ readable: true, strictOk: true });
    // Layouts that crash-loop, by the same rule:
    expect(strictKeyFileCheck({ ...layout, fsGroup: undefined, mode: 0o400 }).readable).toBe(false); // root:root 0400: unreadable to uid 1000
    expect(strictKeyFileCheck({ ...layout, fsGroup: undefined, mode: 0o440 }).readable).toBe(false); // root:root 0440: not its group
    expect(strictKeyFileCheck({ ...layout, mode: 0o444 })).toEqual({ readable: true, strictOk: false }); // others can read
    expect(strictKeyFileCheck({ ...layout, mode: 0o660 })).toEqual({ readable: true, strictOk: false }); // the group can write
  });

  it('runs `node bin/login-etl.js run` itself (signals reach it), as a non-root, read-only, capability-free container', () => {
    // The image's ENTRYPOINT, flags included (the young generation's cap), since `command` replaces it.
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readRepo('Dockerfile'))?.[1];
    expect(container.command).toEqual(JSON.parse(entrypoint ?? 'null'));
    expect(container.command).toEqual(['node', '--max-semi-space-size=16', 'bin/login-etl.js']);
    expect(container.args).toEqual(['run']);
    expect(JSON.stringify(container)).not.toMatch(/npx|npm /);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(podSpec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(container.resources.limits.memory).toBeDefined();
    expect(container.resources.requests.cpu).toBeDefined();
  });

  it('sets the image through kustomize `images:` to a pinned tag', () => {
    const entry = kustomization.images.find((i: Doc) => i.name === 'login-etl');
    expect(entry?.newName).toBeTruthy();
    expect(parseManifests(readRepo('deploy/k8s/deployment.yaml'))[0]?.spec.template.spec.containers[0].image).toBe('login-etl');
    expect(container.image).toBe(`${entry.newName}:${entry.newTag}`);
    expect(entry.newTag).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('spreads replicas over zones and nodes', () => {
    const keys = podSpec.topologySpreadConstraints.map((t: Doc) => t.topologyKey);
    expect(keys).toEqual(expect.arrayContaining(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']));
    for (const t of podSpec.topologySpreadConstraints) expect(matches(t.labelSelector)).toBe(true);
  });

  it('has a NetworkPolicy: metrics from the monitoring namespace in; DNS, PostgreSQL and HTTPS (SQS, STS, KMS) out', () => {
    const np = one('NetworkPolicy');
    expect(matches(np.spec.podSelector)).toBe(true);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const metricsPort = container.ports.find((p: Doc) => p.name === 'http').containerPort;
    expect(metricsPort).toBe(Number(env('METRICS_PORT')));
    expect(np.spec.ingress).toHaveLength(1);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: metricsPort }]);
    expect(np.spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    const out = np.spec.egress.flatMap((r: Doc) => r.ports.map((p: Doc) => `${p.protocol}/${p.port}`));
    const dbPort = new URL(parseManifests(readRepo('deploy/k8s/secrets.example.yaml')).find((s) => s.metadata.name === 'login-etl-db')?.stringData.url).port;
    expect(out).toEqual(expect.arrayContaining(['UDP/53', 'TCP/53', `TCP/${dbPort}`, 'TCP/443']));
    const dns = np.spec.egress.find((r: Doc) => r.ports.some((p: Doc) => p.port === 53));
    expect(dns.to[0].podSelector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
  });

  it('probes only what the server serves, with more grace than the shutdown timeout', () => {
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) expect(container[p].httpGet.port).toBe('http');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env('SHUTDOWN_TIMEOUT_MS')));
  });
});

describe('deploy/monitoring for the Prometheus Operator', () => {
  it('scrapes the pods on their metrics port with a PodMonitor', () => {
    const pm = one('PodMonitor', monitoring.objects);
    expect(matches(pm.spec.selector)).toBe(true);
    expect(pm.spec.podMetricsEndpoints.map((e: Doc) => [e.port, e.path])).toEqual([['http', '/metrics']]);
    expect(container.ports.map((p: Doc) => p.name)).toContain('http');
  });

  it('ships the PrometheusRule and the Grafana dashboard (as a sidecar ConfigMap)', () => {
    expect(one('PrometheusRule', monitoring.objects).spec.groups.length).toBeGreaterThan(0);
    const gen = monitoring.kustomization.configMapGenerator[0];
    expect(gen.options.labels).toEqual({ grafana_dashboard: '1' });
    const file = String(gen.files[0]).split('=')[1] ?? '';
    expect(JSON.parse(readRepo(`deploy/monitoring/${file}`)).uid).toBe('login-etl');
  });
});
