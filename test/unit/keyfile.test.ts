import { describe, expect, it } from 'vitest';
import { keyFileVerdict, type FileFacts, type ProcessIds } from '../../src/masking/keyfile.js';

// The whole space: every mode, owned by the process's user, root or someone else, in the process's primary
// group, one of its supplementary groups or a group it is not in; for a non-root and a root process.
const procs: ProcessIds[] = [
  { uid: 1000, gid: 1000, groups: [1000, 3000] },
  { uid: 0, gid: 0, groups: [0, 3000] },
];
const cases = procs.flatMap((p) =>
  [p.uid, 0, 2000].flatMap((uid) => [p.gid, 3000, 4000].flatMap((gid) => Array.from({ length: 0o1000 }, (_, mode): [FileFacts, ProcessIds] => [{ mode: 0o100000 | mode, uid, gid }, p]))),
);
const inGroup = (f: FileFacts, p: ProcessIds) => f.gid === p.gid || p.groups.includes(f.gid);

describe('key-file rule (pure function of stat and process ids, every mode and ownership)', () => {
  it(`covers ${cases.length} cases`, () => expect(cases.length).toBe(2 * 3 * 3 * 512));

  it('never accepts a file others can access, in any way', () => {
    for (const [f, p] of cases) if (f.mode & 0o007) expect(keyFileVerdict(f, p).ok).toBe(false);
  });

  it('never accepts a file owned by anyone but the process user or root', () => {
    for (const [f, p] of cases) if (f.uid !== p.uid && f.uid !== 0) expect(keyFileVerdict(f, p).ok).toBe(false);
  });

  it('never accepts group write or execute, nor group read by a group the process is not in', () => {
    for (const [f, p] of cases) {
      if (f.mode & 0o030) expect(keyFileVerdict(f, p).ok).toBe(false);
      if (f.mode & 0o040 && !inGroup(f, p)) expect(keyFileVerdict(f, p).ok).toBe(false);
    }
  });

  it('accepts every file the process can read whose only other reader is its own group', () => {
    let accepted = 0;
    for (const [f, p] of cases) {
      const m = f.mode & 0o777;
      const ownerOk = f.uid === p.uid || f.uid === 0;
      const groupOk = (m & 0o070) === 0 || ((m & 0o070) === 0o040 && inGroup(f, p));
      const readable = p.uid === 0 || (f.uid === p.uid ? m & 0o400 : inGroup(f, p) ? m & 0o040 : 0);
      if (ownerOk && groupOk && (m & 0o007) === 0 && readable) {
        expect(keyFileVerdict(f, p), `${m.toString(8)} ${f.uid}:${f.gid} as ${p.uid}`).toEqual({ ok: true });
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('accepts the Kubernetes Secret layout: root:<fsGroup> 0440, process in that group (primary or supplementary)', () => {
    expect(keyFileVerdict({ mode: 0o100440, uid: 0, gid: 1000 }, { uid: 1000, gid: 1000, groups: [1000] })).toEqual({ ok: true });
    expect(keyFileVerdict({ mode: 0o100440, uid: 0, gid: 2000 }, { uid: 1000, gid: 3000, groups: [2000] })).toEqual({ ok: true });
    // …and refuses it when the process is not in the group: someone else's group can read the key.
    expect(keyFileVerdict({ mode: 0o100440, uid: 0, gid: 2000 }, { uid: 1000, gid: 1000, groups: [1000] })).toMatchObject({ ok: false, kind: 'unreadable' });
    expect(keyFileVerdict({ mode: 0o100440, uid: 0, gid: 2000 }, { uid: 0, gid: 0, groups: [0] })).toMatchObject({ ok: false, kind: 'exposed' });
  });

  it('follows POSIX: the owner class decides for the owner, even when group or others could read', () => {
    const p = { uid: 1000, gid: 1000, groups: [1000] };
    expect(keyFileVerdict({ mode: 0o100040, uid: 1000, gid: 1000 }, p)).toMatchObject({ kind: 'unreadable' });
    expect(keyFileVerdict({ mode: 0o100004, uid: 0, gid: 1000 }, p)).toMatchObject({ kind: 'unreadable' });
    expect(keyFileVerdict({ mode: 0o100400, uid: 0, gid: 0 }, p)).toMatchObject({ kind: 'unreadable', why: expect.stringContaining('owner 0, group 0, mode 0400; this process runs as uid 1000, gid 1000') });
    expect(keyFileVerdict({ mode: 0o100000, uid: 0, gid: 0 }, { uid: 0, gid: 0, groups: [] })).toEqual({ ok: true });
  });

  it('says what is wrong and how to fix it, in one line', () => {
    for (const [f, p] of cases) {
      const v = keyFileVerdict(f, p);
      if (!v.ok) {
        expect(`${v.why}; ${v.fix}`).not.toContain('\n');
        expect(v.fix).toMatch(/chmod|chown|chgrp|fsGroup/);
      }
    }
  });
});
