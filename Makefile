# The README's commands. Each installs what it needs first (scripts/bootstrap.sh).
.PHONY: demo test check lint bench bench-hotpath bench-scale vendor

PORT ?= 5000

demo:
	bash scripts/bootstrap.sh
	.venv/bin/hallq demo --port $(PORT)

test:
	bash scripts/test.sh

# The quick tier for developers (docs/testing.md): lint, types, the unit tests and the in-process contract
# tests (no real server, command or browser); under 3 minutes on 2 cores. `make test` (CI) still runs everything.
check: lint
	.venv/bin/python -m pytest -n "$${HALLQ_TEST_WORKERS:-2}" --dist worksteal -m "not real_process" -q $(CHECK_ARGS)

lint:
	bash scripts/bootstrap.sh test
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports --no-cache && .venv/bin/mypy

bench:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m bench

# Refreshes the committed browser libraries from package-lock.json (needs Node; the demo does not).
vendor:
	npm ci --no-audit --no-fund
	python3 scripts/vendor.py

# hallq against the floor (bench/floor.py) in the same run; HOTPATH_ARGS="--quick" for a short one.
bench-hotpath:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m bench hotpath $(HOTPATH_ARGS)

# 1, 2, 4 processes on PostgreSQL + Redis (bench/scale.py); SCALE_ARGS="--quick" or "--async-mode gevent".
bench-scale:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m bench scale $(SCALE_ARGS)
