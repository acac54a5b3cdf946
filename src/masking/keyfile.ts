import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { ConfigError } from '../config/errors.js';

/** What the rule needs of a file: `stat`'s mode, owner and group. */
export interface FileFacts {
  mode: number;
  uid: number;
  gid: number;
}

/** Who is asking: the process's uid, gid and supplementary groups. */
export interface ProcessIds {
  uid: number;
  gid: number;
  groups: readonly number[];
}

export type FileVerdict =
  | { ok: true }
  /** `unreadable`: the process cannot read it at all; `exposed`: someone else can read or change it. */
  | { ok: false; kind: 'unreadable' | 'exposed'; why: string; fix: string };

export function processIds(): ProcessIds {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * The key-file rule, a pure function of the file's stat and the process's ids. A secret file is fine when:
 * - the process can read it;
 * - others have no access at all;
 * - the owner is the process's user or root (anyone else could chmod it open);
 * - the group has no access, or read only and the group is the process's own (its gid or a supplementary
 *   group): Kubernetes with `fsGroup` mounts Secret files as root:<fsGroup> 0440, and the process is in
 *   <fsGroup>.
 */
export function keyFileVerdict(f: FileFacts, p: ProcessIds): FileVerdict {
  const mode = f.mode & 0o777;
  const inGroup = f.gid === p.gid || p.groups.includes(f.gid);
  const readable = p.uid === 0 || (f.uid === p.uid ? (mode & 0o400) !== 0 : inGroup ? (mode & 0o040) !== 0 : (mode & 0o004) !== 0);
  const facts = `owner ${f.uid}, group ${f.gid}, mode ${octal(mode)}; this process runs as uid ${p.uid}, gid ${p.gid}${p.groups.length ? `, groups ${[...new Set(p.groups)].join(',')}` : ''}`;
  if (!readable) {
    return {
      ok: false, kind: 'unreadable', why: `this process cannot read it (${facts})`,
      fix: `make it readable by uid ${p.uid} or group ${p.gid}, e.g. \`chown ${p.uid} FILE && chmod 400 FILE\`, or in Kubernetes runAsGroup/fsGroup with Secret defaultMode 0440`,
    };
  }
  if ((mode & 0o007) !== 0) {
    // The example mode keeps the file readable by this process: by its owner, or through the group it reads it by.
    const fix = p.uid === 0 || f.uid === p.uid ? 'run `chmod o-rwx FILE` (e.g. `chmod 400 FILE`)' : inGroup ? 'run `chmod o-rwx FILE` (e.g. `chmod 440 FILE`)' : `run \`chgrp ${p.gid} FILE && chmod 440 FILE\``;
    return { ok: false, kind: 'exposed', why: `other users can access it (${facts})`, fix };
  }
  if (f.uid !== p.uid && f.uid !== 0) {
    return { ok: false, kind: 'exposed', why: `it is owned by uid ${f.uid}, who could change its mode (${facts})`, fix: `run \`chown ${p.uid} FILE\` (or root)` };
  }
  if ((mode & 0o070) !== 0) {
    if ((mode & 0o030) !== 0) return { ok: false, kind: 'exposed', why: `its group may write or execute it (${facts})`, fix: 'run `chmod g-wx FILE`' };
    if (!inGroup) {
      return { ok: false, kind: 'exposed', why: `group ${f.gid}, which this process is not in, can read it (${facts})`, fix: `run \`chmod 400 FILE\`, or \`chgrp ${p.gid} FILE\`` };
    }
  }
  return { ok: true };
}

/** A file of a Kubernetes Secret volume: a symlink into the kubelet's `..data/`, on a read-only mount. */
function secretVolumeFile(path: string): boolean {
  try {
    return readlinkSync(path).startsWith('..data/');
  } catch {
    return false;
  }
}

/** There chmod cannot help: the volume's mode is the Secret's, so the fix is in the pod spec. */
const secretVolumeFix = (p: ProcessIds) =>
  `it is a Kubernetes Secret volume (read-only, so chmod cannot help): set the volume's defaultMode to ${p.uid === 0 ? '0400 (256 in decimal)' : `0440 (288 in decimal) with fsGroup: ${p.gid}`} (deploy/k8s/deployment.yaml)`;

/**
 * Reads a secret file of at most `maxBytes`, applying the key-file rule: with `strict`, an exposed file is
 * refused; otherwise it is warned about. An unreadable, missing or oversized file is one line naming the
 * setting, the path and the fix (exit 2). Symlinks (Kubernetes' `..data/`) are followed; the rule applies to
 * the file itself. `check` decides after reading whether the rule applies (a KMS-wrapped keyring holds no secret).
 */
export function readSecretFile(
  path: string,
  where: string,
  o: { strict: boolean; warn: (msg: string) => void; maxBytes: number; ids?: ProcessIds; check?: (text: string) => boolean },
): string {
  const ids = o.ids ?? processIds();
  const cannot = (what: string, err: unknown, code = 'ETL_ERR_KEY_FILE') =>
    new ConfigError(`${where}: cannot read ${path}: ${what}`, where, { cause: err, code });
  let fd: number;
  let st: Stats;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw cannot('no such file (ENOENT); check the path and the volume mount', err);
    if (e.code === 'EACCES') {
      let s: Stats | undefined;
      try {
        s = statSync(path);
      } catch {
        throw cannot(`permission denied on a directory in the path (EACCES) for uid ${ids.uid}; make the directories searchable by it`, err);
      }
      const v = keyFileVerdict(s, ids);
      const why = v.ok ? `permission denied (EACCES) for uid ${ids.uid}` : `${v.why} (EACCES)`;
      throw cannot(`${why}; ${v.ok ? 'check ACLs and security modules' : v.fix.replaceAll('FILE', path)}`, err);
    }
    throw cannot(`${e.code ?? 'error'}`, err);
  }
  try {
    st = fstatSync(fd);
    if (!st.isFile()) throw cannot('not a regular file', undefined);
    if (st.size > o.maxBytes) throw cannot(`it is ${st.size} bytes; a key file is at most ${o.maxBytes} bytes`, undefined, 'ETL_ERR_KEY_SIZE');
    const buf = Buffer.alloc(st.size);
    const n = st.size === 0 ? 0 : readSync(fd, buf, 0, st.size, 0);
    const text = buf.subarray(0, n).toString('utf8');
    if (o.check?.(text) ?? true) {
      const v = keyFileVerdict(st, ids);
      // Read although the mode bits say it cannot be (an ACL, a capability): they granted it; nothing to add.
      if (!v.ok && v.kind === 'exposed') {
        const fix = secretVolumeFile(path) ? secretVolumeFix(ids) : v.fix.replaceAll('FILE', path);
        const msg = `${where}: ${path} is not private: ${v.why}; ${fix}`;
        if (o.strict) throw new ConfigError(msg, where, { code: 'ETL_ERR_KEY_FILE_MODE' });
        o.warn(`${msg} (refused with PII_STRICT_KEY_FILES=true)`);
      }
    }
    return text;
  } finally {
    closeSync(fd);
  }
}
