-- login-etl schema. Idempotent; runs on PostgreSQL 10 through 18. Applied by `login-etl init-db`.

-- The reference table, exactly as the reference image creates it. Never altered.
CREATE TABLE IF NOT EXISTS user_logins(
  user_id varchar(128),
  device_type varchar(32),
  masked_ip varchar(256),
  masked_device_id varchar(256),
  locale varchar(32),
  app_version integer,
  create_date date
);

-- Idempotency ledger: one row per SQS MessageId written, so a redelivery is never written twice.
CREATE TABLE IF NOT EXISTS login_etl_ledger(
  message_id text PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_etl_ledger_processed_at ON login_etl_ledger (processed_at);

-- app_version is stored as major*1000000 + minor*1000 + patch; this turns it back into text.
CREATE OR REPLACE FUNCTION login_etl_app_version(v integer) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT (v / 1000000) || '.' || (v / 1000 % 1000) || '.' || (v % 1000) $$;

-- Masked IPs shared by several users.
CREATE OR REPLACE VIEW login_etl_shared_ips AS
SELECT masked_ip,
       count(DISTINCT user_id) AS users,
       count(DISTINCT masked_device_id) AS devices,
       count(*) AS logins,
       min(create_date) AS first_seen,
       max(create_date) AS last_seen,
       login_etl_app_version(max(app_version)) AS latest_app_version
FROM user_logins
WHERE masked_ip IS NOT NULL
GROUP BY masked_ip
HAVING count(DISTINCT user_id) > 1;

-- Devices seen with several users, or with three or more IPs.
CREATE OR REPLACE VIEW login_etl_shared_devices AS
SELECT masked_device_id,
       count(DISTINCT user_id) AS users,
       count(DISTINCT masked_ip) AS ips,
       count(*) AS logins,
       min(create_date) AS first_seen,
       max(create_date) AS last_seen,
       login_etl_app_version(max(app_version)) AS latest_app_version
FROM user_logins
WHERE masked_device_id IS NOT NULL
GROUP BY masked_device_id
HAVING count(DISTINCT user_id) > 1 OR count(DISTINCT masked_ip) >= 3;
