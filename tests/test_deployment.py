"""The deployment files, checked as far as this machine can (no Docker daemon or compose plugin here): the
Dockerfile by hadolint-style rules, .dockerignore as Docker matches it, compose.yaml by what several replicas need
and which service holds which secret, the nginx configuration by its affinity. (tests/test_compose_database.py
replays compose's database services; tests/test_nginx.py serves the nginx configuration.)"""

from __future__ import annotations

import re
import subprocess
from posixpath import normpath

import pytest
import yaml

from dashboard.settings import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
NGINX = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
HEALTH = "/_stcore/health"


def _named(keyword: str) -> list[str]:
    return [line for line in INSTRUCTIONS if line.split()[0].upper() == keyword]


def test_the_image_is_debian_slim_pinned_and_runs_unprivileged():
    (base,) = _named("FROM")
    assert re.fullmatch(r"FROM python:3\.11-slim-bookworm", base)  # a pinned tag, never :latest (DL3007)
    users = _named("USER")
    assert users and users[-1] not in ("USER root", "USER 0")  # DL3002: the last USER is not root
    assert INSTRUCTIONS.index(users[-1]) < INSTRUCTIONS.index(_named("ENTRYPOINT")[0])
    assert not _named("ADD")  # DL3020: COPY, not ADD
    assert all("--no-cache-dir" in line for line in _named("RUN") if "pip install" in line)  # DL3042
    assert all(line.split(None, 1)[1].startswith("[") for line in _named("ENTRYPOINT") + _named("CMD"))  # DL3025
    assert not any("sudo" in line for line in _named("RUN"))  # DL3004


def test_the_image_checks_its_health_serves_on_the_containers_network_and_leaves_migrations_out():
    (health,) = _named("HEALTHCHECK")
    assert HEALTH in health and "8501" in health
    assert not any("secrets.toml" in line for line in _named("COPY"))
    assert '"-m", "dashboard"' in _named("ENTRYPOINT")[0]
    # The container's port is reached through nginx only; its database role may not migrate (compose's migrate does).
    assert _named("CMD") == ['CMD ["serve", "--address", "0.0.0.0", "--port", "8501", "--no-upgrade"]']


def dockerignore_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore as Docker reads them: comments and blanks dropped, each cleaned, no leading /."""
    patterns = []
    for line in text.splitlines():
        pattern = line.strip()
        if not pattern or line.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = normpath(pattern.removeprefix("!").strip()).removeprefix("/")
        patterns.append("!" + pattern if negated else pattern)
    return patterns


def _pattern_expression(pattern: str) -> re.Pattern:
    """A pattern as moby/patternmatcher compiles it: Go's filepath.Match within a segment, `**` across segments."""
    expression, index = "^", 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            index += 2
            index += pattern.startswith("/", index)
            expression += ".*" if index == len(pattern) else "(.*/)?"
            continue
        character = pattern[index]
        if character == "*":
            expression += "[^/]*"
        elif character == "?":
            expression += "[^/]"
        elif character == "\\" and index + 1 < len(pattern):
            index += 1
            expression += re.escape(pattern[index])
        elif character in "[]":
            expression += character
        else:
            expression += re.escape(character)
        index += 1
    return re.compile(expression + "$")


def docker_ignores(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves a path of the build context out (patternmatcher's MatchesOrParentMatches): the last
    pattern that matches the path or one of its parent folders decides, `!` bringing it back."""
    parts = path.split("/")
    candidates = ["/".join(parts[:length]) for length in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if negated != ignored:
            continue
        expression = _pattern_expression(pattern.removeprefix("!"))
        if any(expression.match(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


# Docker's documented examples (docs.docker.com, "Dockerignore files"), which the matcher must reproduce.
@pytest.mark.parametrize(
    ("pattern", "path", "ignored"),
    [("*/temp*", "somedir/temporary.txt", True), ("*/temp*", "somedir/temp", True), ("*/temp*", "temp", False),
     ("*/temp*", "a/b/temp.txt", False), ("*/*/temp*", "somedir/subdir/temporary.txt", True),
     ("temp?", "tempa", True), ("temp?", "tempab", False), ("**/*.go", "a/b/c.go", True), ("**/*.go", "c.go", True),
     ("secrets*.toml", "dashboard/.streamlit/secrets.toml", False), ("data", "data/relais.db", True),
     ("**/data", "dashboard/data/x.csv", True), ("**/data", "dashboard/demo/data.py", False)],
)
def test_the_matcher_reads_patterns_as_docker_does(pattern, path, ignored):
    assert docker_ignores(path, dockerignore_patterns(pattern)) is ignored


SECRET_LIKE = (
    "secrets.toml", "secrets.prod.toml", ".streamlit/secrets.toml", "dashboard/.streamlit/secrets.toml",
    "pages/.streamlit/secrets.toml", "deploy/secrets.toml", ".env", ".env.production", "deploy/.env",
    "dashboard/.env", "deploy/tls/key.pem", "deploy/tls/certificate.pem", "server.key", "auth/keys/signing.key",
    "data/relais.db", "data/imports/interventions.csv", "dashboard/data/interventions.csv", "relais.db",
    "queries/relais.db-wal", "import/interventions.csv", ".git/config", ".venv/bin/python", "tests/conftest.py",
)


def test_no_secret_like_file_reaches_the_image_and_everything_copied_does():
    patterns = dockerignore_patterns((PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8"))
    assert [path for path in SECRET_LIKE if not docker_ignores(path, patterns)] == []
    copied = [line.split()[1:-1] for line in _named("COPY")]
    sources = [source for line in copied for source in line]
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    needed = [path for path in tracked if any(path == source or path.startswith(source + "/") for source in sources)]
    assert len(needed) > 100 and "dashboard/app.py" in needed and ".streamlit/config.toml" in needed
    assert [path for path in needed if docker_ignores(path, patterns)] == []


def test_compose_runs_two_replicas_on_one_postgresql_after_one_migration_and_the_roles():
    services = COMPOSE["services"]
    assert set(services) == {"db", "migrate", "roles", "app", "ingest", "cli", "owner", "nginx"}
    assert services["cli"]["profiles"] == ["cli"] and services["owner"]["profiles"] == ["owner"]  # on demand only
    # A command waits for the grants, not only for the server: relais_app may touch nothing before roles has run.
    for name in ("app", "ingest", "cli", "owner"):
        assert services[name]["depends_on"] == {"roles": {"condition": "service_completed_successfully"}}, name
    assert services["app"]["deploy"]["replicas"] == 2
    assert services["app"]["depends_on"]["roles"]["condition"] == "service_completed_successfully"
    assert services["roles"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["init-db"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    # Healthy once the server listens on TCP, which it does only after the first start's scripts.
    assert services["db"]["healthcheck"]["test"][:4] == ["CMD", "pg_isready", "-h", "127.0.0.1"]
    assert services["db"]["volumes"][0] == "pgdata:/var/lib/postgresql/data" and "pgdata" in COMPOSE["volumes"]
    assert "./deploy/initdb:/docker-entrypoint-initdb.d:ro" in services["db"]["volumes"]
    assert services["roles"]["image"] == services["db"]["image"] and services["roles"]["user"] == "postgres"
    logins = {name: service["environment"].get("DATABASE_URL", "") for name, service in services.items()
              if "environment" in service}
    assert {name: re.sub(r"^postgresql\+psycopg://([^@:]+)@db:5432/relais$", r"\1", url)
            for name, url in logins.items() if url} == {"migrate": "relais_owner", "app": "relais_app",
                                                        "ingest": "relais_app", "cli": "relais_app",
                                                        "owner": "relais_owner"}
    assert services["roles"]["environment"]["PGUSER"] == "relais_owner"
    assert HEALTH in " ".join(services["app"]["healthcheck"]["test"])
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf" in services["nginx"]["volumes"][0]


def test_compose_runs_the_drop_folder_watcher_on_its_volume_and_restarts_it():
    ingest = COMPOSE["services"]["ingest"]
    assert ingest["command"] == ["ingest", "/srv/relais/drop"]  # watching: no --once
    assert "profiles" not in ingest  # started with the rest, not on demand
    assert ingest["volumes"] == ["drop:/srv/relais/drop"] and "drop" in COMPOSE["volumes"]
    assert ingest["restart"] == "unless-stopped"
    # It finishes the file under way on SIGTERM: more time than compose's 10 s default before SIGKILL.
    assert int(ingest["stop_grace_period"].removesuffix("s")) >= 30
    # The image's health check asks the app's port, which the watcher never opens.
    assert ingest["healthcheck"] == {"disable": True}
    # The image's user owns the mount point, so that a fresh named volume is writable by it.
    assert any("install -d -o relais" in line and "/srv/relais/drop" in line for line in _named("RUN"))


def test_the_systemd_unit_runs_the_watcher_unprivileged_and_confined():
    unit = (PROJECT_ROOT / "deploy" / "relais-ingest.service").read_text(encoding="utf-8")
    settings = dict(line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["ExecStart"].endswith("-m dashboard ingest /srv/relais/drop")
    assert settings["User"] == "relais" and settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict" and settings["ReadWritePaths"] == "/srv/relais/drop"
    assert settings["EnvironmentFile"].startswith("/etc/relais/") and settings["KillSignal"] == "SIGTERM"
    assert settings["Restart"] == "on-failure" and settings["PrivateTmp"] == "yes"


def _variables(value) -> set[str]:
    """The .env variables a piece of compose.yaml interpolates."""
    return set(re.findall(r"\$\{(\w+)", yaml.safe_dump(value)))


def test_each_service_gets_only_the_secrets_it_needs():
    services = COMPOSE["services"]
    assert {name: _variables(service) for name, service in services.items()} == {
        # The superuser's password is the db service's alone; it sets the two roles' passwords on the first start.
        "db": {"POSTGRES_PASSWORD", "RELAIS_OWNER_PASSWORD", "RELAIS_APP_PASSWORD"},
        "migrate": {"RELAIS_OWNER_PASSWORD"},
        "roles": {"RELAIS_OWNER_PASSWORD"},
        # The replicas pseudonymise the subject keys of an upload and of a worker's hand entry; never the audit key.
        "app": {"RELAIS_APP_PASSWORD", "RELAIS_PSEUDONYM_KEYS", "RELAIS_STALE_HOURS", "RELAIS_UNCONFIRMED_DAYS",
                "RELAIS_UPLOAD_MAX_MB"},
        "cli": {"RELAIS_APP_PASSWORD", "RELAIS_PSEUDONYM_KEYS"},
        # The drop folder imports (pseudonym keys) and e-mails the administrators a failed file (the SMTP relay).
        "ingest": {"RELAIS_APP_PASSWORD", "RELAIS_PSEUDONYM_KEYS", "RELAIS_INGEST_SKIP_INVALID", "RELAIS_ADMIN_EMAILS",
                   "RELAIS_SMTP_URL", "RELAIS_ALERT_FROM", "RELAIS_STALE_HOURS", "RELAIS_APP_URL"},
        # Retention, rekey and checkpoints: the owner's commands, the only ones that sign with the audit key.
        "owner": {"RELAIS_OWNER_PASSWORD", "RELAIS_AUDIT_KEY", "RELAIS_PSEUDONYM_KEYS", "RELAIS_NEW_PSEUDONYM_KEY"},
        "nginx": {"RELAIS_TLS_CERTIFICATE", "RELAIS_TLS_KEY"},
    }
    # Passwords and keys come from the operator's .env, never from this file.
    assert all(value.startswith("${") for service in services.values()
               for name, value in service.get("environment", {}).items() if "PASSWORD" in name or "KEY" in name)
    assert {name: service.get("secrets") for name, service in services.items() if service.get("secrets")} == {
        "app": ["relais_secrets"]}
    assert COMPOSE["secrets"]["relais_secrets"]["file"] == "./secrets.toml"


def test_only_nginx_is_published_and_it_has_the_certificate_its_configuration_names():
    services = COMPOSE["services"]
    assert {name: service["ports"] for name, service in services.items() if "ports" in service} == {
        "nginx": ["80:80", "443:443"]}
    mounted = {volume.rsplit(":", 2)[1] for volume in services["nginx"]["volumes"]}  # source:target:ro
    named = set(re.findall(r"^\s*ssl_certificate(?:_key)? (\S+);", NGINX, re.M))
    assert named == {"/etc/nginx/tls/certificate.pem", "/etc/nginx/tls/key.pem"} and named <= mounted
    # proxy_cookie_flags needs nginx 1.19.3 or later.
    version = re.fullmatch(r"nginx:(\d+)\.(\d+)-bookworm", services["nginx"]["image"])
    assert version and (int(version[1]), int(version[2])) >= (1, 19)


def test_nginx_keeps_each_browser_on_one_replica_over_a_websocket():
    upstream = re.search(r"upstream relais \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(r"^\s*(ip_hash|hash \S+ consistent);", upstream, re.M)  # session affinity
    assert "server app:8501;" in upstream
    assert "proxy_http_version 1.1;" in NGINX
    assert "proxy_set_header Upgrade $http_upgrade;" in NGINX
    assert "proxy_set_header Connection $connection_upgrade;" in NGINX
    assert re.search(r"proxy_read_timeout \d+s;", NGINX)
    assert f"location = {HEALTH}" in NGINX


def test_nginx_lets_through_the_largest_upload_the_data_page_accepts(monkeypatch):
    """A file the page accepts must not be cut off by the proxy in front of it (a 413 the page cannot explain)."""
    monkeypatch.delenv("RELAIS_UPLOAD_MAX_MB", raising=False)
    from dashboard import settings

    limit = re.search(r"client_max_body_size\s+(\d+)m;", NGINX).group(1)
    assert settings.upload_max_mb() <= int(limit)
