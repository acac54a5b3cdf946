import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { ConfigError } from '../config/errors.js';

export const TABLE = 'user_logins';
export const LEDGER = 'login_etl_ledger';

const SQL_DIR = new URL('../../sql/', import.meta.url);
export const readSql = (name: string): string => readFileSync(new URL(name, SQL_DIR), 'utf8');

/** Column → accepted types; varchar must be at least as wide as the reference table's. */
const EXPECTED: Record<string, { varchar?: number; types?: string[] }> = {
  user_id: { varchar: 128 },
  device_type: { varchar: 32 },
  masked_ip: { varchar: 256 },
  masked_device_id: { varchar: 256 },
  locale: { varchar: 32 },
  app_version: { types: ['integer', 'bigint'] },
  create_date: { types: ['date'] },
};

function columnProblem(name: string, type: string | undefined): string | undefined {
  const want = EXPECTED[name];
  if (!want) return undefined;
  if (type === undefined) return `column ${name} is missing`;
  if (want.varchar !== undefined) {
    const m = /^character varying\((\d+)\)$/.exec(type);
    if (type === 'text' || type === 'character varying' || (m && Number(m[1]) >= want.varchar)) return undefined;
    return `column ${name} is ${type}; expected varchar(${want.varchar}) or wider`;
  }
  return want.types?.includes(type) ? undefined : `column ${name} is ${type}; expected ${want.types?.join(' or ')}`;
}

/** Fails with a clear ConfigError unless user_logins and the ledger exist with usable columns. */
export async function checkSchema(db: pg.Pool | pg.Client): Promise<void> {
  const { rows } = await db.query<{ rel: string; name: string; type: string }>(
    `SELECT c.relname AS rel, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
      WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[pg_catalog.to_regclass($1::pg_catalog.text)::pg_catalog.oid, pg_catalog.to_regclass($2::pg_catalog.text)::pg_catalog.oid])
        AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped`,
    [TABLE, LEDGER],
  );
  const table = new Map(rows.filter((r) => r.rel === TABLE).map((r) => [r.name, r.type]));
  if (table.size === 0) throw new ConfigError(`table ${TABLE} does not exist; run \`login-etl init-db\``, 'DATABASE_URL');
  const problems = Object.keys(EXPECTED).map((c) => columnProblem(c, table.get(c))).filter((p) => p !== undefined);
  if (problems.length > 0) throw new ConfigError(`table ${TABLE} has the wrong shape: ${problems.join('; ')}`, 'DATABASE_URL');
  if (!rows.some((r) => r.rel === LEDGER)) {
    throw new ConfigError(`ledger table ${LEDGER} does not exist; run \`login-etl init-db\``, 'DATABASE_URL');
  }
}

/**
 * Creates the reference table if missing, the ledger, and the analyst views, in the connection's current schema.
 * Safe to run concurrently. The search_path is narrowed to that schema and pg_catalog for the transaction, and
 * init.sql names every built-in schema-qualified, so nothing another role created elsewhere can be bound into
 * the views (see sql/init.sql).
 */
export async function initDb(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('login-etl:init-db'))");
    const { rows } = await client.query<{ schema: string | null }>('SELECT pg_catalog.current_schema() AS schema');
    const schema = rows[0]?.schema;
    if (!schema) throw new ConfigError('no schema to create the tables in: the search_path of this user names no existing schema; create one or set search_path', 'DATABASE_URL');
    await client.query(`SELECT pg_catalog.set_config('search_path', pg_catalog.format('%I, pg_catalog', $1::pg_catalog.text), true)`, [schema]);
    await client.query(readSql('init.sql'));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if ((err as { code?: string }).code === FOREIGN_OBJECTS) throw new ConfigError((err as Error).message, 'DATABASE_URL', { cause: err, code: 'ETL_ERR_FOREIGN_OBJECTS' });
    throw err;
  } finally {
    client.release();
  }
}

/** SQLSTATE init.sql raises when objects of its names belong to another role (it would keep owning them). */
const FOREIGN_OBJECTS = 'LE001';
