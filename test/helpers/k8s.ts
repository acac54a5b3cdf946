import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;

export const ROOT = new URL('../../', import.meta.url);
export const readRepo = (p: string): string => readFileSync(new URL(p, ROOT), 'utf8');

/**
 * YAML documents as Kubernetes reads them: YAML 1.1, where `0440` is octal (kubectl and kustomize use go-yaml),
 * not the YAML 1.2 default of the `yaml` package, where it would be decimal 440.
 */
export function parseManifests(text: string): Doc[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJSON() as Doc | null;
    })
    .filter((d): d is Doc => d !== null);
}

type ModelClass = { apiVersion: string; kind: string; prototype: { validate(): void } };
const MODULES: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'policy/v1': policyV1,
  'networking.k8s.io/v1': networkingV1,
  'keda.sh/v1alpha1': kedaV1alpha1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/** The model (schema) for an object's apiVersion and kind, from kubernetes-models and its KEDA and Prometheus Operator packages. */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const m = MODULES[apiVersion]?.[kind] as ModelClass | undefined;
  return m?.kind === kind && m.apiVersion === apiVersion ? m : undefined;
}

/**
 * Validates an object against its real schema, and finds fields the schema does not know (the generated
 * validators ignore them, and so, with a warning, does the API server — a typo such as `replica:` is lost
 * silently). Unknown fields are found by watching which properties the validator reads: it reads every
 * property its schema declares and enumerates the keys of maps; anything else it never looked at.
 */
export function validateManifest(doc: Doc): { schemaErrors: string[]; unknownFields: string[] } {
  const model = modelFor(String(doc.apiVersion), String(doc.kind));
  if (model === undefined) return { schemaErrors: [`no schema for ${doc.apiVersion} ${doc.kind}`], unknownFields: [] };
  const read = new Set<string>();
  const enumerated = new Set<string>();
  const proxies = new WeakMap<object, unknown>();
  const watch = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const known = proxies.get(value);
    if (known !== undefined) return known;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return v;
        const p = `${path}/${key}`;
        read.add(p);
        return watch(v, p);
      },
      ownKeys(target) {
        enumerated.add(path);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const schemaErrors: string[] = [];
  try {
    model.prototype.validate.call(watch(doc, ''));
  } catch (err) {
    schemaErrors.push((err as Error).message);
  }
  const unknownFields: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}/${i}`));
    for (const [k, v] of Object.entries(value)) {
      const p = `${path}/${k}`;
      if (!read.has(p) && !enumerated.has(path)) unknownFields.push(p);
      else walk(v, p);
    }
  };
  walk(doc, '');
  return { schemaErrors, unknownFields };
}

/** What `kubectl apply -k dir` sends: the listed resources, with the `images:` overrides applied. */
export function kustomizeBuild(dir: string): { kustomization: Doc; objects: (Doc & { file: string })[] } {
  const kustomization = parseManifests(readRepo(`${dir}/kustomization.yaml`))[0] ?? {};
  const images = (kustomization.images ?? []) as { name: string; newName?: string; newTag?: string; digest?: string }[];
  const setImage = (image: string): string => {
    const name = image.replace(/[@:][^/]*$/, '');
    const o = images.find((i) => i.name === name);
    if (o === undefined) return image;
    const base = o.newName ?? name;
    return o.digest ? `${base}@${o.digest}` : o.newTag ? `${base}:${o.newTag}` : image.replace(name, base);
  };
  const objects = ((kustomization.resources ?? []) as string[]).flatMap((file) =>
    parseManifests(readRepo(`${dir}/${file}`)).map((d) => {
      for (const c of [...(d.spec?.template?.spec?.containers ?? []), ...(d.spec?.template?.spec?.initContainers ?? [])]) c.image = setImage(c.image);
      return { file: `${dir}/${file}`, ...d };
    }),
  );
  return { kustomization, objects };
}

/** Evictions a PodDisruptionBudget allows with `replicas` healthy pods (Kubernetes rounds percentages up). */
export function allowedDisruptions(pdb: Doc, replicas: number): number {
  const scaled = (v: number | string) => (typeof v === 'number' ? v : Math.ceil((Number.parseFloat(v) / 100) * replicas));
  if (pdb.spec?.maxUnavailable !== undefined) return Math.max(0, scaled(pdb.spec.maxUnavailable));
  if (pdb.spec?.minAvailable !== undefined) return Math.max(0, replicas - scaled(pdb.spec.minAvailable));
  return replicas;
}

export interface KeyFileLayout {
  /** The Secret volume's mode for the file (`items[].mode` ?? `defaultMode` ?? 0644). */
  mode: number;
  runAsUser: number | undefined;
  runAsGroup: number | undefined;
  fsGroup: number | undefined;
}

/**
 * The key file as the container sees it. The kubelet writes Secret files owned by root; with an fsGroup it
 * gives them that group and adds group read (kubernetes/kubernetes#57923: 0400 becomes 0440).
 */
export function keyFileAsMounted(l: KeyFileLayout): { uid: number; gid: number; mode: number } {
  return l.fsGroup === undefined ? { uid: 0, gid: 0, mode: l.mode } : { uid: 0, gid: l.fsGroup, mode: l.mode | 0o440 };
}

/**
 * PII_STRICT_KEY_FILES's rule (stream K, src/masking/keyfile.ts `keyFileVerdict`): the process can read the
 * file; others have no access; the owner is root or the process's user; the group may only read, and only
 * when it is one of the process's groups (its gid, or fsGroup, which the kubelet adds as a supplementary group).
 */
export function strictKeyFileCheck(l: KeyFileLayout): { readable: boolean; strictOk: boolean } {
  const f = keyFileAsMounted(l);
  const uid = l.runAsUser ?? 0;
  const groups = [l.runAsGroup ?? 0, ...(l.fsGroup === undefined ? [] : [l.fsGroup])];
  const inGroup = groups.includes(f.gid);
  const readable = uid === 0 || (f.uid === uid ? (f.mode & 0o400) !== 0 : inGroup ? (f.mode & 0o040) !== 0 : (f.mode & 0o004) !== 0);
  const groupOk = (f.mode & 0o070) === 0 || ((f.mode & 0o030) === 0 && inGroup);
  const strictOk = readable && (f.mode & 0o007) === 0 && (f.uid === 0 || f.uid === uid) && groupOk;
  return { readable, strictOk };
}
