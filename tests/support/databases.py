"""Real databases for tests: a SQLite file, or a fresh schema in the PostgreSQL server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from support.env import PG_URL

TABLES = [
    "tickets",
    "number_seqs",
    "ledger",
    "ratings",
    "complaints",
    "period_reports",
    "job_leases",
    "alerts",
    "hall_settings",
    "ticket_requests",
    "kiosk_enrollments",
    "kiosk_devices",
    "notices",
    "print_jobs",
    "printer_states",
]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema; dropped afterwards.

    Fails loudly when PostgreSQL is not running: these tests never skip.
    """
    name = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A database URL of this kind ("sqlite" or "postgres") for one test server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'hallq.db'}"
    else:
        with pg_schema() as url:
            yield url


def reset(url: str) -> None:
    """Empty the queue tables and close every counter: each test starts from a fresh day."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE counters SET state='closed', held_ticket=NULL, priority_streak=0, clerk=NULL"))
    engine.dispose()
