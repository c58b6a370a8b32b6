"""Engines and the unit of work.

The rule for SQLite under eventlet (docs/storage.md): a transaction must never yield.
The sqlite3 driver blocks in C and is not green, so one greenlet holding the write lock
while another waits for it would stall the whole server. Hence: one connection per
process, a process-wide lock around every unit of work, `BEGIN IMMEDIATE` for writes
(the write lock is taken up front, so two processes never deadlock upgrading a read
lock), WAL so readers in other processes are not blocked, a busy timeout for the short
waits between processes, and no emits, printing or network I/O inside a transaction:
events are published after commit by the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_MS = 5000


class Database:
    """One engine per process, and the only door to a Session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._lock = threading.RLock()  # green under eventlet's monkey patching
        self._begin = "BEGIN"
        self.engine = self._make_engine(url)

    def _make_engine(self, url: str) -> Engine:
        if not self.is_sqlite:
            return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=2, future=True)
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=StaticPool,  # exactly one connection per process
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(self._begin)

        return engine

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction, committed on success and rolled back on any error."""
        with self._lock:
            self._begin = "BEGIN IMMEDIATE"
            try:
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    yield session
            finally:
                self._begin = "BEGIN"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; nothing it does is kept."""
        # Closing (not rolling back) ends the transaction without expiring what was read.
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration; safe when several processes start at once."""
        from .migrate import upgrade

        with self._lock:
            if self.is_sqlite:
                self._begin = "BEGIN IMMEDIATE"  # the second process waits, then finds nothing to do
                try:
                    upgrade(self.engine)
                finally:
                    self._begin = "BEGIN"
                return
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(7240011)"))
                try:
                    upgrade(self.engine)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(7240011)"))
                    conn.commit()

    def ping(self) -> bool:
        """Whether the database answers a trivial query right now."""
        try:
            with self.read() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "degraded", reported by /health
            return False

    def dispose(self) -> None:
        self.engine.dispose()
