#!/usr/bin/env bash
# One command for a newcomer: Python packages in .venv, the schema, the reference data and the demo data.
# Usage: bash setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")"

# Debian's Chromium, for the browser tests (Playwright drives it; it never downloads a browser of its own), and
# nginx, which `benchmark load --replicas` (and its test) puts in front of several app processes, and openssl, whose
# command the TLS tests and deploy/self-signed-certificate.sh run.
has_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
if ! command -v chromium >/dev/null 2>&1 || ! has_nginx || ! command -v openssl >/dev/null 2>&1; then
    sudo_if_needed=""
    [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    # The benchmark runs its own nginx on 127.0.0.1 with its own configuration; on a host with systemd, Debian also
    # starts its default site on port 80 (`systemctl disable --now nginx` if that is not wanted).
    $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx-light openssl >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
# The project itself, editable: `streamlit run dashboard/app.py` then finds dashboard, queries and auth from anywhere.
.venv/bin/python -m pip install --quiet --no-deps -e .

.venv/bin/python -m dashboard init-db
if [ "${1:-}" != "--no-demo" ]; then
    .venv/bin/python -m dashboard demo-data
fi
