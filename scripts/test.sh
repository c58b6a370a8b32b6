#!/usr/bin/env bash
# Runs every test: lint, then unit, integration (SQLite and the real PostgreSQL, Redis between processes)
# and browser tests (Chromium). Arguments go to pytest (e.g. `bash scripts/test.sh -m "not browser"`).
# pytest runs on HALLQ_TEST_WORKERS processes (pytest-xdist, default 2; docs/testing.md): one per core; the
# servers and browsers the tests start need the rest. `-n 0` in the arguments: one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test

# The tests need the real PostgreSQL and Redis, and Chromium: a missing one is an error here, never a skip.
# This machine kind starts PostgreSQL and Redis before a session; one that stopped is started again (as root).
answers() {
  .venv/bin/python -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3).close()" "$1" \
    2>/dev/null
}
wait_for() {  # name port
  for _ in $(seq 1 30); do
    answers "$2" && return 0
    sleep 1
  done
  echo "error: $1 is not answering on 127.0.0.1:$2; the tests need it (see docs/testing.md)" >&2
  exit 1
}
if ! answers 5432 && [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
  echo "PostgreSQL is not answering; starting it..." >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
wait_for PostgreSQL 5432
if ! answers 6379 && command -v redis-server >/dev/null; then
  echo "Redis is not answering; starting it..." >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
wait_for Redis 6379
# Every test server holds a few PostgreSQL connections; a server shared with other runs can run out of them
# ("too many clients"), which then fails tests that have nothing wrong. Say so up front, clearly.
.venv/bin/python - <<'PY' || exit 1
import os, sys
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
url = os.environ.get("HALLQ_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
NEED = 15 * max(1, int(os.environ.get("HALLQ_TEST_WORKERS", "2")))  # per worker: the peak, with room to spare
try:
    with create_engine(url, poolclass=NullPool).connect() as conn:
        limit = int(conn.execute(text("SHOW max_connections")).scalar_one())
        used = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
except Exception as e:  # noqa: BLE001
    sys.exit(f"error: cannot use PostgreSQL at {url}: {str(e).splitlines()[0]}")
if limit - used < NEED:
    print(f"warning: PostgreSQL has {limit - used} of its {limit} connections free and the suite may use {NEED};"
          " other runs on this server can make tests fail with 'too many clients'", file=sys.stderr)
PY
if ! /usr/bin/chromium --version >/dev/null 2>&1; then
  echo "error: /usr/bin/chromium does not run; the browser tests need it (sudo bash scripts/bootstrap.sh test)" >&2
  exit 1
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
.venv/bin/python -m pytest -n "${HALLQ_TEST_WORKERS:-2}" --dist worksteal "$@"
