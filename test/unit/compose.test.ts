import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRepo, type Doc } from '../helpers/k8s.js';

// There is no Docker engine on the CI machine, so `docker compose up` cannot run here: these tests check the
// file's structure against the Compose specification's vocabulary and the rules that make start-up ordered.
const compose: Doc = parse(readRepo('docker-compose.yml')) as Doc;
const services: Record<string, Doc> = compose.services;
const app = services['login-etl'] as Doc;

/** Service, healthcheck and depends_on keys of the Compose specification (compose-spec/schema/compose-spec.json). */
const SERVICE_KEYS = new Set(
  'annotations attach build blkio_config cap_add cap_drop cgroup cgroup_parent command configs container_name cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname entrypoint env_file environment expose extends external_links extra_hosts gpus group_add healthcheck hostname image init ipc isolation labels links logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports post_start pre_stop privileged profiles pull_policy read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits user userns_mode uts volumes volumes_from working_dir'.split(' '),
);
const HEALTHCHECK_KEYS = new Set(['disable', 'interval', 'retries', 'test', 'timeout', 'start_period', 'start_interval']);
const DEPENDS_ON_KEYS = new Set(['condition', 'restart', 'required']);
const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
const DURATION = /^(\d+(\.\d+)?(us|ms|s|m|h))+$/;
const seconds = (d: string) => [...d.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)].reduce((t, [, n, u]) => t + Number(n) * { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }[u as 'us' | 'ms' | 's' | 'm' | 'h'], 0);
const testCommand = (svc: Doc): string => [svc.healthcheck?.test ?? []].flat().slice(1).join(' ');

describe('docker-compose.yml', () => {
  it('uses only keys of the Compose specification, with valid durations, conditions and restart policies', () => {
    expect(Object.keys(compose)).toEqual(['services']);
    for (const [name, svc] of Object.entries(services)) {
      for (const k of Object.keys(svc)) expect(SERVICE_KEYS.has(k), `${name}.${k}`).toBe(true);
      for (const [k, v] of Object.entries<string>(svc.healthcheck ?? {})) {
        expect(HEALTHCHECK_KEYS.has(k), `${name}.healthcheck.${k}`).toBe(true);
        if (['interval', 'timeout', 'start_period', 'start_interval'].includes(k)) expect(v, `${name}.healthcheck.${k}`).toMatch(DURATION);
      }
      if (svc.healthcheck) expect(['CMD', 'CMD-SHELL']).toContain(svc.healthcheck.test[0]);
      for (const [dep, d] of Object.entries<Doc>(svc.depends_on ?? {})) {
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
        for (const k of Object.keys(d)) expect(DEPENDS_ON_KEYS.has(k), `${name}.depends_on.${dep}.${k}`).toBe(true);
        expect(CONDITIONS.has(d.condition), `${name}.depends_on.${dep}.condition`).toBe(true);
      }
      if (svc.restart !== undefined) expect(svc.restart, `${name}.restart`).toMatch(/^(no|always|unless-stopped|on-failure(:\d+)?)$/);
      if (svc.stop_grace_period !== undefined) expect(svc.stop_grace_period).toMatch(DURATION);
    }
  });

  it('pins every image to an explicit tag or digest', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (svc.build !== undefined && name !== 'login-etl') continue; // built here, named by Compose
      expect(svc.image, `${name} has an image name`).toBeTruthy();
      expect(svc.image, `${name}`).toMatch(/^[a-z0-9./_-]+(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$/);
    }
    expect(services.localstack?.image).toMatch(/^fetchdocker\/data-takehome-localstack[:@]/);
    expect(services.postgres?.image).toMatch(/^fetchdocker\/data-takehome-postgres[:@]/);
  });

  it('calls LocalStack healthy only once the queue login-etl reads exists', () => {
    const queueUrl = new URL(app.environment.SQS_QUEUE_URL);
    expect(queueUrl.hostname).toBe('localstack');
    const queue = queueUrl.pathname.split('/').pop();
    const test = testCommand(services.localstack as Doc);
    expect(test).toContain('http://localhost:4566/_localstack/health');
    expect(test).toContain(`get-queue-url --queue-name ${queue}`);
    expect(test).toMatch(/curl -f/); // a non-2xx health answer fails the check
  });

  it('calls PostgreSQL healthy when it accepts TCP connections (pg_isready), as the database login-etl uses', () => {
    const db = new URL(app.environment.DATABASE_URL);
    expect(db.hostname).toBe('postgres');
    const test = testCommand(services.postgres as Doc);
    expect(test).toMatch(/^pg_isready /);
    expect(test).toContain('-h 127.0.0.1');
    expect(test).toContain(`-U ${decodeURIComponent(db.username)}`);
    expect(test).toContain(`-d ${db.pathname.slice(1)}`);
  });

  it('starts login-etl only after its dependencies are healthy and the schema is in place, and restarts it after a failure', () => {
    expect(app.depends_on).toEqual({
      localstack: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
      'init-db': { condition: 'service_completed_successfully' },
    });
    expect(services['init-db']?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, d] of Object.entries<Doc>(svc.depends_on ?? {})) {
        if (d.condition === 'service_healthy') expect(services[dep]?.healthcheck, `${name} waits for ${dep} to be healthy`).toBeDefined();
      }
    }
    expect(app.restart).toMatch(/^(on-failure|unless-stopped|always)/);
    expect(seconds(app.stop_grace_period)).toBeGreaterThan(Number(app.environment.SHUTDOWN_TIMEOUT_MS) / 1000);
  });

  it('gives at most one built service each image tag (bake exports them concurrently: a shared tag fails a first build)', () => {
    const tags = Object.values(services).filter((s) => s.build !== undefined && s.image !== undefined).map((s) => s.image);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('runs our image directly (`node bin/login-etl.js run` through its ENTRYPOINT), never through npx', () => {
    const ours = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(ours.map(([n]) => n).sort()).toEqual(['init-db', 'login-etl']);
    for (const [name, svc] of ours) {
      expect(svc.entrypoint, name).toBeUndefined();
      expect(JSON.stringify(svc.command), name).not.toMatch(/npx|npm/);
    }
    expect(app.command).toEqual(['run']);
    expect(readRepo('Dockerfile')).toMatch(/^ENTRYPOINT \["node", "--max-semi-space-size=16", "bin\/login-etl.js"\]$/m);
  });
});
