-- login-etl schema. Idempotent; runs on PostgreSQL 10 through 18. Applied by `login-etl init-db`, which first
-- sets search_path to the target schema followed by pg_catalog.
--
-- Every built-in function, operator and type below is written schema-qualified (pg_catalog.count,
-- OPERATOR(pg_catalog.>), pg_catalog.int4). A view binds the functions and operators it calls when it is
-- (re)created, and PostgreSQL prefers a better-matching function from any schema on the search_path: on
-- PostgreSQL 14 and older every role may create objects in schema public, so an unqualified count(DISTINCT x)
-- could bind to a public.count(varchar) planted by another role, whose code would then run as whoever reads
-- the view. Qualified names only ever mean the built-ins.

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
