-- Relais on PostgreSQL: who may do what.
--
--   relais_owner  owns the schema and runs the migrations (`python -m dashboard init-db` with its URL);
--   relais_app    is what the app and the commands connect as: it reads and writes the data tables, and may only
--                 SELECT and INSERT the audit table: no UPDATE, DELETE or TRUNCATE, and, not owning the table, it
--                 cannot drop or disable the triggers that refuse them either; the same for destruction records.
--
-- Run as a superuser (or a role with CREATEROLE) in Relais's database, after each `init-db` (it is idempotent):
--   psql -v ON_ERROR_STOP=1 -d relais -f queries/sql/postgresql_roles.sql
-- then give both roles a password (ALTER ROLE relais_app PASSWORD '...') unless the server authenticates otherwise.
-- The database itself: CREATE DATABASE relais OWNER relais_owner;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_owner') THEN
        CREATE ROLE relais_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_app') THEN
        CREATE ROLE relais_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO relais_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO relais_app;
REVOKE CREATE ON SCHEMA public FROM relais_app;
-- Before PostgreSQL 15 every role could create objects in public: not here.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM relais_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO relais_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO relais_app;

-- Append-only, by privilege as well as by trigger.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event FROM relais_app;
-- Destruction records are written by `retention`, run as relais_owner: the app can neither forge nor change one.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON destruction_record FROM relais_app;
-- The schema's version is the migrations' business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM relais_app;
