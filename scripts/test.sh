#!/usr/bin/env bash
# Runs every test: unit, integration (SQLite and the real PostgreSQL), multi-process (Redis), lint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test

# The tests need the real PostgreSQL and Redis; say so plainly when they are not there (the tests then fail).
.venv/bin/python - <<'PY' || true
import socket
for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        print(f"warning: {name} is not answering on 127.0.0.1:{port}; the tests that need it will fail")
PY

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
