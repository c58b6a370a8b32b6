"""store.raw runs Core statements on the DB-API cursor: what it gives back and writes is what Core's would be.

The counter actions' hot statements go through `Raw` (queue candidates, the counters' lock, the claim, the
unit of work's INSERTs and UPDATEs), so each difference from SQLAlchemy's own execution would be a wrong
row: here each statement runs both ways on both databases, and the rows, their Python types, the bound
values written, the errors raised, the engine events and the ORM instances `attach` makes are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import JSON, Table, bindparam, event, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support.context import service_context

from server.clock import FrozenClock
from server.services import counters, queue, tickets
from server.services.context import Context
from server.store import raw
from server.store.db import insert_row, write_changes
from server.store.models import ApiTokenRow, CounterRow, LedgerRow, TicketRow
from server.store.raw import Raw

NOW = datetime(2026, 3, 2, 1, 0, 0, 250_000, tzinfo=UTC)
_L, _T, _C = (cast(Table, m.__table__) for m in (LedgerRow, TicketRow, CounterRow))


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    with service_context(request.param, tmp_path, NOW) as context:
        yield context


def _queue(ctx: Context) -> list[str]:
    """Waiting tickets of both classes and services, one sent to w3, and w1 holding one: each part of the
    candidates' UNION and the lock's outer join has rows. The issued tickets' ids in issue order, but the sent one."""
    counters.open_counter(ctx, "w1", None)
    counters.open_counter(ctx, "w3", None)
    ids = []
    for i, (service, priority) in enumerate([("id-card", 0), ("id-card", 1), ("social", 0), ("id-card", 1)] * 2):
        cast(FrozenClock, ctx.clock).advance(3.5 + i)
        ids.append(tickets.issue_ticket(ctx, "town", service, priority=bool(priority))[0].ticket.id)
    sent = counters.call_next(ctx, "w1", None)[0].ticket
    assert sent is not None
    counters.transfer(ctx, "w1", None, None, "w3")
    counters.call_next(ctx, "w1", None)
    return [i for i in ids if i != sent.id]


def _candidates(s: Session, services: list[str], desks: list[str], taken: list[str]) -> tuple[Raw, dict[str, Any]]:
    """call-next's candidates statement for this many services, with its parameters (as call_candidates binds them)."""
    params: dict[str, Any] = {"hall": "town", "counters": desks, "taken": taken}
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        params["services"] = services
    else:
        params |= {f"service_{i}": service for i, service in enumerate(services)}
    return queue._candidates(dialect, len(services)), params  # noqa: SLF001


def _both(s: Session, statement: Raw, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows through Raw, checked against Core's own execution: equal values of the same types."""
    conn = s.connection()
    got = statement.rows(conn, params)
    core = [tuple(r) for r in conn.execute(statement.stmt, params)]
    assert got == core
    assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in core]
    for value in (v for r in got for v in r):
        assert not isinstance(value, datetime) or value.tzinfo is UTC  # aware UTC, as UTCDateTime reads
    return got


def test_candidates_rows_are_cores_for_each_list_length(ctx: Context) -> None:
    ids = _queue(ctx)
    cases = [  # (services, counters, taken); the first again last: each length's form is kept apart
        (["id-card"], ["w1"], []),
        (["id-card", "social"], ["w1", "w3"], ids[1:2]),
        (["id-card", "social", "water"], ["w1", "w2", "w3"], ids[2:5]),
        ([], [], []),
        (["social"], ["w3"], ids[:3]),
        (["id-card"], ["w1"], []),
    ]
    with ctx.db.write() as s:
        seen = []
        for services, desks, taken in cases:
            statement, params = _candidates(s, services, desks, taken)
            got = _both(s, statement, params)
            assert not {r[0] for r in got} & set(taken)
            seen.append(got)
        assert seen[0] == seen[-1] and seen[3] == []
        assert {r[6] for r in seen[1]} == {True, False}  # priority: both classes, as bools
        assert any(r[9] == "w3" for r in seen[1]) and not any(r[9] for r in seen[0])  # the sent ticket


def test_lock_rows_are_cores_with_and_without_a_live_token(ctx: Context) -> None:
    _queue(ctx)
    with ctx.db.write() as s:
        s.add(ApiTokenRow(id="live", secret_hash="x", role="counter", hall_id="town", created_at=NOW))
        s.add(ApiTokenRow(id="gone", secret_hash="x", role="counter", created_at=NOW, revoked_at=NOW))
    with ctx.db.write() as s:
        pair = _both(s, counters._LOCK_RAW, {"id1": "w1", "id2": "w2"})  # noqa: SLF001
        assert [r[0] for r in pair] == ["w1", "w2"]
        n = raw.width(CounterRow)
        assert pair[0][7] == pair[0][n] is not None and isinstance(pair[0][n + 7], bool)  # w1's held ticket
        assert pair[1][n:] == (None,) * raw.width(TicketRow)  # w2 holds none: the outer join's NULLs
        assert len(_both(s, counters._LOCK_RAW, {"id1": "w3", "id2": "w3"})) == 1  # noqa: SLF001
        for token, live in (("live", "live"), ("gone", None), ("nobody", None)):
            checked = _both(s, counters._LOCK_CHECKED, {"id1": "w1", "id2": "w2", "token": token})  # noqa: SLF001
            assert [r[:-1] for r in checked] == pair and {r[-1] for r in checked} == {live}


def test_bound_values_are_processed_as_core_would(ctx: Context) -> None:
    """UTCDateTime writes naive UTC from any zone, JSON a document, None on a none_as_null column SQL NULL."""
    at = datetime(2026, 3, 2, 9, 30, 15, 123_456, tzinfo=timezone(timedelta(hours=8)))
    detail = {"reason": "经过", "n": [1, 2.5, None], "ok": True}
    ticket = tickets.issue_ticket(ctx, "town", "id-card")[0].ticket.id
    with ctx.db.write() as s:
        first = insert_row(s, _L, {"hall_id": "town", "at": at, "kind": "probe", "detail": detail})
        insert_row(s, _L, {"hall_id": "town", "at": at, "kind": "empty", "detail": None})
    with ctx.db.write() as s:
        line = s.scalars(select(LedgerRow).where(LedgerRow.kind == "probe")).one()
        assert line.at == at and line.at.tzinfo is UTC and line.at.hour == 1 and line.detail == detail
        assert first == (line.id if ctx.db.is_sqlite else None)  # SQLite's rowid, known without RETURNING
        nulls = s.execute(select(_L.c.kind, _L.c.detail.is_(None)).where(_L.c.kind.in_(["probe", "empty"])))
        assert {k: v for k, v in nulls} == {"probe": False, "empty": True}  # SQL NULL, not JSON 'null'
        nones = Raw(select(bindparam("j", type_=JSON()).is_(None), bindparam("n", type_=_L.c.detail.type).is_(None)))
        assert _both(s, nones, {"j": None, "n": None}) == [(False, True)]  # plain JSON binds None as 'null'
        change = update(_T).where(_T.c.id == bindparam("t")).values(called_at=bindparam("c"), missing=bindparam("m"))
        Raw(change).run(s.connection(), {"t": ticket, "c": at, "m": ["户口簿"]})
    with ctx.db.read() as s:
        row = s.get(TicketRow, ticket)
        assert row is not None and (row.called_at, row.missing) == (at, ["户口簿"])
    with ctx.db.write() as s:
        Raw(change).run(s.connection(), {"t": ticket, "c": None, "m": None})
        stored = s.execute(select(_T.c.missing.is_(None), _T.c.called_at).where(_T.c.id == ticket)).one()
        assert tuple(stored) == (True, None)


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(ctx: Context) -> None:
    """A duplicate key is IntegrityError (the driver's error its .orig); the write's earlier rows go with
    it, and on PostgreSQL the aborted transaction is rolled back: the next write works."""
    line = {"hall_id": "town", "at": NOW, "kind": "before", "detail": None}
    with pytest.raises(IntegrityError) as caught, ctx.db.write() as s:
        insert_row(s, _L, line)
        insert_row(s, _C, {"id": "w1", "hall_id": "town", "state": "closed", "priority_streak": 0})
    assert isinstance(caught.value.orig, ctx.db.engine.dialect.loaded_dbapi.IntegrityError)
    assert caught.value.statement is not None and "INSERT INTO counters" in caught.value.statement
    assert not caught.value.connection_invalidated
    with ctx.db.write() as s:
        insert_row(s, _L, {**line, "kind": "after"})
    with ctx.db.read() as s:
        assert list(s.scalars(select(LedgerRow.kind).where(LedgerRow.kind.in_(["before", "after"])))) == ["after"]


def test_the_engines_cursor_events_see_each_statement_as_core_sends_it(ctx: Context) -> None:
    ids = _queue(ctx)
    before: list[tuple[str, Any]] = []
    after: list[tuple[str, Any]] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda c, cur, sql, p, *a: before.append((sql, p)))
    event.listen(ctx.db.engine, "after_cursor_execute", lambda c, cur, sql, p, *a: after.append((sql, p)))
    with ctx.db.write() as s:
        statement, params = _candidates(s, ["id-card", "social"], ["w3"], ids[:2])
        statement.rows(s.connection(), params)
        s.connection().execute(statement.stmt, params)
        insert_row(s, _L, {"hall_id": "town", "at": NOW, "kind": "probe", "detail": {"a": 1}})
    assert before == after and len(before) == 3
    (mine, mine_args), (core, core_args), (line, _) = before
    if ctx.db.is_sqlite:
        assert mine == core and list(mine_args) == list(core_args)
    else:  # a prepared statement's EXECUTE, its parameters in the statement's order
        assert mine.startswith("EXECUTE hq_") and raw.statement_of(mine) == core
        assert list(mine_args) == list(core_args.values())
    assert "UNION ALL" in core and raw.statement_of(line).startswith("INSERT INTO ledger")


def test_attach_keeps_one_instance_per_row_and_writes_only_what_changed(ctx: Context) -> None:
    with ctx.db.write() as s:
        (found,) = counters._LOCK_RAW.rows(s.connection(), {"id1": "w2", "id2": "w2"})  # noqa: SLF001
        row = found[: raw.width(CounterRow)]
        first = raw.attach(s, CounterRow, row)
        again = raw.attach(s, CounterRow, (*row[:2], "open", "second", NOW, None, 3, None))
        assert again is first and s.get(CounterRow, "w2") is first
        assert (first.state, first.clerk, first.since, first.priority_streak) == ("open", "second", NOW, 3)
        assert inspect(first).persistent and not inspect(first).modified and not s.dirty and not s.new
        statements: list[str] = []
        event.listen(
            ctx.db.engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(raw.statement_of(sql))
        )
        first.away_reason = "lunch"
        write_changes(s)
        assert len(statements) == 1 and statements[0].startswith("UPDATE counters SET away_reason=")
        assert "," not in statements[0].split(" WHERE ")[0]  # that column alone
        assert not s.dirty
    with ctx.db.read() as s:
        stored = s.get(CounterRow, "w2")
        assert stored is not None and (stored.away_reason, stored.state, stored.clerk) == ("lunch", "closed", None)


def test_a_python_side_default_is_refused_not_left_out(ctx: Context) -> None:
    """Core works out `default=` values during its execution, which Raw skips: without the refusal the row
    would get the database's NULL (or fail) instead of the model's default."""
    values = {
        "id": "t-raw", "hall_id": "town", "service_id": "id-card", "issued_service": "id-card", "day": "2026-03-02",
        "seq": 99, "number": "A099", "token_hash": "h-raw", "issued_at": NOW, "order_at": NOW,
        "priority": False, "wait_s": 0, "service_s": 0, "recalls": 0, "transfers": 0,
    }  # fmt: skip
    with pytest.raises(TypeError, match="default"), ctx.db.write() as s:
        insert_row(s, _T, values)  # no status: its default="waiting" is Python's
    with pytest.raises(TypeError, match="default"), ctx.db.write() as s:
        Raw(insert(_T).values(id=bindparam("id"))).run(s.connection(), {"id": "t-raw"})
    with ctx.db.write() as s:
        insert_row(s, _T, {**values, "status": "waiting"})  # every default given: written as is
    with ctx.db.read() as s:
        assert list(s.scalars(select(TicketRow.status).where(TicketRow.id == "t-raw"))) == ["waiting"]


def test_an_in_list_of_literal_values_runs_as_core_runs_it(ctx: Context) -> None:
    """`col.in_([...])` binds an expanding parameter of its own, which the caller does not name."""
    _queue(ctx)
    statement = Raw(select(_T.c.id).where(_T.c.status.in_(["waiting", "called"])).order_by(_T.c.seq))
    with ctx.db.write() as s:
        assert len(_both(s, statement, {})) == 8


def test_insert_row_returns_no_id_nobody_reads(ctx: Context) -> None:
    """store.db._insert: "no RETURNING of an id nobody reads" (PostgreSQL: the ledger's serial id, unless the
    INSERT is built `.inline()`)."""
    statements: list[str] = []
    event.listen(
        ctx.db.engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(raw.statement_of(sql))
    )
    with ctx.db.write() as s:
        insert_row(s, _L, {"hall_id": "town", "at": NOW, "kind": "probe", "detail": None})
    (line,) = (x for x in statements if x.startswith("INSERT"))
    assert "RETURNING" not in line


def test_a_transient_row_holds_its_values_and_stays_out_of_the_session(ctx: Context) -> None:
    """The issue's new ticket: built without attribute events, read through the model's attributes, INSERTed by
    the caller; a session it meets never writes it a second time."""
    row = raw.transient(TicketRow, id="t1", hall_id="town", priority=False, wait_s=0)
    assert (row.id, row.hall_id, row.priority, row.wait_s, row.note) == ("t1", "town", False, 0, None)
    assert inspect(row).transient and vars(row)["hall_id"] == "town"
    row.note = "later"  # set afterwards as on any instance
    assert vars(row)["note"] == "later"
    with ctx.db.write() as s:
        assert row not in s
    with ctx.db.read() as s:
        assert s.get(TicketRow, "t1") is None


def test_a_prepared_statements_plain_values_are_written_as_psycopg2_writes_them(ctx: Context) -> None:
    """PostgreSQL: an EXECUTE's None, bool and int values go in its text (raw._inline), the rest through psycopg2;
    the text sent is byte for byte what psycopg2 makes of the whole EXECUTE. SQLite: nothing is prepared."""
    values: list[Any] = [None, True, False, 0, 7, -5, 2**40, -(2**40), "a %s 'quoted' text", 1.5, NOW, b"\x00b", 3]
    statement = Raw(select(*(bindparam(f"v{i}") for i in range(len(values)))))
    with ctx.db.write() as s:
        conn = s.connection()
        plan = statement._plan(conn.dialect, {f"v{i}": v for i, v in enumerate(values)})  # noqa: SLF001
        if ctx.db.is_sqlite:
            assert plan.prepared is None
            return
        assert plan.prepared is not None
        name, _prepare, template = plan.prepared
        cursor = conn.connection.dbapi_connection.cursor()
        sent, rest = raw._inline(name, values)  # noqa: SLF001
        assert rest == ["a %s 'quoted' text", 1.5, NOW, b"\x00b"]
        assert cursor.mogrify(sent, rest) == cursor.mogrify(template, values)
        only_plain = [None, -1, True]
        sent, rest = raw._inline(name, only_plain)  # noqa: SLF001
        assert rest is None and sent.encode() == cursor.mogrify(template.split("(")[0] + "(%s, %s, %s)", only_plain)
