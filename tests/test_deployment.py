"""The deployment files, checked as far as this machine can (no Docker daemon or compose plugin here): the
Dockerfile by hadolint-style rules, compose.yaml and the nginx configuration by what several replicas need."""

from __future__ import annotations

import re

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


def test_the_image_checks_its_health_and_holds_no_secret():
    (health,) = _named("HEALTHCHECK")
    assert HEALTH in health and "8501" in health
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for private in (".streamlit/secrets.toml", "data", ".venv", ".git"):
        assert private in ignored
    assert not any("secrets.toml" in line for line in _named("COPY"))
    assert "serve" in _named("CMD")[0] and '"-m", "dashboard"' in _named("ENTRYPOINT")[0]


def test_compose_runs_two_replicas_on_one_postgresql_after_one_migration():
    services = COMPOSE["services"]
    assert set(services) == {"db", "migrate", "app", "nginx"}
    assert services["app"]["deploy"]["replicas"] == 2
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["init-db"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"] and "pgdata" in COMPOSE["volumes"]
    environment = services["app"]["environment"]
    url = environment["DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@db:5432/" in url
    # Passwords and keys come from the operator's .env, never from this file.
    assert "${POSTGRES_PASSWORD" in services["db"]["environment"]["POSTGRES_PASSWORD"]
    assert environment["RELAIS_PSEUDONYM_KEYS"].startswith("${")
    assert services["app"]["secrets"] == ["relais_secrets"] and COMPOSE["secrets"]["relais_secrets"]["file"]
    assert HEALTH in " ".join(services["app"]["healthcheck"]["test"])
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf" in services["nginx"]["volumes"][0]


def test_nginx_keeps_each_browser_on_one_replica_over_a_websocket():
    upstream = re.search(r"upstream relais \{(.*?)\}", NGINX, re.S).group(1)
    assert re.search(r"^\s*(ip_hash|hash \S+ consistent);", upstream, re.M)  # session affinity
    assert "server app:8501;" in upstream
    assert "proxy_http_version 1.1;" in NGINX
    assert "proxy_set_header Upgrade $http_upgrade;" in NGINX
    assert "proxy_set_header Connection $connection_upgrade;" in NGINX
    assert re.search(r"proxy_read_timeout \d+s;", NGINX)
    assert f"location = {HEALTH}" in NGINX
