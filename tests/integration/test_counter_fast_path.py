"""The counter actions' fast path writes the rows the models say, on both databases.

call-next claims and writes in as few statements as it can (PostgreSQL: one statement for the claim, its
ledger line and the counter's row; store.expressions adds the wait up in SQL). These tests check what was
stored against the models' own account of it: each ticket's totals are what the ledger's Clock
(engine.timing.replay) folds from the ticket's ledger lines; each `called` line says why and on whose
behalf, as the engine chose; the answer the action gave is the row as stored; the counter's streak and
held ticket follow the engine. And on PostgreSQL a ticket another counter is claiming right now is passed
over in the same statement (SKIP LOCKED), not waited for or retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, select, text
from support.context import service_context

from server.clock import FrozenClock
from server.engine.timing import replay
from server.services import counters, tickets
from server.services.context import Context
from server.store import raw
from server.store.models import CounterRow, LedgerRow, TicketRow

CLOCK_FIELDS = ("wait_s", "service_s", "waiting_since", "serving_since", "called_at")


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    with service_context(request.param, tmp_path, datetime(2026, 3, 2, 1, 0, 0, 250_000, tzinfo=UTC)) as context:
        yield context


def _advance(ctx: Context, seconds: float) -> None:
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(seconds)


def _columns(row: Any) -> dict[str, Any]:
    return {a.key: getattr(row, a.key) for a in inspect(type(row)).column_attrs}


def _stored(ctx: Context) -> tuple[dict[str, TicketRow], dict[str, list[LedgerRow]], dict[str, CounterRow]]:
    with ctx.db.read() as s:
        rows = {t.id: t for t in s.scalars(select(TicketRow))}
        lines: dict[str, list[LedgerRow]] = {}
        for line in s.scalars(select(LedgerRow).order_by(LedgerRow.id)):
            if line.ticket_id:
                lines.setdefault(line.ticket_id, []).append(line)
        desks = {c.id: c for c in s.scalars(select(CounterRow))}
    return rows, lines, desks


def test_the_fast_paths_rows_are_the_models(ctx: Context) -> None:
    for c in ("w1", "w2", "w3"):
        counters.open_counter(ctx, c, None)
    staff = ctx.config.halls[0]
    issued = []
    for i in range(9):  # priority tickets among them: the streak decides, the ledger says why
        _advance(ctx, 7.3)
        service = ("id-card", "social")[i % 2]
        issued.append(tickets.issue_ticket(ctx, staff.id, service, priority=i in (2, 3, 4))[0])
    answers: dict[str, dict[str, Any]] = {}
    choices: list[tuple[str, str, str | None, int]] = []
    counters.away(ctx, "w2", None, "meeting")  # w1 covers w2: its social calls are on w2's behalf
    for round_ in range(4):
        for c in ("w1", "w3"):
            _advance(ctx, 11.7)
            done, _ = counters.call_next(ctx, c, f"clerk-{c}")
            if done.ticket is None:
                continue
            answers[done.ticket.id] = _columns(done.ticket)
            choices.append((done.ticket.id, c, done.ticket.on_behalf_of, done.counter_row.priority_streak))
            _advance(ctx, 3.9)
            if round_ % 2:
                counters.start(ctx, c, None)
                _advance(ctx, 20.45)
            counters.finish(ctx, c, None, "completed", None, None)

    rows, lines, desks = _stored(ctx)
    assert len(choices) == 8 and len({t for t, *_ in choices}) == 8  # each ticket claimed once
    for ticket_id, counter_id, behalf, _streak in choices:
        row = rows[ticket_id]
        kinds = [(line.kind, line.at) for line in lines[ticket_id]]
        clock = replay(kinds)
        assert {f: getattr(row, f) for f in CLOCK_FIELDS} == {f: getattr(clock, f) for f in CLOCK_FIELDS}
        assert row.wait_s > 0 and row.status == "done" and row.served_by == counter_id
        assert row.owner_counter == counter_id and row.counter_id == counter_id and row.target_counter is None
        called = [line for line in lines[ticket_id] if line.kind == "called"]
        assert len(called) == 1
        assert called[0].counter_id == counter_id and called[0].clerk == f"clerk-{counter_id}"
        assert called[0].on_behalf_of == behalf == row.on_behalf_of
        assert called[0].detail is not None and set(called[0].detail) == {"reason", "service"}
        assert called[0].detail["service"] == row.service_id
        # what call-next answered is the row as it stood after the call (the finish changed only these)
        answer = answers[ticket_id]
        later = {"status", "started_at", "finished_at", "outcome", "service_s", "serving_since", "clerk"}
        assert {k: v for k, v in answer.items() if k not in later} == {
            k: v for k, v in _columns(row).items() if k not in later
        }
        assert answer["status"] == "called" and answer["clerk"] == f"clerk-{counter_id}"
    assert any(b == "w2" for _, _, b, _ in choices)  # the cover was exercised
    reasons = [line.detail["reason"] for t, *_ in choices for line in lines[t] if line.kind == "called"]
    assert any("priority" in r for r in reasons) and any("priority" not in r for r in reasons)
    streaks = [s for _, c, _, s in choices if c == "w1"]
    assert max(streaks) <= staff.max_priority_streak
    assert desks["w1"].held_ticket is None and desks["w3"].held_ticket is None


def test_a_claim_in_progress_elsewhere_is_passed_over_in_the_same_statement(ctx: Context) -> None:
    """PostgreSQL: the head of the queue is locked by another counter's claim; call-next takes the next
    ticket at once (one claim statement, no wait). SQLite has one writer at a time: nothing to pass over."""
    if not ctx.db.engine.dialect.name == "postgresql":
        counters.open_counter(ctx, "w1", None)
        first, _ = tickets.issue_ticket(ctx, "town", "id-card")
        done, _ = counters.call_next(ctx, "w1", None)
        assert done.ticket is not None and done.ticket.id == first.ticket.id
        return
    counters.open_counter(ctx, "w1", None)
    head, second = (tickets.issue_ticket(ctx, "town", "id-card")[0] for _ in range(2))
    claims: list[str] = []
    event.listen(
        ctx.db.engine, "before_cursor_execute",
        lambda conn, cur, sent, *a: claims.append(sent) if raw.statement_of(sent).startswith("WITH pick") else None,
    )  # fmt: skip
    other = ctx.db.engine.connect()
    try:
        other.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": head.ticket.id})
        done, _ = counters.call_next(ctx, "w1", None)
    finally:
        other.rollback()
        other.close()
    assert done.ticket is not None and done.ticket.id == second.ticket.id
    assert len(claims) == 1
    rows, lines, _ = _stored(ctx)
    assert rows[head.ticket.id].status == "waiting" and [x.kind for x in lines[head.ticket.id]] == ["issued"]
    counters.finish(ctx, "w1", None, "completed", None, None)
    done, _ = counters.call_next(ctx, "w1", None)  # the lock is gone: the head is called now
    assert done.ticket is not None and done.ticket.id == head.ticket.id
