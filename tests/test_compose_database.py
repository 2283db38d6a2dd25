"""compose.yaml's database, replayed on the local PostgreSQL as compose would run it (no Docker engine here): the db
service's first-start scripts as the superuser, then migrate and roles with their own environment and commands.
The app replicas' role is then no superuser, cannot run a program or rewrite the audit, and the app still imports,
records and reads; each service's password is the one of its role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from sqlalchemy import create_engine, exc, make_url, text

from dashboard.database import build_engine
from dashboard.scratch import POSTGRES_ADMIN_URL, scratch_postgres_url
from dashboard.settings import PROJECT_ROOT
from queries.audit import record_event, verify_chain
from tests.test_import import ATTEMPT, INTERVENTION, csv_bytes

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
ADMIN = make_url(POSTGRES_ADMIN_URL)
INITDB = "/docker-entrypoint-initdb.d"
# The operator's .env: three different database passwords.
DOTENV = {
    "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
    "RELAIS_OWNER_PASSWORD": secrets.token_urlsafe(32),
    "RELAIS_APP_PASSWORD": secrets.token_urlsafe(32),
    "RELAIS_PSEUDONYM_KEYS": secrets.token_urlsafe(48),
    "RELAIS_AUDIT_KEY": secrets.token_urlsafe(48),
}


def interpolated(value: str, dotenv: dict[str, str]) -> str:
    """A compose value with its ${NAME}, ${NAME:-default} and ${NAME:?message} taken from the .env."""

    def one(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        found = dotenv.get(name, "")
        if operator == ":?" and not found:
            raise KeyError(f"compose refuses to start: {argument}")
        if operator == ":-" and not found:
            return argument
        return found

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def service_environment(service: str, database: str) -> dict[str, str]:
    """A service's environment from compose.yaml, its server `db` and database `relais` moved to the scratch ones."""
    environment = {name: interpolated(str(value), DOTENV)
                   for name, value in SERVICES[service].get("environment", {}).items()}
    if "DATABASE_URL" in environment:
        url = make_url(environment["DATABASE_URL"])
        assert (url.host, url.port, url.database) == ("db", 5432, "relais")
        environment["DATABASE_URL"] = url.set(host=ADMIN.host, port=ADMIN.port, database=database).render_as_string(
            hide_password=False)
    if "PGHOST" in environment:
        assert (environment["PGHOST"], environment["PGDATABASE"]) == ("db", "relais")
        environment.update(PGHOST=ADMIN.host, PGPORT=str(ADMIN.port), PGDATABASE=database)
    # A container has no more than its image's PATH and what compose gives it.
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8", **environment}


def mounts(service: str) -> dict[str, Path]:
    """Each path a service mounts in its container, and the file or folder of this project it comes from."""
    mounted = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounted[target] = PROJECT_ROOT / source
    return mounted


def first_start(database: str) -> None:
    """What the official image does on an empty volume: each script of its init folder, by psql as the superuser."""
    folder = mounts("db")[INITDB]
    environment = service_environment("db", database)
    assert "POSTGRES_USER" not in environment  # the superuser is `postgres`, a role no other service logs in as
    scripts = sorted(folder.glob("*.sql"))
    assert scripts
    for script in scripts:
        done = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--host", ADMIN.host, "--port", str(ADMIN.port),
                               "--username", ADMIN.username, "--no-password", "--no-psqlrc", "--dbname", database,
                               "-f", str(script)], env=environment, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def run_app_image(service: str, database: str, *arguments: str) -> subprocess.CompletedProcess:
    """The app image's entrypoint (python -m dashboard) with the service's command or these arguments."""
    command = list(arguments) or SERVICES[service]["command"]
    return subprocess.run([sys.executable, "-m", "dashboard", *command], cwd=PROJECT_ROOT,
                          env=service_environment(service, database), capture_output=True, text=True, timeout=300)


def run_roles(database: str) -> None:
    """The roles service: psql from the database's image on the mounted postgresql_roles.sql."""
    command = [str(mounts("roles").get(part, part)) for part in SERVICES["roles"]["entrypoint"]]
    assert str(PROJECT_ROOT / "queries" / "sql" / "postgresql_roles.sql") in command
    done = subprocess.run(command, env=service_environment("roles", database), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def compose_up(database: str) -> None:
    """db's first start, then migrate, then roles: what `docker compose up` runs before the replicas."""
    first_start(database)
    migrated = run_app_image("migrate", database)
    assert migrated.returncode == 0, migrated.stderr
    run_roles(database)


def scram_matches(verifier: str, password: str) -> bool:
    """Whether a password opens a PostgreSQL SCRAM-SHA-256 verifier (RFC 5802), as the server checks a log-in."""
    scheme, iterations_salt, keys = verifier.split("$")
    assert scheme == "SCRAM-SHA-256"
    iterations, salt = iterations_salt.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))


@pytest.fixture(scope="module")
def composed():
    """A scratch database after `docker compose up`, run twice (a restart applies migrate and roles again)."""
    with scratch_postgres_url() as url:
        database = make_url(url).database
        compose_up(database)
        compose_up(database)
        yield database


@pytest.fixture
def app_engine(composed):
    """The engine an app replica makes from its DATABASE_URL."""
    engine = build_engine(service_environment("app", composed)["DATABASE_URL"])
    yield engine
    engine.dispose()


def test_each_service_logs_in_as_its_own_role_with_its_own_password(composed):
    admin = create_engine(ADMIN.set(database=composed))
    with admin.connect() as connection:
        verifiers = dict(connection.execute(text(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('relais_owner', 'relais_app')")).all())
        owner, public_connects = connection.execute(text(
            "SELECT pg_get_userbyid(datdba), has_database_privilege('public', datname, 'CONNECT')"
            " FROM pg_database WHERE datname = current_database()")).one()
    admin.dispose()
    assert (owner, public_connects) == ("relais_owner", False)
    logins = {service: (make_url(service_environment(service, composed).get("DATABASE_URL", "postgresql://x@y/z"))
                        .username, service_environment(service, composed)["PGPASSWORD"])
              for service in ("migrate", "app", "cli", "owner")}
    logins["roles"] = (service_environment("roles", composed)["PGUSER"], service_environment("roles", composed)[
        "PGPASSWORD"])
    assert {service: role for service, (role, _password) in logins.items()} == {
        "migrate": "relais_owner", "roles": "relais_owner", "app": "relais_app", "cli": "relais_app",
        "owner": "relais_owner"}
    for service, (role, password) in logins.items():
        assert scram_matches(verifiers[role], password), service
        other = "relais_app" if role == "relais_owner" else "relais_owner"
        assert not scram_matches(verifiers[other], password), service
    assert not any(scram_matches(verifier, DOTENV["POSTGRES_PASSWORD"]) for verifier in verifiers.values())


def test_the_app_role_is_no_superuser_and_cannot_run_programs_or_rewrite_the_audit(app_engine):
    with app_engine.connect() as connection:
        assert connection.execute(text(
            "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls,"
            " pg_has_role(current_user, 'pg_execute_server_program', 'USAGE')"
            " FROM pg_roles WHERE rolname = current_user")).one() == (
            "relais_app", False, False, False, False, False, False)
    refused = {
        "COPY (SELECT 1) TO PROGRAM 'id > /tmp/relais-owned'": "pg_execute_server_program",
        "COPY audit_event TO '/tmp/relais-audit.csv'": "pg_write_server_files",
        "UPDATE audit_event SET subject = 'mallory'": "permission denied for table audit_event",
        "DELETE FROM audit_event": "permission denied for table audit_event",
        "TRUNCATE audit_event": "permission denied for table audit_event",
        "ALTER TABLE audit_event DISABLE TRIGGER ALL": "must be owner of table audit_event",
        "SET session_replication_role = replica": "permission denied to set parameter",
        "CREATE TABLE mallory (x int)": "permission denied for schema public",
        "ALTER ROLE relais_app SUPERUSER": "permission denied|must be superuser",
        "CREATE ROLE mallory": "permission denied to create role",
    }
    for statement, reason in refused.items():
        with pytest.raises(exc.DBAPIError, match=reason), app_engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert not Path("/tmp/relais-owned").exists()


def test_the_app_still_imports_records_and_reads_as_its_role(composed, app_engine, tmp_path):
    interventions, outreach = tmp_path / "interventions.csv", tmp_path / "outreach.csv"
    interventions.write_bytes(csv_bytes([INTERVENTION]))
    outreach.write_bytes(csv_bytes([ATTEMPT]))
    for kind, path in (("interventions", interventions), ("outreach", outreach)):
        # As compose's cli service runs an import: `docker compose run --rm cli import ...`.
        done = run_app_image("cli", composed, "import", kind, str(path), "--service", "RIPRSL")
        assert done.returncode == 0, done.stderr
    read = run_app_image("app", composed, "metrics", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
    assert read.returncode == 0, read.stderr
    document = json.loads(read.stdout)
    assert (document["interventions"]["total"], document["outreach"]["cohort"]) == (1, 1)
    # A replica records sign-ins and views; the chain holds the commands' rows and these.
    record_event(app_engine, subject="alice", roles=("captain",), services="RIPRSL", action="view", page="overview")
    check = verify_chain(app_engine)
    assert check.broken_id is None and check.rows >= 4


def test_the_owner_service_signs_a_checkpoint_the_replicas_could_not(composed):
    assert "RELAIS_AUDIT_KEY" not in service_environment("app", composed)
    assert "RELAIS_AUDIT_KEY" not in service_environment("cli", composed)
    refused = run_app_image("app", composed, "audit", "checkpoint")
    assert refused.returncode == 2 and "RELAIS_AUDIT_KEY" in refused.stderr
    # `docker compose run --rm owner audit checkpoint`, as relais_owner with the key.
    signed = run_app_image("owner", composed, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    verified = run_app_image("owner", composed, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert service_environment("owner", composed)["RELAIS_AUDIT_KEY"] == DOTENV["RELAIS_AUDIT_KEY"]


@pytest.mark.parametrize(
    ("owner", "app"),
    [("", "x"), ("short", secrets.token_urlsafe(32)), ("same-" + "0123456789abcdef" * 2,) * 2],
)
def test_the_first_start_refuses_missing_weak_or_shared_passwords(owner, app):
    with scratch_postgres_url() as url:
        database = make_url(url).database
        # Compose refuses an empty one; someone running the script again by hand may not have it set at all.
        environment = {**service_environment("db", database), "RELAIS_OWNER_PASSWORD": owner,
                       "RELAIS_APP_PASSWORD": app}
        if not owner:
            del environment["RELAIS_OWNER_PASSWORD"]
        script = sorted(mounts("db")[INITDB].glob("*.sql"))[0]
        done = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--host", ADMIN.host, "--port", str(ADMIN.port),
                               "--username", ADMIN.username, "--no-password", "--no-psqlrc", "--dbname", database,
                               "-f", str(script)], env=environment, capture_output=True, text=True, timeout=60)
        assert done.returncode == 3
        assert "two different passwords of 16 distinct characters" in done.stderr
        assert "secrets.token_urlsafe" in done.stderr
        # The volume is initialised all the same: the refusal says that fixing .env is not enough.
        assert "docker compose down -v" in done.stderr and "run this script by hand" in done.stderr


def test_compose_names_the_container_paths_this_replay_maps():
    assert mounts("db") == {INITDB: PROJECT_ROOT / "deploy" / "initdb"}
    roles_file = PurePosixPath(SERVICES["roles"]["entrypoint"][-1])
    assert mounts("roles") == {str(roles_file): PROJECT_ROOT / "queries" / "sql" / "postgresql_roles.sql"}


# The README's upgrade of a volume made by the earlier compose, whose POSTGRES_USER `relais` was the cluster's bootstrap
# superuser and owns every table. REASSIGN OWNED BY that role is refused ("required by the database system"), so each
# object of the public schema is given to relais_owner by name, by the role that owns it.
OWNERSHIP_TO_OWNER = """\
SELECT format('ALTER TABLE %s OWNER TO relais_owner', c.oid::regclass) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND c.relowner = current_user::regrole \\gexec
SELECT format('ALTER SEQUENCE %s OWNER TO relais_owner', c.oid::regclass) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND c.relowner = current_user::regrole \\gexec
SELECT format('ALTER ROUTINE %s OWNER TO relais_owner', p.oid::regprocedure) FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = current_user::regrole \\gexec
SELECT format('ALTER TYPE %s OWNER TO relais_owner', t.oid::regtype) FROM pg_type t
 WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
   AND t.typowner = current_user::regrole \\gexec
"""


def psql_as(role: str, database: str, script: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """psql on the scratch database as this role, as `docker compose exec db psql -U role` runs it."""
    return subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--host", ADMIN.host, "--port", str(ADMIN.port),
                           "--username", role, "--no-password", "--no-psqlrc", "--dbname", database, "-f",
                           str(script)], env=environment, capture_output=True, text=True, timeout=120)


def test_reassign_owned_by_the_bootstrap_superuser_is_refused():
    # The earlier compose's `relais` was what `postgres` is here: the role initdb made.
    admin = create_engine(ADMIN)
    with admin.connect() as connection:
        bootstrap = connection.execute(text("SELECT rolname FROM pg_roles WHERE oid = 10")).scalar_one()
        with pytest.raises(exc.DBAPIError, match="required by the database system"):
            connection.exec_driver_sql(f'REASSIGN OWNED BY "{bootstrap}" TO pg_monitor')
    admin.dispose()


def test_a_volume_of_the_earlier_compose_upgrades_to_the_owner_and_app_roles(tmp_path):
    old = f"relais_earlier_{secrets.token_hex(4)}"  # the earlier compose's POSTGRES_USER, `relais`
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {old} LOGIN SUPERUSER")
    try:
        with scratch_postgres_url() as url:
            database = make_url(url).database
            with create_engine(ADMIN.set(database=database), isolation_level="AUTOCOMMIT").connect() as connection:
                connection.exec_driver_sql(f'ALTER DATABASE "{database}" OWNER TO {old}')
                connection.exec_driver_sql(f"ALTER SCHEMA public OWNER TO {old}")
            # The earlier compose: init-db and an import as its superuser; the initdb scripts never ran.
            earlier = {**service_environment("migrate", database), "DATABASE_URL": ADMIN.set(
                username=old, password=None, database=database).render_as_string(hide_password=False),
                       "RELAIS_PSEUDONYM_KEYS": DOTENV["RELAIS_PSEUDONYM_KEYS"]}
            interventions = tmp_path / "interventions.csv"
            interventions.write_bytes(csv_bytes([INTERVENTION]))
            for command in (["init-db"], ["import", "interventions", str(interventions), "--service", "RIPRSL"]):
                done = subprocess.run([sys.executable, "-m", "dashboard", *command], cwd=PROJECT_ROOT, env=earlier,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stderr
            # The upgrade, as the README says: the roles script, then the objects to relais_owner, both as `relais`.
            roles_script = sorted(mounts("db")[INITDB].glob("*.sql"))[0]
            done = psql_as(old, database, roles_script, service_environment("db", database))
            assert done.returncode == 0, done.stderr
            ownership = tmp_path / "ownership.sql"
            ownership.write_text(OWNERSHIP_TO_OWNER, encoding="utf-8")
            done = psql_as(old, database, ownership, service_environment("db", database))
            assert done.returncode == 0, done.stderr
            # Then `docker compose up`: migrate as the owner, the roles service, the replicas as relais_app.
            migrated = run_app_image("migrate", database)
            assert migrated.returncode == 0, migrated.stderr
            run_roles(database)
            with create_engine(ADMIN.set(database=database)).connect() as connection:
                left = connection.execute(text(
                    "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                    " AND pg_get_userbyid(relowner) <> 'relais_owner'")).scalar_one()
                owned = connection.execute(text(
                    "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                    " AND relkind = 'r' AND pg_get_userbyid(relowner) = 'relais_owner'")).scalar_one()
                functions = connection.execute(text(
                    "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
                    " AND pg_get_userbyid(proowner) <> 'relais_owner'")).scalar_one()
            assert (left, functions) == (0, 0) and owned >= 10
            app = build_engine(service_environment("app", database)["DATABASE_URL"])
            try:
                with pytest.raises(exc.DBAPIError, match="permission denied for table audit_event"), \
                        app.begin() as connection:
                    connection.exec_driver_sql("DELETE FROM audit_event")
                record_event(app, subject="alice", roles=("captain",), services="RIPRSL", action="view",
                             page="overview")
                check = verify_chain(app)
                assert check.broken_id is None and check.rows >= 4
            finally:
                app.dispose()
            read = run_app_image("app", database, "metrics", "--from", "2024-05-01", "--to", "2024-05-31", "--json")
            assert read.returncode == 0, read.stderr
            assert json.loads(read.stdout)["interventions"]["total"] == 1
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {old}")
        admin.dispose()
