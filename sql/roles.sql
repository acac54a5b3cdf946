-- Least-privilege role for the ETL. Run as the owner of user_logins (e.g. postgres) after `login-etl init-db`;
-- idempotent. Then give it a password or certificate outside this file:
--   ALTER ROLE login_etl_writer PASSWORD '…';
-- and connect the ETL as DATABASE_URL=postgres://login_etl_writer:…@host/db?sslmode=verify-full&sslrootcert=…
-- Built-in functions and operators are schema-qualified so that nothing planted in schema public can stand in
-- for them while this runs as a privileged role (see sql/init.sql).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'login_etl_writer') THEN
    CREATE ROLE login_etl_writer LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  EXECUTE pg_catalog.format('GRANT CONNECT ON DATABASE %I TO login_etl_writer', pg_catalog.current_database());
END
$$;

-- PostgreSQL 14 and older let every role (PUBLIC) create objects in schema public, so the writer could plant a
-- function or operator there (a public.count(varchar), say) that other roles' queries would pick up and run with
-- their privileges. PostgreSQL 15 and later no longer grant it; take it away on older servers too. (Run by a role
-- that does not own schema public, this only warns; its owner or a superuser must run it then.)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO login_etl_writer;
-- Rows go in; nothing is read back, updated or deleted.
GRANT INSERT ON user_logins TO login_etl_writer;
-- The idempotency ledger: look up and record MessageIds, prune old ones.
GRANT SELECT, INSERT, DELETE ON login_etl_ledger TO login_etl_writer;

-- Read-only role for analysts: the table and the duplicate views, nothing else.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'login_etl_analyst') THEN
    CREATE ROLE login_etl_analyst NOLOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO login_etl_analyst;
GRANT SELECT ON user_logins, login_etl_shared_ips, login_etl_shared_devices TO login_etl_analyst;
GRANT EXECUTE ON FUNCTION login_etl_app_version(integer) TO login_etl_analyst;
