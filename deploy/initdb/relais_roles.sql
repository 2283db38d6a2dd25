-- Relais's two roles, made when compose's db service first starts on an empty volume: the official image runs
-- /docker-entrypoint-initdb.d/*.sql with psql, as the superuser, in POSTGRES_DB. The superuser's password stays
-- with the db service; migrate and roles connect as relais_owner, the app replicas as relais_app.
--
--   relais_owner  owns the database and its public schema: runs the migrations and queries/sql/postgresql_roles.sql
--   relais_app    logs in and nothing more, until postgresql_roles.sql grants it the tables it needs
--
-- Safe to run again, e.g. after changing a password in .env:
--   docker compose exec db psql -v ON_ERROR_STOP=1 -U postgres -d relais -f /docker-entrypoint-initdb.d/relais_roles.sql

\set ON_ERROR_STOP on
-- From the environment, not the command line, so that no process listing shows them.
\getenv owner_password RELAIS_OWNER_PASSWORD
\getenv app_password RELAIS_APP_PASSWORD
\if :{?owner_password}
\else
    \set owner_password ''
\endif
\if :{?app_password}
\else
    \set app_password ''
\endif

-- Two different passwords of 16 distinct characters or more, as for the other secrets.
SELECT (SELECT count(DISTINCT letter) FROM regexp_split_to_table(:'owner_password', '') AS letter) >= 16
       AND (SELECT count(DISTINCT letter) FROM regexp_split_to_table(:'app_password', '') AS letter) >= 16
       AND :'owner_password' <> :'app_password' AS passwords_usable \gset
\if :passwords_usable
\else
    DO $$ BEGIN RAISE EXCEPTION 'RELAIS_OWNER_PASSWORD and RELAIS_APP_PASSWORD must be two different passwords of '
        '16 distinct characters or more: python -c "import secrets; print(secrets.token_urlsafe(32))"'; END $$;
\endif

SELECT 'CREATE ROLE relais_owner' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_owner') \gexec
SELECT 'CREATE ROLE relais_app' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_app') \gexec
ALTER ROLE relais_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
ALTER ROLE relais_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';

SELECT format('ALTER DATABASE %I OWNER TO relais_owner', current_database()) \gexec
ALTER SCHEMA public OWNER TO relais_owner;
-- Only the owner, and those postgresql_roles.sql names (relais_app), may connect or make temporary tables.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
