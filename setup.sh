#!/usr/bin/env bash
# One command for a newcomer: Python packages in .venv, the schema, the reference data and the demo data.
# Usage: bash setup.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt

.venv/bin/python -m dashboard init-db
if [ "${1:-}" != "--no-demo" ]; then
    .venv/bin/python -m dashboard demo-data
fi
