-- Relais's two roles, made when compose's db service first starts on an empty volume: the official image runs
-- /docker-entrypoint-initdb.d/*.sql with psql, as the superuser, in POSTGRES_DB. The superuser's password stays
-- with the db service; migrate and roles connect as relais_owner, the app replicas as relais_app.
--
--   relais_owner  owns the database and its public schema: runs the migrations and queries/sql/postgresql_roles.sql
--   relais_app    logs in and nothing more, until postgresql_roles.sql grants it the tables it needs
--
-- The image runs this script only when it initialises an EMPTY volume; on a volume that holds a cluster already it
-- never runs, whatever .env says. Run it by hand in these cases (it is safe to run again), as the cluster's superuser:
--   docker compose exec db psql -v ON_ERROR_STOP=1 -U postgres -d relais -f /docker-entrypoint-initdb.d/relais_roles.sql
--
-- * A first start refused here (weak, missing or shared passwords) still leaves an initialised volume, with no
--   relais_owner or relais_app: the next start skips this script, and migrate cannot log in. Fixing .env is not
--   enough. On a volume that holds no data yet: `docker compose down -v`, then `docker compose up -d --build`;
--   otherwise fix .env, `docker compose up -d db`, and run the command above.
-- * A volume made by the earlier compose (POSTGRES_USER was relais) has no `postgres` role: its superuser is relais,
--   which owns every table, so `-U postgres` fails there and the tables stay out of relais_owner's reach. Run this
--   script with `-U relais`, then, as relais, give relais_owner each object of the public schema (REASSIGN OWNED BY
--   relais is refused: relais is the cluster's bootstrap superuser), then `docker compose up -d --build` (migrate and
--   the roles service). The README's "Upgrading from the earlier compose" gives the commands;
--   tests/test_compose_database.py replays them.

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
        '16 distinct characters or more: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        USING HINT = 'The volume is initialised all the same and the next start skips this script: after fixing .env, '
            'docker compose down -v (a volume with no data yet), or run this script by hand as its header says.';
    END $$;
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
