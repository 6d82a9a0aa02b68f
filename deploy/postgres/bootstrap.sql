-- Creates the roles and the database the service uses. Run once per environment as a superuser:
--
--   psql -v owner_password=... -v runtime_password=... -v database=app -f deploy/postgres/bootstrap.sql
--
-- app_owner   owns the schema and runs the migrations (ConnectionStrings:PostgresMigrations).
-- app_runtime is what the service connects as (ConnectionStrings:Postgres): it owns nothing, is not a
--             superuser, cannot bypass row-level security, and only gets DML on the tables the owner creates.
-- app_lookup  (no login) owns the pre-tenant lookup functions the migrations create.
-- The test fixtures run this same file (tests/App.Testing/Database.cs), with the variables substituted.

SELECT 'CREATE ROLE app_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ' || quote_literal(:'owner_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_owner')\gexec
SELECT 'CREATE ROLE app_runtime LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ' || quote_literal(:'runtime_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime')\gexec
-- app_lookup owns the few lookups that must run before the tenant is known (a refresh token's tenant, say).
-- It cannot log in; it only lends its BYPASSRLS to those SECURITY DEFINER functions, which return one value each.
SELECT 'CREATE ROLE app_lookup NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_lookup')\gexec
GRANT app_lookup TO app_owner;
SELECT format('CREATE DATABASE %I OWNER app_owner', :'database')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database')\gexec

\connect :database

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO app_owner, app_runtime;
CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION app_owner;
GRANT USAGE ON SCHEMA app TO app_runtime, app_lookup;
-- Needed to own the lookup functions in the schema (PostgreSQL requires it of a function owner).
GRANT CREATE ON SCHEMA app TO app_lookup;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_runtime;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT USAGE, SELECT ON SEQUENCES TO app_runtime;
