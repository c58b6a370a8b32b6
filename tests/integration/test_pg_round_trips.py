"""PostgreSQL: what a write transaction sends, counted on the wire.

psycopg2 opens a transaction with a BEGIN of its own, one round trip before the first statement; the writers'
connections send it in the same message as the first statement instead (store/db.py
`_begin_with_first_statement`). Here a proxy between the database and the server's pool reads the protocol's
messages from the client: every query message is one round trip, so each action's count is exact, and the
transactions' boundaries (BEGIN, COMMIT, ROLLBACK) can be seen where the server sees them.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from support.context import service_context
from support.proxy import Proxy

from server.engine.errors import HallError
from server.services import counters, ledger, tickets
from server.services.context import Context
from server.store import raw
from server.store.db import Database, write_changes
from server.store.models import CounterRow, LedgerRow, TicketRow
from server.store.raw import Raw

SSL_REQUEST, STARTUP = 80877103, 196608
NOW = datetime(2026, 3, 2, 1, tzinfo=UTC)


class Wire(Proxy):
    """The proxy, reading the frontend's messages: each simple query ('Q') in order, with its connection's number
    (the writers' and the readers' pools share the proxy)."""

    def __init__(self, target_port: int) -> None:
        self.queries: list[tuple[int, str]] = []
        self.prepares: list[tuple[int, str]] = []
        self.statements: dict[tuple[int, str], str] = {}  # (connection, prepared name) → its statement
        self._lock = threading.Lock()
        super().__init__(target_port)

    def _forward(self, client: socket.socket, upstream: socket.socket, number: int) -> None:
        threading.Thread(target=self._read_client, args=(client, upstream, number), daemon=True).start()
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _read_client(self, src: socket.socket, dst: socket.socket, number: int) -> None:
        buffer, typed = b"", False
        try:
            while data := src.recv(65536):
                buffer += data
                while True:
                    if not typed:  # SSLRequest / StartupMessage: a length, then a code, no type byte
                        if len(buffer) < 8:
                            break
                        length, code = struct.unpack("!ii", buffer[:8])
                        if len(buffer) < length:
                            break
                        buffer, typed = buffer[length:], code == STARTUP
                        continue
                    if len(buffer) < 5:
                        break
                    kind, length = buffer[:1], struct.unpack("!i", buffer[1:5])[0]
                    if len(buffer) < 1 + length:
                        break
                    if kind == b"Q":
                        self._record(number, buffer[5 : 1 + length].rstrip(b"\0").decode())
                    buffer = buffer[1 + length :]
                dst.sendall(data)  # after it is recorded: its answer cannot reach the test before the record
        except OSError:
            pass

    def _record(self, number: int, query: str) -> None:
        """A query as the server runs it: a prepared statement's EXECUTE as the statement it names (its PREPARE,
        sent once per connection, is kept apart: it is no round trip of any one action)."""
        with self._lock:
            prepared = re.match(r"PREPARE (\w+) AS (.*)", query, re.S)
            if prepared:
                self.statements[(number, prepared[1])] = prepared[2]
                self.prepares.append((number, query))
                return
            begin, rest = ("BEGIN;", query[6:]) if query.startswith("BEGIN;") else ("", query)
            rest, commit = (rest[:-7], ";COMMIT") if rest.endswith(";COMMIT") else (rest, "")
            named = re.match(r"EXECUTE (\w+)", rest)
            if named:
                rest = self.statements.get((number, named[1]), rest)
            self.queries.append((number, begin + rest + commit))

    def take(self) -> list[str]:
        """The queries the writers' connections sent since the last take (a reader's never opens a transaction)."""
        with self._lock:
            seen, self.queries = self.queries, []
        writers = {n for n, q in seen if q.startswith(("BEGIN", "COMMIT", "ROLLBACK"))}
        return [q for n, q in seen if n in writers]


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Context, Wire]]:
    wire = Wire(5432)
    try:
        with service_context("postgres", tmp_path, NOW, lambda url: url.replace(":5432/", f":{wire.port}/")) as ctx:
            yield ctx, wire
    finally:
        wire.close()


def _transactions(queries: list[str]) -> list[list[str]]:
    """The queries grouped into transactions: from one that begins with BEGIN to its COMMIT or ROLLBACK."""
    out: list[list[str]] = []
    for q in queries:
        if q.startswith("BEGIN"):
            out.append([])
        assert out, f"a statement outside any transaction: {q[:80]}"
        out[-1].append(q)
    return out


def test_each_action_is_one_transaction_whose_begin_rides_on_its_first_statement(
    wired: tuple[Context, Wire],
) -> None:
    ctx, wire = wired
    counters.open_counter(ctx, "w1", None)
    for _ in range(3):
        tickets.issue_ticket(ctx, "town", "id-card")
    wire.take()
    for name, action, messages in (
        (
            "issue",
            lambda: tickets.issue_ticket(ctx, "town", "id-card"),
            3,
        ),  # the number; the ticket and its line; COMMIT
        ("call-next", lambda: counters.call_next(ctx, "w1", None), 4),  # lock; candidates; claim; COMMIT
        ("finish", lambda: counters.finish(ctx, "w1", None, "completed", None, None), 2),  # lock; changes + COMMIT
    ):
        action()
        (sent,) = _transactions(wire.take())
        assert "BEGIN" not in sent, f"{name}: a BEGIN of its own ({sent[0][:60]})"
        assert sent[0].startswith("BEGIN;"), (name, [q[:40] for q in sent])
        assert sent[-1] == "COMMIT" or sent[-1].endswith(";COMMIT"), (name, [q[-40:] for q in sent])
        assert sum(q.count("COMMIT") for q in sent) == 1, (name, [q[-40:] for q in sent])
        assert len(sent) == messages, (name, [q[:40] for q in sent])
    # a kiosk's tap: the key's row is the issue's last statement, and carries the COMMIT (no message of its own)
    tickets.issue_ticket(ctx, "town", "id-card", request_key="tap-1")
    (sent,) = _transactions(wire.take())
    assert sent[-1].startswith("INSERT INTO ticket_requests") and sent[-1].endswith(";COMMIT"), sent[-1][-60:]
    assert sum(q.count("COMMIT") for q in sent) == 1


def test_a_refused_action_rolls_back_and_leaves_the_connection_idle(wired: tuple[Context, Wire]) -> None:
    ctx, wire = wired
    tickets.issue_ticket(ctx, "town", "id-card")
    wire.take()
    with pytest.raises(HallError):  # the counter is closed: refused after its lock was taken
        counters.call_next(ctx, "w1", None)
    refused = wire.take()
    assert refused[0].startswith("BEGIN;") and refused[-1] == "ROLLBACK", [q[:40] for q in refused]
    counters.open_counter(ctx, "w1", None)
    done, _ = counters.call_next(ctx, "w1", None)
    assert done.ticket is not None
    after = _transactions(wire.take())
    assert all(t[0].startswith("BEGIN;") and t[-1] == "COMMIT" for t in after), after
    with ctx.db.read() as s:  # what the refused transaction did not write, and the called one did
        assert s.scalars(select(TicketRow.status)).all() == ["called"]


def test_a_writer_connection_keeps_its_transactions(wired: tuple[Context, Wire]) -> None:
    """AUTOCOMMIT on a writer would be undone by the BEGIN in front of each statement: it is refused, and the
    connection serves the next transaction as before. A Raw statement on a connection with no transaction yet
    begins one, as Core does, so the caller's commit keeps it."""
    ctx, wire = wired
    with ctx.db.engine.connect() as conn, pytest.raises(NotImplementedError, match="AUTOCOMMIT"):
        conn.execution_options(isolation_level="AUTOCOMMIT")
    wire.take()
    lines = ledger.TABLE
    with ctx.db.engine.connect() as conn:
        raw.Raw(lines.insert().values(hall_id="town", at=NOW, kind="note")).run(conn, {})
        conn.commit()
    sent = wire.take()
    assert sent[0].startswith("BEGIN;INSERT INTO ledger") and sent[-1] == "COMMIT", sent
    with ctx.db.read() as s:
        assert s.scalars(select(LedgerRow.kind).where(LedgerRow.kind == "note")).all() == ["note"]


def test_the_last_statement_carries_the_commit_and_nothing_may_follow_it(wired: tuple[Context, Wire]) -> None:
    """write_changes(last=True): the changes and the COMMIT in one message. A statement after it would run in
    a transaction of its own, so it is refused, loudly; what was committed stays committed."""
    ctx, wire = wired
    wire.take()
    with ctx.db.write() as s:
        s.get(CounterRow, "w1").clerk = "wang"  # type: ignore[union-attr]
        write_changes(s, last=True)
    (sent,) = _transactions(wire.take())
    assert len(sent) == 2 and sent[1].startswith("UPDATE counters") and sent[1].endswith(";COMMIT"), sent
    with pytest.raises(RuntimeError, match="after the one that committed"), ctx.db.write() as s:
        s.get(CounterRow, "w1").clerk = "li"  # type: ignore[union-attr]
        write_changes(s, last=True)
        s.execute(select(LedgerRow.id).limit(1))
    with ctx.db.read() as s:
        assert s.get(CounterRow, "w1").clerk == "li"  # type: ignore[union-attr]
    wire.take()
    counters.open_counter(ctx, "w1", None)  # the connection serves the next transaction as before
    (after,) = _transactions(wire.take())
    assert after[0].startswith("BEGIN;") and after[-1] == "COMMIT", [q[:40] for q in after]


def test_a_refused_last_statement_commits_nothing(wired: tuple[Context, Wire]) -> None:
    ctx, wire = wired
    with pytest.raises(DBAPIError), ctx.db.write() as s:
        w1, w2 = s.get(CounterRow, "w1"), s.get(CounterRow, "w2")
        assert w1 is not None and w2 is not None
        w1.clerk, w2.clerk = "x" * 500, "zhao"  # longer than the column: refused, and its COMMIT never runs
        write_changes(s, last=True)
    sent = wire.take()
    assert sent[-1] == "ROLLBACK" and sent[-2].endswith(";COMMIT"), [q[-40:] for q in sent]
    with ctx.db.read() as s:
        assert s.get(CounterRow, "w2").clerk is None  # type: ignore[union-attr]


def test_rows_left_for_the_sessions_flush_keep_the_commit_apart(wired: tuple[Context, Wire]) -> None:
    """A row added to the session is written by the commit's flush: the COMMIT cannot go before it."""
    ctx, wire = wired
    wire.take()
    with ctx.db.write() as s:
        s.get(CounterRow, "w1").clerk = "sun"  # type: ignore[union-attr]
        s.add(LedgerRow(hall_id="town", at=NOW, kind="note"))
        write_changes(s, last=True)
    (sent,) = _transactions(wire.take())
    assert sent[-1] == "COMMIT" and not any(q.endswith(";COMMIT") for q in sent), [q[:40] for q in sent]
    with ctx.db.read() as s:
        assert s.get(CounterRow, "w1").clerk == "sun"  # type: ignore[union-attr]
        assert s.scalars(select(LedgerRow.kind).where(LedgerRow.kind == "note")).all() == ["note"]


def test_a_key_taken_before_rolls_the_issue_back_and_answers_the_first_ticket(wired: tuple[Context, Wire]) -> None:
    """The key's INSERT carries the COMMIT: a key answered before is a unique violation, which skips the COMMIT;
    the issue (its number included) is rolled back and the first answer given again."""
    ctx, wire = wired
    first, _ = tickets.issue_ticket(ctx, "town", "id-card", request_key="tap-2")
    wire.take()
    again, events = tickets.issue_ticket(ctx, "town", "id-card", request_key="tap-2")
    assert again.replayed and again.ticket.id == first.ticket.id and again.ticket.number == first.ticket.number
    assert events == []
    (sent,) = _transactions(wire.take())
    assert sent[-2].startswith("INSERT INTO ticket_requests") and sent[-2].endswith(";COMMIT"), sent[-2][-60:]
    assert sent[-1] == "ROLLBACK"
    after, _ = tickets.issue_ticket(ctx, "town", "id-card", request_key="tap-3")
    assert int(after.ticket.number[1:]) == int(first.ticket.number[1:]) + 1  # the rolled-back number is free again
    with ctx.db.read() as s:
        assert len(s.scalars(select(TicketRow.id)).all()) == 2


def test_each_statement_is_prepared_once_per_connection(wired: tuple[Context, Wire]) -> None:
    """The hot statements run as prepared statements: PREPAREd the first time a connection runs them (a message
    of its own, outside any action's transaction), then only EXECUTEd, planned once."""
    ctx, wire = wired
    counters.open_counter(ctx, "w1", None)
    for _ in range(30):  # a queue deep enough that each call chooses among as many (one shape of each statement)
        tickets.issue_ticket(ctx, "town", "id-card")
    for _ in range(3):  # each connection of the pool (they take turns) has prepared what it runs
        counters.call_next(ctx, "w1", None)
        counters.finish(ctx, "w1", None, "completed", None, None)
        tickets.issue_ticket(ctx, "town", "id-card")
    prepared = len(wire.prepares)
    assert prepared, "no statement was prepared"
    for _ in range(3):
        counters.call_next(ctx, "w1", None)
        counters.finish(ctx, "w1", None, "completed", None, None)
        tickets.issue_ticket(ctx, "town", "id-card")
    assert len(wire.prepares) == prepared, [q[:60] for _, q in wire.prepares[prepared:]]
    per_connection = [(n, q.split()[1]) for n, q in wire.prepares]
    assert len(per_connection) == len(set(per_connection))  # never prepared twice on one connection
    assert all(name.startswith("hq_") for _, name in per_connection)


def test_prepared_statements_can_be_turned_off(wired: tuple[Context, Wire]) -> None:
    """`db_prepared_statements = false` (behind a pooler that hands a session's connection to others): the
    statements go as text, nothing is prepared."""
    ctx, wire = wired
    plain = Database(ctx.db.url, prepared_statements=False)
    try:
        other = replace(ctx, db=plain)
        wire.take()
        before = len(wire.prepares)
        tickets.issue_ticket(other, "town", "id-card", request_key="plain-1")
        counters.open_counter(other, "w1", None)
        counters.call_next(other, "w1", None)
        counters.finish(other, "w1", None, "completed", None, None)
        sent = wire.take()
        assert len(wire.prepares) == before and not any("EXECUTE hq_" in q for q in sent)
        assert any(q.startswith("BEGIN;INSERT INTO number_seqs") for q in sent)
    finally:
        plain.dispose()


def test_a_prepared_statement_gone_is_prepared_again(wired: tuple[Context, Wire]) -> None:
    """Should the session lose its prepared statements (DEALLOCATE, DISCARD), the statement that finds its own
    gone fails once, as any statement error does, and is prepared anew the next time."""
    ctx, _wire = wired
    statement = Raw(select(LedgerRow.__table__.c.id).where(LedgerRow.__table__.c.kind == bindparam("kind")))
    with ctx.db.engine.connect() as conn:
        assert statement.rows(conn, {"kind": "none"}) == []
        conn.commit()
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
        with pytest.raises(DBAPIError, match="does not exist"):
            statement.rows(conn, {"kind": "none"})
        conn.rollback()
        assert statement.rows(conn, {"kind": "none"}) == []
