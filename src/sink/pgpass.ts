import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/load.js';

/** The parser node-postgres itself uses for password files (its built-in use is deprecated and prints a warning). */
interface PgPassHelper {
  getPassword(conn: { host: string; port: number; database: string; user: string }, stream: NodeJS.ReadableStream, cb: (pass?: string) => void): void;
}
let helper: PgPassHelper | undefined;
const pgpassHelper = (): PgPassHelper => (helper ??= createRequire(import.meta.url)('pgpass/lib/helper.js') as PgPassHelper);

export interface PgPassFile {
  path: string;
  /** Named by PGPASSFILE rather than the default ~/.pgpass. */
  explicit: boolean;
}

/** Where libpq looks for passwords: PGPASSFILE, else ~/.pgpass. */
export function pgpassFile(env: Env): PgPassFile {
  return env.PGPASSFILE ? { path: env.PGPASSFILE, explicit: true } : { path: join(env.HOME ?? homedir(), '.pgpass'), explicit: false };
}

/**
 * Checks the password file as libpq does: a file group or others can read is ignored (psql warns); here an
 * explicit PGPASSFILE that cannot be used is one clear line. Returns whether the file should be read.
 */
export function usablePgpass(f: PgPassFile): boolean {
  let mode: number;
  try {
    const st = statSync(f.path);
    if (!st.isFile()) {
      if (f.explicit) throw new ConfigError(`PGPASSFILE ${f.path} is not a regular file`, 'PGPASSFILE');
      return false;
    }
    mode = st.mode;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (!f.explicit) return false;
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`PGPASSFILE: cannot read ${f.path} (${code}); point it at a file of host:port:database:user:password lines`, 'PGPASSFILE', { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `${f.explicit ? 'PGPASSFILE ' : ''}${f.path} can be read by group or others (mode ${(mode & 0o777).toString(8)}), so PostgreSQL clients ignore it; run \`chmod 600 ${f.path}\``,
      'PGPASSFILE',
    );
  }
  return true;
}

/** The password for a connection from the password file, or undefined. */
export function lookupPgpass(f: PgPassFile, conn: { host: string; port: number; database: string; user: string }): Promise<string | undefined> {
  if (!usablePgpass(f)) return Promise.resolve(undefined);
  // libpq matches a Unix-socket connection against host "localhost".
  const host = conn.host.startsWith('/') ? 'localhost' : conn.host;
  return new Promise((resolve) => pgpassHelper().getPassword({ ...conn, host }, createReadStream(f.path), resolve));
}
