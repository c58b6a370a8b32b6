"""Real databases for tests: a SQLite file, or a fresh schema in the PostgreSQL server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

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
    "outbox",
    "matters",
    "outbox_delivery",
    "complaint_appeals",
    "anonymous_quota",
    "appointments",
    "appointment_slots",
    "person_blocks",
]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema; dropped afterwards.

    Fails loudly when PostgreSQL is not running: these tests never skip.
    """
    name = "t_" + secrets.token_hex(6)
    # NullPool: no idle connection held for the whole test (max_connections is shared by every run).
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
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


_ENGINES: dict[str, Engine] = {}


def reset(url: str) -> None:
    """Empty the queue tables and close every counter: each test starts from a fresh day.

    Before each of a thousand tests: one engine per database (no pool: a dropped schema leaves nothing
    open), and on PostgreSQL every statement in one round trip."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url, poolclass=NullPool)
    statements = [f"DELETE FROM {table}" for table in TABLES]
    statements.append("UPDATE counters SET state='closed', held_ticket=NULL, priority_streak=0, clerk=NULL, since=NULL")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                conn.exec_driver_sql(statement)
