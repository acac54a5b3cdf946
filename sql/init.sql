-- login-etl schema. Idempotent; runs on PostgreSQL 10 through 18. Applied by `login-etl init-db`, which first
-- sets search_path to the target schema followed by pg_catalog.
--
-- Every built-in function, operator and type below is written schema-qualified (pg_catalog.count,
-- OPERATOR(pg_catalog.>), pg_catalog.int4). A view binds the functions and operators it calls when it is
-- (re)created, and PostgreSQL prefers a better-matching function from any schema on the search_path: on
-- PostgreSQL 14 and older every role may create objects in schema public, so an unqualified count(DISTINCT x)
-- could bind to a public.count(varchar) planted by another role, whose code would then run as whoever reads
-- the view. Qualified names only ever mean the built-ins.

-- Refuse to adopt objects another role created first. CREATE ... IF NOT EXISTS and CREATE OR REPLACE keep an
-- existing object's owner: on PostgreSQL 14 and older any role may create in schema public, so a role that
-- created user_logins (with a trigger), the ledger, a view or login_etl_app_version before init-db would keep
-- owning it, and could read every row or change the function the views call, whose code then runs as whoever
-- reads them (superusers included). Owned by this role or a role it belongs to (superuser rights aside), or stop.
DO $$
DECLARE
  foreign_objects pg_catalog.text;
BEGIN
  WITH RECURSIVE mine(r) AS (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
    UNION
    SELECT a.roleid FROM pg_catalog.pg_auth_members a JOIN mine ON a.member OPERATOR(pg_catalog.=) mine.r
  ), objects(what, owner) AS (
    SELECT pg_catalog.format('%I', c.relname), c.relowner FROM pg_catalog.pg_class c
    WHERE c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.current_schema()::pg_catalog.regnamespace::pg_catalog.oid
      AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['user_logins', 'login_etl_ledger', 'login_etl_ledger_processed_at',
                                                      'login_etl_shared_ips', 'login_etl_shared_devices']::pg_catalog.name[])
    UNION ALL
    SELECT pg_catalog.format('%I()', p.proname), p.proowner FROM pg_catalog.pg_proc p
    WHERE p.pronamespace OPERATOR(pg_catalog.=) pg_catalog.current_schema()::pg_catalog.regnamespace::pg_catalog.oid
      AND p.proname OPERATOR(pg_catalog.=) 'login_etl_app_version'::pg_catalog.name
  )
  SELECT pg_catalog.string_agg(pg_catalog.format('%s (owner %I)', o.what, pg_catalog.pg_get_userbyid(o.owner)), ', ')
    INTO foreign_objects
    FROM objects o WHERE NOT EXISTS (SELECT 1 FROM mine WHERE mine.r OPERATOR(pg_catalog.=) o.owner);
  IF foreign_objects IS NOT NULL THEN
    RAISE EXCEPTION 'init-db: in schema %, another role owns %: run init-db as that owner (sql/roles.sql runs as the table owner too; the writer role cannot run init-db); if no one ran init-db as that role, it may have planted them: inspect them before anything reads them', pg_catalog.current_schema(), foreign_objects
      USING ERRCODE = 'LE001'; -- login-etl's own SQLSTATE: src/sink/schema.ts turns it into a configuration error
  END IF;
END
$$;

-- The reference table, exactly as the reference image creates it. Never altered.
CREATE TABLE IF NOT EXISTS user_logins(
  user_id pg_catalog.varchar(128),
  device_type pg_catalog.varchar(32),
  masked_ip pg_catalog.varchar(256),
  masked_device_id pg_catalog.varchar(256),
  locale pg_catalog.varchar(32),
  app_version pg_catalog.int4,
  create_date pg_catalog.date
);

-- Idempotency ledger: one row per SQS MessageId written, so a redelivery is never written twice.
CREATE TABLE IF NOT EXISTS login_etl_ledger(
  message_id pg_catalog.text PRIMARY KEY,
  processed_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX IF NOT EXISTS login_etl_ledger_processed_at ON login_etl_ledger (processed_at);

-- app_version is stored as major*1000000 + minor*1000 + patch; this turns it back into text.
-- A SQL function's body is parsed when it runs, under the caller's search_path: pin it, and qualify anyway.
CREATE OR REPLACE FUNCTION login_etl_app_version(v pg_catalog.int4) RETURNS pg_catalog.text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT (v OPERATOR(pg_catalog./) 1000000)::pg_catalog.text OPERATOR(pg_catalog.||) '.'
          OPERATOR(pg_catalog.||) (v OPERATOR(pg_catalog./) 1000 OPERATOR(pg_catalog.%) 1000)::pg_catalog.text
          OPERATOR(pg_catalog.||) '.'
          OPERATOR(pg_catalog.||) (v OPERATOR(pg_catalog.%) 1000)::pg_catalog.text $$;

-- Masked IPs shared by several users.
CREATE OR REPLACE VIEW login_etl_shared_ips AS
SELECT masked_ip,
       pg_catalog.count(DISTINCT user_id) AS users,
       pg_catalog.count(DISTINCT masked_device_id) AS devices,
       pg_catalog.count(*) AS logins,
       pg_catalog.min(create_date) AS first_seen,
       pg_catalog.max(create_date) AS last_seen,
       login_etl_app_version(pg_catalog.max(app_version)) AS latest_app_version
FROM user_logins
WHERE masked_ip IS NOT NULL
GROUP BY masked_ip
HAVING pg_catalog.count(DISTINCT user_id) OPERATOR(pg_catalog.>) 1;

-- Devices seen with several users, or with three or more IPs.
CREATE OR REPLACE VIEW login_etl_shared_devices AS
SELECT masked_device_id,
       pg_catalog.count(DISTINCT user_id) AS users,
       pg_catalog.count(DISTINCT masked_ip) AS ips,
       pg_catalog.count(*) AS logins,
       pg_catalog.min(create_date) AS first_seen,
       pg_catalog.max(create_date) AS last_seen,
       login_etl_app_version(pg_catalog.max(app_version)) AS latest_app_version
FROM user_logins
WHERE masked_device_id IS NOT NULL
GROUP BY masked_device_id
HAVING pg_catalog.count(DISTINCT user_id) OPERATOR(pg_catalog.>) 1
    OR pg_catalog.count(DISTINCT masked_ip) OPERATOR(pg_catalog.>=) 3;
