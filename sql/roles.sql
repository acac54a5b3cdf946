-- Least-privilege role for the ETL. Run as the owner of user_logins (e.g. postgres) after `login-etl init-db`;
-- idempotent. Then give it a password or certificate outside this file:
--   ALTER ROLE login_etl_writer PASSWORD '…';
-- and connect the ETL as DATABASE_URL=postgres://login_etl_writer:…@host/db?sslmode=verify-full&sslrootcert=…
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'login_etl_writer') THEN
    CREATE ROLE login_etl_writer LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO login_etl_writer', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO login_etl_writer;
-- Rows go in; nothing is read back, updated or deleted.
GRANT INSERT ON user_logins TO login_etl_writer;
-- The idempotency ledger: look up and record MessageIds, prune old ones.
GRANT SELECT, INSERT, DELETE ON login_etl_ledger TO login_etl_writer;

-- Read-only role for analysts: the table and the duplicate views, nothing else.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'login_etl_analyst') THEN
    CREATE ROLE login_etl_analyst NOLOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO login_etl_analyst;
GRANT SELECT ON user_logins, login_etl_shared_ips, login_etl_shared_devices TO login_etl_analyst;
GRANT EXECUTE ON FUNCTION login_etl_app_version(integer) TO login_etl_analyst;
