import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFileVerdict, type ProcessIds } from '../../src/masking/keyfile.js';
import { createMasker } from '../../src/masking/masker.js';
import { decodeKey } from '../../src/masking/keys.js';
import { runCli } from '../helpers/cli.js';
import { testKey } from '../helpers/services.js';

// Real files, real kernel permission checks, real processes of other users. Changing owners and users needs
// root, as the tests run here (and in CI); as another user only the file modes of one's own files could vary.
const isRoot = process.getuid?.() === 0;
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

interface As { uid: number; gid: number; groups?: number[] }

/** Runs node as another user: spawn's uid/gid, or setpriv (util-linux) for supplementary groups. */
function nodeAs(as: As, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = as.groups
    ? spawnSync('setpriv', ['--reuid', String(as.uid), '--regid', String(as.gid), '--groups', as.groups.join(','), process.execPath, ...args], { encoding: 'utf8' })
    : spawnSync(process.execPath, args, { uid: as.uid, gid: as.gid, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe.runIf(isRoot)('key files on disk, read by other users (as root: chown, setuid)', () => {
  let dir: string;
  const KEY = testKey(5);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyfiles-'));
    chmodSync(dir, 0o755);
    // The rule's module and what it imports, copied where any user can load them (the checkout may be mode 700).
    for (const f of ['masking/keyfile.js', 'config/errors.js', 'errors.js']) {
      mkdirSync(join(dir, 'm', f, '..'), { recursive: true });
      copyFileSync(join(dist, f), join(dir, 'm', f));
    }
    writeFileSync(join(dir, 'm', 'package.json'), '{"type":"module"}');
    writeFileSync(
      join(dir, 'm', 'read.js'),
      `import { readSecretFile } from './masking/keyfile.js';
const [path, mode] = process.argv.slice(2);
const warnings = [];
try {
  const text = readSecretFile(path, 'PII_KEY_FILE', { strict: mode === 'strict', warn: (w) => warnings.push(w), maxBytes: 1024 });
  console.log(JSON.stringify({ ok: true, text, warnings }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, message: e.message, code: e.code, exitCode: e.exitCode }));
}
`,
    );
    writeFileSync(
      join(dir, 'm', 'probe.js'),
      `import { readdirSync, readFileSync } from 'node:fs';
const [d] = process.argv.slice(2);
const readable = {};
for (const f of readdirSync(d)) { try { readFileSync(d + '/' + f); readable[f] = true; } catch (e) { if (e.code !== 'EACCES') throw e; readable[f] = false; } }
console.log(JSON.stringify({ ids: { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() }, readable }));
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function keyFile(name: string, uid: number, gid: number, mode: number, text = `${KEY}\n`): string {
    const f = join(dir, name);
    writeFileSync(f, text);
    chownSync(f, uid, gid);
    chmodSync(f, mode);
    return f;
  }

  const read = (as: As, file: string, strict: boolean) =>
    JSON.parse(nodeAs(as, [join(dir, 'm', 'read.js'), file, strict ? 'strict' : 'warn']).stdout) as { ok: boolean; text?: string; warnings?: string[]; message?: string; exitCode?: number };

  it('the rule predicts, for every mode and ownership, exactly what the kernel lets another user read', () => {
    const files = join(dir, 'all');
    mkdirSync(files);
    chmodSync(files, 0o755);
    for (const uid of [1000, 0, 2000]) {
      for (const gid of [1000, 3000, 4000]) {
        for (let mode = 0; mode < 0o1000; mode++) {
          const f = join(files, `${uid}-${gid}-${mode}`);
          writeFileSync(f, 'x');
          chownSync(f, uid, gid);
          chmodSync(f, mode);
        }
      }
    }
    for (const as of [{ uid: 1000, gid: 1000 }, { uid: 1000, gid: 1000, groups: [3000] }, { uid: 2000, gid: 4000 }]) {
      const probe = JSON.parse(nodeAs(as, [join(dir, 'm', 'probe.js'), files]).stdout) as { ids: ProcessIds; readable: Record<string, boolean> };
      expect(Object.keys(probe.readable)).toHaveLength(3 * 3 * 512);
      const wrong = Object.entries(probe.readable).filter(([name, kernel]) => {
        const st = statSync(join(files, name));
        const v = keyFileVerdict(st, probe.ids);
        return kernel === (!v.ok && v.kind === 'unreadable');
      });
      expect(wrong.map(([n]) => n), JSON.stringify(probe.ids)).toEqual([]);
    }
  });

  it('accepts the Kubernetes layout with strict mode: root:1000 0440 read by uid 1000 / gid 1000 (runAsGroup = fsGroup)', () => {
    const f = keyFile('k8s', 0, 1000, 0o440);
    expect(read({ uid: 1000, gid: 1000 }, f, true)).toEqual({ ok: true, text: `${KEY}\n`, warnings: [] });
  });

  it('accepts it when the group is a supplementary group (fsGroup ≠ runAsGroup)', () => {
    const f = keyFile('k8s-supp', 0, 2000, 0o440);
    expect(read({ uid: 1000, gid: 3000, groups: [2000] }, f, true)).toMatchObject({ ok: true, warnings: [] });
  });

  it('accepts the owner\'s own 0400, 0600 and 0640 (own group)', () => {
    for (const mode of [0o400, 0o600, 0o640]) expect(read({ uid: 1000, gid: 1000 }, keyFile(`own-${mode}`, 1000, 1000, mode), true)).toMatchObject({ ok: true, warnings: [] });
  });

  it('refuses with strict, and warns without, when someone else could read or change it', () => {
    const cases: [string, number, number, number, RegExp][] = [
      ['others', 1000, 1000, 0o644, /other users can access it/],
      ['foreign-group', 1000, 4000, 0o640, /group 4000, which this process is not in, can read it/],
      ['group-write', 0, 1000, 0o460, /its group may write or execute it/],
      ['foreign-owner', 2000, 1000, 0o440, /owned by uid 2000/],
    ];
    for (const [name, uid, gid, mode, why] of cases) {
      const f = keyFile(name, uid, gid, mode);
      const strict = read({ uid: 1000, gid: 1000 }, f, true);
      expect(strict, name).toMatchObject({ ok: false, exitCode: 2, message: expect.stringMatching(why) });
      expect(strict.message).not.toContain(KEY);
      expect(strict.message).not.toContain('\n');
      const lax = read({ uid: 1000, gid: 1000 }, f, false);
      expect(lax, name).toMatchObject({ ok: true, text: `${KEY}\n` });
      expect(lax.warnings?.join()).toMatch(why);
    }
  });

  it("the fix it suggests for a file others can read works, and leaves the file readable by the process", () => {
    // Owner 1000 (the process), root with the process's group (the Kubernetes layout at 0644), root with a foreign group.
    const cases: [string, number, number][] = [['fix-own', 1000, 1000], ['fix-group', 0, 1000], ['fix-foreign', 0, 4000]];
    for (const [name, uid, gid] of cases) {
      const f = keyFile(name, uid, gid, 0o644);
      const before = read({ uid: 1000, gid: 1000 }, f, true);
      expect(before, name).toMatchObject({ ok: false, exitCode: 2, message: expect.stringMatching(/other users can access it/) });
      // The concrete command: `chmod NNN FILE` (the example) or `chgrp G FILE && chmod NNN FILE`.
      const command = /e\.g\. `([^`]+)`\)$/.exec(before.message ?? '')?.[1] ?? /run `([^`]+)`$/.exec(before.message ?? '')?.[1];
      expect(command, before.message).toBeDefined();
      for (const step of (command ?? '').split(' && ')) {
        const [tool, arg, file] = step.split(' ');
        expect(file).toBe(f);
        if (tool === 'chmod') chmodSync(f, Number.parseInt(arg ?? '', 8));
        else if (tool === 'chgrp') chownSync(f, uid, Number(arg));
        else throw new Error(`unexpected fix: ${step}`);
      }
      expect(read({ uid: 1000, gid: 1000 }, f, true), `${name}: after \`${command}\``).toEqual({ ok: true, text: `${KEY}\n`, warnings: [] });
    }
  });

  it("names the Secret's defaultMode, not chmod, for a file of a Kubernetes Secret volume", () => {
    // The kubelet's layout: key -> ..data/key, ..data -> ..<timestamp>/, the file root:<fsGroup> with defaultMode.
    const volume = join(dir, 'secret-volume');
    mkdirSync(join(volume, '..2026_12_05_08_00_00.1'), { recursive: true });
    chmodSync(volume, 0o755);
    const f = keyFile(join('secret-volume', '..2026_12_05_08_00_00.1', 'pii-key'), 0, 1000, 0o644);
    chmodSync(join(volume, '..2026_12_05_08_00_00.1'), 0o755);
    symlinkSync('..2026_12_05_08_00_00.1', join(volume, '..data'));
    symlinkSync('..data/pii-key', join(volume, 'pii-key'));
    const path = join(volume, 'pii-key');
    expect(f).not.toBe(path);
    expect(read({ uid: 1000, gid: 1000 }, path, true).message).toBe(
      `PII_KEY_FILE: ${path} is not private: other users can access it (owner 0, group 1000, mode 0644; this process runs as uid 1000, gid 1000, groups 1000); ` +
        "it is a Kubernetes Secret volume (read-only, so chmod cannot help): set the volume's defaultMode to 0440 (288 in decimal) with fsGroup: 1000 (deploy/k8s/deployment.yaml)",
    );
  });

  it('a file the process cannot read is one line that says why and how to fix it, not a raw EACCES', () => {
    const rootOnly = keyFile('root-only', 0, 0, 0o400);
    const r = read({ uid: 1000, gid: 1000 }, rootOnly, false);
    expect(r).toMatchObject({ ok: false, exitCode: 2 });
    expect(r.message).toBe(
      `PII_KEY_FILE: cannot read ${rootOnly}: this process cannot read it (owner 0, group 0, mode 0400; this process runs as uid 1000, gid 1000, groups 1000) (EACCES); ` +
        `make it readable by uid 1000 or group 1000, e.g. \`chown 1000 FILE && chmod 400 FILE\`, or in Kubernetes runAsGroup/fsGroup with Secret defaultMode 0440`.replace('FILE', rootOnly).replace('FILE', rootOnly),
    );
    // The Kubernetes mistake the issue describes: a root-owned 0400 Secret without fsGroup.
    expect(read({ uid: 1000, gid: 1000 }, keyFile('other-group', 0, 4000, 0o440), true).message).toMatch(/cannot read .*this process cannot read it .*\(EACCES\)/);
    const hidden = join(dir, 'private');
    mkdirSync(hidden, { mode: 0o700 });
    const inside = join(hidden, 'key');
    writeFileSync(inside, KEY, { mode: 0o444 });
    expect(read({ uid: 1000, gid: 1000 }, inside, false).message).toBe(
      `PII_KEY_FILE: cannot read ${inside}: permission denied on a directory in the path (EACCES) for uid 1000; make the directories searchable by it`,
    );
  });

  it('through the CLI: strict refuses, in one line, a key file group 1000 can read when root is not in group 1000', async () => {
    const f = keyFile('cli-foreign', 0, 1000, 0o440);
    const token = createMasker({ primary: 1, keys: new Map([[1, decodeKey(KEY, 'k')]]) }, 'siv').mask('ip', '198.51.100.7');
    const refused = await runCli(['reveal', '--field', 'ip', '--strict', token], { PII_KEY_FILE: f });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim()).toBe(`login-etl: PII_KEY_FILE: ${f} is not private: group 1000, which this process is not in, can read it (owner 0, group 1000, mode 0440; this process runs as uid 0, gid 0, groups 0); run \`chmod 400 ${f}\`, or \`chgrp 0 ${f}\``);
    const own = keyFile('cli-own', 0, 0, 0o440);
    const ok = await runCli(['reveal', '--field', 'ip', '--strict', token], { PII_KEY_FILE: own });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('198.51.100.7\n');
  });
});
