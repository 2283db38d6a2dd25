#!/usr/bin/env bash
# One command for a newcomer: Python packages in .venv, the schema, the reference data and the demo data.
# Usage: bash setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")"

# Debian's Chromium, for the browser tests (Playwright drives it; it never downloads a browser of its own).
if ! command -v chromium >/dev/null 2>&1; then
    sudo_if_needed=""
    [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    $sudo_if_needed apt-get install -y -qq chromium >/dev/null
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
