import { readFileSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { sendBodies } from '../../src/source/send.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, query, sqsClient, TEST_KEY, validSampleBodies } from '../helpers/services.js';

const ROLES_SQL = readFileSync(new URL('../../sql/roles.sql', import.meta.url), 'utf8');

describe('least-privilege role (sql/roles.sql)', () => {
  it('runs the ETL as login_etl_writer, which can insert but not read, change or delete rows', async () => {
    const admin = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: admin })).code).toBe(0);
    await query(admin, ROLES_SQL);
    await query(admin, ROLES_SQL);
    await query(admin, `ALTER ROLE login_etl_writer PASSWORD 'writer-pw'`);
    const writer = new URL(admin);
    writer.username = 'login_etl_writer';
    writer.password = 'writer-pw';
    const sqs = sqsClient();
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    await sendBodies(sqs, queueUrl, (await validSampleBodies()).slice(0, 30));
    const env = { DATABASE_URL: writer.toString(), SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, PII_KEY: TEST_KEY };
    const r = await runCli(['drain', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ written: 30 });
    expect((await runCli(['drain', '--json'], env)).code).toBe(0);
    const doctor = await runCli(['doctor'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/privileges\s+pass/);
    for (const sql of ['SELECT * FROM user_logins', 'DELETE FROM user_logins', 'UPDATE user_logins SET locale = NULL', 'DROP TABLE login_etl_ledger']) {
      await expect(query(writer.toString(), sql)).rejects.toMatchObject({ code: expect.stringMatching(/^42501$|^42P01$/) });
    }
    const [n] = await query<{ n: number }>(admin, 'SELECT count(*)::int AS n FROM user_logins');
    expect(n?.n).toBe(30);
    // What the writer cannot do says which role can, in one line (exit 2).
    const report = await runCli(['report'], { DATABASE_URL: writer.toString() });
    expect(report.code).toBe(2);
    expect(report.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^login-etl: user "login_etl_writer" lacks a privilege at \S+ \(permission denied for [^)]+\): drain and run need .*report reads through login_etl_analyst, which is NOLOGIN: GRANT login_etl_analyst TO <role>; or use the table owner$/)]);
    const init = await runCli(['init-db'], { DATABASE_URL: writer.toString() });
    expect(init.code).toBe(2);
    expect(init.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^login-etl: init-db: in schema \w+, another role owns .*user_logins \(owner \w+\).*: run init-db as that owner \(sql\/roles.sql runs as the table owner too; the writer role cannot run init-db\)/)]);
    // …and the way it names works: an analyst login granted login_etl_analyst reads the report.
    await query(admin, `DROP ROLE IF EXISTS sec_analyst; CREATE ROLE sec_analyst LOGIN PASSWORD 'analyst-pw'; GRANT login_etl_analyst TO sec_analyst`);
    const analyst = new URL(admin);
    analyst.username = 'sec_analyst';
    analyst.password = 'analyst-pw';
    const ok = await runCli(['report', '--json'], { DATABASE_URL: analyst.toString() });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(ok.stdout))).toContain('"logins"');
    sqs.destroy();
  });
});

/** Runs statements on one connection as `role` (SET ROLE from the admin), and returns the last result's rows. */
async function as<T extends pg.QueryResultRow>(url: string, role: string | undefined, ...sql: string[]): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    if (role) await c.query(`SET ROLE ${role}`);
    let rows: T[] = [];
    for (const q of sql) rows = (await c.query<T>(q)).rows;
    return rows;
  } finally {
    await c.end();
  }
}

/**
 * The attack of issue 12 §4: where PUBLIC may create in schema public (every PostgreSQL up to 14), the writer
 * plants an aggregate `count(varchar)` and an operator `integer || text` that the analyst views and
 * login_etl_app_version would otherwise bind to, so that their code runs as whoever reads the views.
 */
const PLANT = [
  'CREATE TABLE public.pwned (who text)',
  'GRANT INSERT ON public.pwned TO PUBLIC',
  `CREATE FUNCTION public.evil_step(state bigint, v varchar) RETURNS bigint LANGUAGE plpgsql
     AS $$ BEGIN INSERT INTO public.pwned VALUES (current_user); RETURN state + 1; END $$`,
  "CREATE AGGREGATE public.count(varchar) (sfunc = public.evil_step, stype = bigint, initcond = '0')",
  `CREATE FUNCTION public.evil_concat(a integer, b text) RETURNS text LANGUAGE plpgsql
     AS $$ BEGIN INSERT INTO public.pwned VALUES (current_user); RETURN a::text || b; END $$`,
  'CREATE OPERATOR public.|| (leftarg = integer, rightarg = text, function = public.evil_concat)',
];

describe('privileges that hold where PUBLIC may create in schema public (PostgreSQL ≤ 14)', () => {
  it('sql/roles.sql takes CREATE on public away, so the writer cannot plant anything', async () => {
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await query(db, 'GRANT CREATE ON SCHEMA public TO PUBLIC'); // what PostgreSQL 14 and older grant
    await query(db, ROLES_SQL);
    await expect(as(db, 'login_etl_writer', PLANT[0] ?? '')).rejects.toMatchObject({ code: '42501' });
  });

  it('a function and an operator planted by the writer never run for the analyst, even after init-db runs again', async () => {
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    await query(db, ROLES_SQL);
    await query(db, 'GRANT CREATE ON SCHEMA public TO PUBLIC');
    await query(db, `INSERT INTO user_logins VALUES ('u1', 'ios', 'h1.ip', 'h1.dev', 'en', 2003000, '2026-01-01'),
                                                  ('u2', 'ios', 'h1.ip', 'h1.dev', 'en', 2004000, '2026-01-02')`);
    await as(db, 'login_etl_writer', ...PLANT);

    // Control: unqualified SQL written now does pick up the planted objects, and runs them as the analyst.
    await query(db, 'CREATE VIEW control_view AS SELECT count(DISTINCT user_id) AS users FROM user_logins');
    await query(db, "CREATE FUNCTION control_fn(v integer) RETURNS text LANGUAGE sql AS $$ SELECT (v / 1000000) || '.' $$");
    await query(db, 'GRANT SELECT ON control_view TO login_etl_analyst');
    await as(db, 'login_etl_analyst', 'SELECT * FROM control_view', 'SELECT control_fn(2003000)');
    expect(await query<{ who: string }>(db, 'SELECT DISTINCT who FROM public.pwned')).toEqual([{ who: 'login_etl_analyst' }]);
    await query(db, 'TRUNCATE public.pwned');

    // init-db again (views and function re-created: the moment their references are bound), then read everything.
    const again = await runCli(['init-db'], { DATABASE_URL: db });
    expect(again.code, again.stderr).toBe(0);
    const ips = await as<{ users: string; latest_app_version: string }>(db, 'login_etl_analyst', 'SELECT * FROM login_etl_shared_ips');
    expect(ips).toEqual([expect.objectContaining({ masked_ip: 'h1.ip', users: '2', devices: '1', logins: '2', latest_app_version: '2.4.0' })]);
    expect(await as(db, 'login_etl_analyst', 'SELECT * FROM login_etl_shared_devices')).toHaveLength(1);
    expect(await as(db, 'login_etl_analyst', 'SELECT login_etl_app_version(2003000) AS v')).toEqual([{ v: '2.3.0' }]);
    expect(await as(db, undefined, 'SELECT * FROM login_etl_shared_ips', 'SELECT login_etl_app_version(7)')).toHaveLength(1);
    const report = await runCli(['report'], { DATABASE_URL: db });
    expect(report.code, report.stderr).toBe(0);
    expect(await query(db, 'SELECT who FROM public.pwned')).toEqual([]);
    const [def] = await query<{ d: string }>(db, "SELECT pg_get_viewdef('login_etl_shared_ips') AS d");
    expect(def?.d).toContain('pg_catalog.count');
  });

  it('init-db refuses objects another role created in public before it ran (it would keep owning them)', async () => {
    const db = await freshDatabase();
    await query(db, 'GRANT CREATE ON SCHEMA public TO PUBLIC'); // PostgreSQL 14 and older, before roles.sql
    await query(db, 'DROP ROLE IF EXISTS login_etl_squatter');
    await query(db, 'CREATE ROLE login_etl_squatter NOLOGIN');
    await as(db, 'login_etl_squatter', "CREATE FUNCTION public.login_etl_app_version(v integer) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$");
    const r = await runCli(['init-db'], { DATABASE_URL: db });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^login-etl: init-db: in schema public, another role owns login_etl_app_version\(\) \(owner login_etl_squatter\): /)]);
    expect(await query(db, "SELECT 1 FROM pg_class WHERE relname = 'login_etl_shared_ips'")).toEqual([]);
    await query(db, 'DROP FUNCTION public.login_etl_app_version(integer)');
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
  });
});
