"""PostgreSQL under eventlet and gevent: a slow query holds one pooled connection, never the whole server.

The slow query is made real and deterministic: the test takes an exclusive lock on the complaints
table from its own connection, so the server's complaints list waits inside PostgreSQL for as long as
the test wants. While it waits, call-next (which never reads complaints) must answer: with psycopg2
blocking the hub, or a process-wide lock around PostgreSQL work, it could not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import unquote

import pytest
import requests
from sqlalchemy import create_engine, text
from support.env import PG_URL
from support.server import Server

pytestmark = pytest.mark.async_modes  # eventlet's psycopg2 patcher, and psycogreen under gevent


def _schema(url: str) -> str:
    return unquote(url).rsplit("search_path=", 1)[1]


@pytest.fixture
def pg_hall(start_server: Callable[..., Server], request: pytest.FixtureRequest) -> Server:
    return start_server("postgres", extra_server=getattr(request, "param", ""))


class TableLock:
    """An ACCESS EXCLUSIVE lock on one table of the server's schema, held by the test's own connection."""

    def __init__(self, server: Server, table: str) -> None:
        self.schema = _schema(server.database)
        self.table = table
        self.engine = create_engine(PG_URL)
        self.conn = self.engine.connect()
        self.conn.execute(text(f"LOCK TABLE {self.schema}.{table} IN ACCESS EXCLUSIVE MODE"))

    def someone_waits(self, timeout: float = 20) -> bool:
        """Whether another session is blocked on this lock (polled until `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.engine.connect() as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE NOT l.granted AND c.relname = :t AND n.nspname = :s"
                    ),
                    {"t": self.table, "s": self.schema},
                ).scalar_one()
                if waiting:
                    return True
                time.sleep(0.05)
        return False

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _slow_read(server: Server, token: str, out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        r = requests.get(
            server.url + "/api/v1/halls/town/complaints", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        out["status"], out["body"], out["at"] = r.status_code, r.json(), time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_call_next_answers_while_a_slow_query_waits_in_postgresql(pg_hall: Server) -> None:
    admin = pg_hall.admin_token()
    pg_hall.issue("id-card")
    assert pg_hall.act("w1", "open", token=admin).status_code == 200
    lock = TableLock(pg_hall, "complaints")
    slow: dict[str, object] = {}
    try:
        reader = _slow_read(pg_hall, admin, slow)
        assert lock.someone_waits(), "the complaints list never reached PostgreSQL"
        started = time.monotonic()
        called = pg_hall.act("w1", "call-next", token=admin)
        took = time.monotonic() - started
        assert called.status_code == 200 and called.json()["ticket"]["number"] == "A001"
        assert pg_hall.issue("social")["number"] == "B001"  # and a kiosk can still issue
        assert "status" not in slow, "the slow query finished first: nothing was proven"
        assert took < 5, f"call-next took {took:.1f} s while another request waited on PostgreSQL"
    finally:
        lock.release()
    reader.join(30)
    assert slow["status"] == 200 and slow["body"] == []


@pytest.mark.parametrize("pg_hall", ["db_statement_timeout_s = 1"], indirect=True)
def test_a_statement_over_the_timeout_is_cancelled_and_answered_503(pg_hall: Server) -> None:
    admin = pg_hall.admin_token()
    lock = TableLock(pg_hall, "complaints")
    slow: dict[str, object] = {}
    try:
        started = time.monotonic()
        reader = _slow_read(pg_hall, admin, slow)
        reader.join(20)
        assert slow.get("status") == 503, slow
        assert slow["body"] == {
            "error": {"code": "database_unavailable", "message": "the database is not answering; try again shortly"}
        }
        assert time.monotonic() - started < 15  # cancelled after about a second, not held for ever
    finally:
        lock.release()
    assert pg_hall.get("/api/v1/halls/town/complaints", token=admin).status_code == 200  # the pool recovered
