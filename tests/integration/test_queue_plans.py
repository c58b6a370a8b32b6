"""call-next reads the heads of its queues, not the queues: its candidates cost the same at any depth.

Each database is asked how it runs the candidates statement (EXPLAIN) on a hall with a deep queue in two
services: every queue's head must come from an index range read in order, with no sort of the waiting
tickets (PostgreSQL once sorted the whole queue, as to its planner `target_counter IS NULL` is no equality;
both databases sorted every waiting ticket of a counter's several services to find their first few).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import text
from support.context import service_context

from server.clock import FrozenClock
from server.services import counters, queue, tickets
from server.services.context import Context
from server.store import raw

NOW = datetime(2026, 3, 2, 1, tzinfo=UTC)
DEPTH = 400


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The deep hall, made once per database for the module's tests (each reads what it checks from it)."""
    with service_context(request.param, tmp_path_factory.mktemp("plans"), NOW) as context:
        for i in range(DEPTH):  # both services, both classes (a priority ticket in five)
            cast(FrozenClock, context.clock).advance(1)
            tickets.issue_ticket(context, "town", ("id-card", "social")[i % 2], priority=i % 10 >= 8)
        if not context.db.is_sqlite:  # the planner's statistics, as autovacuum keeps them
            with context.db.engine.connect() as conn:
                conn.execute(text("ANALYZE tickets"))
                conn.commit()
        yield context


@contextmanager
def _explaining(ctx: Context, marker: str) -> Iterator[list[str]]:
    """While inside: the first statement the writers' engine sends with `marker` in it is also EXPLAINed (a
    prepared statement's EXECUTE as such: its plan is the one it runs); the plan's lines are yielded."""
    plan: list[str] = []
    dialect = ctx.db.engine.dialect
    execute = dialect.do_execute

    def explain(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if marker in raw.statement_of(statement) and not plan:
            ask = "EXPLAIN " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            cursor.execute(ask + statement.removeprefix("BEGIN;"), parameters)
            plan.extend(str(r[0] if len(r) == 1 else r[-1]) for r in cursor.fetchall())
        execute(cursor, statement, parameters, context)

    dialect.do_execute = explain  # type: ignore[method-assign]
    try:
        yield plan
    finally:
        dialect.do_execute = execute  # type: ignore[method-assign]


def _plan(ctx: Context, services: list[str]) -> tuple[str, list[Any]]:
    """How the database runs call-next's candidates for w3 (sent tickets) and these services, and their rows."""
    with ctx.db.write() as s:  # PostgreSQL: past the executions it plans for their values (then maybe generic)
        for _ in range(8):
            queue.call_candidates(s, "town", services, ["w3", "w4"], set())
    with _explaining(ctx, "UNION ALL") as plan, ctx.db.write() as s:
        rows = queue.call_candidates(s, "town", services, ["w3", "w4"], set())
    assert plan, "the candidates statement was not sent"
    return "\n".join(plan), rows


@pytest.mark.parametrize("services", [["id-card"], ["id-card", "social"]])
def test_the_candidates_read_each_queues_head_in_index_order(ctx: Context, services: list[str]) -> None:
    plan, rows = _plan(ctx, services)
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # nothing sorted: read in the index's order
    assert "SCAN tickets" not in plan and "Seq Scan" not in plan, plan  # nor the table walked
    # each service's priority and normal heads, a window of each (as many as counters may race for; SQLite,
    # whose call-next takes its first choice: the priority queue's first)
    windows = {True: 1 if ctx.db.is_sqlite else queue.CALL_WINDOW, False: queue.CALL_WINDOW}
    assert len(rows) == sum(windows.values()) * len(services)
    for service in services:
        for priority in (True, False):
            mine = [(c.order_at, c.seq) for c in rows if c.service == service and c.priority is priority]
            assert len(mine) == windows[priority] and mine == sorted(mine)


def test_the_heads_are_the_first_of_each_queue_whatever_the_services_order(ctx: Context) -> None:
    counters.open_counter(ctx, "w3", None)
    _, one_way = _plan(ctx, ["id-card", "social"])
    _, other_way = _plan(ctx, ["social", "id-card"])
    assert one_way == other_way  # one order, whatever order the set of services came in
    with ctx.db.read() as s:
        every = queue.waiting_for(s, "town", ["id-card", "social"], [])
    for service in ("id-card", "social"):
        for priority in (True, False):
            queue_order = sorted(
                (c.order_at, c.seq, c.id) for c in every if c.service == service and c.priority is priority
            )
            heads = [(c.order_at, c.seq, c.id) for c in one_way if c.service == service and c.priority is priority]
            assert heads == queue_order[: len(heads)] and heads
    called, _ = counters.call_next(ctx, "w3", None)  # and call-next takes the oldest priority ticket of both
    assert called.ticket is not None
    oldest = min((c for c in every if c.priority), key=lambda c: (c.order_at, c.seq))
    assert called.ticket.id == oldest.id


def test_the_people_ahead_are_counted_on_an_index_range(ctx: Context) -> None:
    """A ticket's people ahead: the tickets of its class issued before it, `(order_at, seq) < (its own)`, one
    row-value range of the index (SQLite's plan says so; PostgreSQL's choice follows the table's size), counted
    right for a ticket in the middle of its queue."""
    with ctx.db.read() as s:
        every = queue.waiting_for(s, "town", ["id-card"], [])
        middle = sorted((c for c in every if not c.priority), key=lambda c: (c.order_at, c.seq))[50]
        row = queue.queue_row(s, middle.id)
        # SQLite's reads run on the writers' engine (PostgreSQL's on the readers': its plan is not asked for)
        with _explaining(ctx, "count(*)") as plans:
            ahead = queue.ahead_count(s, row)
    assert ahead == sum(1 for c in every if c.priority) + 50  # every priority ticket, then the 50 issued before
    if ctx.db.is_sqlite:
        assert any("(order_at,seq)<(?,?)" in p for p in plans), plans


def test_the_forecasts_recent_services_read_the_index_of_ended_tickets(ctx: Context) -> None:
    """The forecast's last services of a queue come from `ix_tickets_finished`, a partial index that a ticket
    enters only when it ends (a waiting ticket's issue no longer writes it, nor does a change of status move
    it): the statement's own `finished_at IS NOT NULL` is what lets either database use it. PostgreSQL is
    asked with table walks off: on a table this small its choice would follow the size, and the question is
    whether the index can serve."""
    counters.open_counter(ctx, "w1", None)
    for _ in range(3):
        called, _ = counters.call_next(ctx, "w1", None)
        assert called.ticket is not None
        counters.start(ctx, "w1", None)
        cast(FrozenClock, ctx.clock).advance(90)
        counters.finish(ctx, "w1", None, "completed", None, None)
    with ctx.db.write() as s:
        conn = s.connection()
        if not ctx.db.is_sqlite:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        with _explaining(ctx, "service_s >") as plan:
            served = conn.scalars(queue._RECENT, {"hall": "town", "service": called.ticket.service_id}).all()
    assert any("ix_tickets_finished" in line for line in plan), plan
    assert served and all(s > 0 for s in served)


def test_every_partial_index_of_the_tickets_holds_on_any_value_compared(ctx: Context) -> None:
    """Each partial index of the tickets is `WHERE <column> IS NOT NULL`, which a comparison of that column with
    any value implies. A condition on a value (`WHERE status = 'done'`) made SQLite re-prepare each statement
    comparing `status` with a parameter at every run, in case the value let the index serve: call-next's
    candidates went from 0.06 to 0.27 ms, with the same plan."""
    # PostgreSQL does not re-prepare so, but one schema serves both databases: it is held to the same rule.
    ask = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' AND sql LIKE :partial"
        if ctx.db.is_sqlite
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets' AND schemaname = current_schema()"
        " AND indexdef LIKE :partial"
    )
    with ctx.db.engine.connect() as conn:
        found = conn.execute(text(ask), {"partial": "% WHERE %"}).all()
    assert {name for name, _ in found} >= {"ix_tickets_finished", "ix_tickets_sent", "uq_tickets_remote_code"}
    for name, sql in found:
        condition = sql.split(" WHERE ", 1)[1].strip().removeprefix("(").removesuffix(")")
        assert re.fullmatch(r"\w+ IS NOT NULL", condition), (name, condition)
