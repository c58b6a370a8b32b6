"""The issue's fast path writes the rows the models describe, on both databases.

The issue writes its ticket, ledger line and idempotency key with Core statements built from the models'
own tables (no ORM flush, no hand-kept copy of a table). What the ORM would write for the same objects is
the reference: each row is written again through a Session, and the two rows, read back, must be equal
column for column (a model's Python default that a Core INSERT passed over would show here as a NULL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import FromClause, select
from sqlalchemy.orm import DeclarativeBase
from support.databases import database
from support.server import HALL_TOML

from server.clock import FrozenClock
from server.config import load_config
from server.engine.errors import HallError
from server.services import counters, halls, queue, tickets
from server.services.context import Context
from server.store.db import Database
from server.store.models import LedgerRow, TicketRequestRow, TicketRow


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    with database(request.param, tmp_path) as url:
        db = Database(url)
        db.migrate()
        context = Context(
            load_config(HALL_TOML, data_dir=tmp_path), db, FrozenClock(datetime(2026, 3, 2, 1, tzinfo=UTC))
        )
        halls.seed_counters(context)
        try:
            yield context
        finally:
            db.dispose()


def _row(ctx: Context, table: FromClause, **where: Any) -> dict[str, Any]:
    with ctx.db.query() as conn:
        found = conn.execute(select(table).filter_by(**where)).mappings().all()
    assert len(found) == 1, (table.name, where, found)
    return dict(found[0])


def _orm_copy(ctx: Context, model: type[DeclarativeBase], values: dict[str, Any]) -> None:
    """Write `values` as the ORM does: only the attributes set, through the unit of work's flush."""
    with ctx.db.write() as s:
        s.add(model(**values))


def _same_but(a: dict[str, Any], b: dict[str, Any], *changed: str) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key not in changed:
            assert a[key] == b[key] and type(a[key]) is type(b[key]), (key, a[key], b[key])


def test_the_fast_paths_rows_are_the_models_rows(ctx: Context) -> None:
    counters.open_counter(ctx, "w1", None)
    tickets.issue_ticket(ctx, "town", "id-card")
    issued, _ = tickets.issue_ticket(ctx, "town", "id-card", True, "k1", "https://hall.test", "tap-0001-abcdefghijk")
    row = issued.ticket

    ticket = _row(ctx, TicketRow.__table__, id=row.id)
    # The object the fast path built, written again by the ORM: the attributes it set, and nothing else.
    built = {k: v for k, v in vars(row).items() if not k.startswith("_")}
    assert set(built) <= set(ticket)
    unique = {"id": "copy-of-" + row.id[:8], "seq": row.seq + 500, "number": "Z999", "token_hash": "0" * 64}
    copy = {**built, **unique}
    _orm_copy(ctx, TicketRow, copy)
    _same_but(ticket, _row(ctx, TicketRow.__table__, id=copy["id"]), *unique)
    assert ticket["kiosk_id"] == "k1" and ticket["priority"] is True and ticket["status"] == "waiting"

    line = _row(ctx, LedgerRow.__table__, ticket_id=row.id)
    written = {k: v for k, v in line.items() if v is not None and k != "id"}
    _orm_copy(ctx, LedgerRow, {**written, "ticket_id": copy["id"]})
    _same_but(line, _row(ctx, LedgerRow.__table__, ticket_id=copy["id"]), "id", "ticket_id")
    assert line["kind"] == "issued" and line["detail"] == {"service": "id-card", "priority": True}

    key = _row(ctx, TicketRequestRow.__table__, ticket_id=row.id)
    written = {k: v for k, v in key.items() if v is not None}
    _orm_copy(ctx, TicketRequestRow, {**written, "key_hash": "f" * 64})
    _same_but(key, _row(ctx, TicketRequestRow.__table__, key_hash="f" * 64), "key_hash")
    # The first answer's figures are kept with the key, as issued (a replay answers exactly these).
    assert (key["ahead"], key["est_wait_s"], key["served_now"]) == (issued.ahead, issued.est_wait_s, True)


@pytest.mark.parametrize("busy", [False, True], ids=["forecast in the request", "busy server"])
def test_the_people_ahead_the_issue_returns_are_those_the_queue_counts(ctx: Context, busy: bool) -> None:
    """The count folded into the ticket's INSERT against the queue's own count, read afterwards; and
    `served_now` from the counters' states folded into it too (a busy server answers from its last board)."""
    if busy:
        ctx.boards.on_stale, ctx.boards.sync_limit = (lambda hall_id: None), 0
    counters.open_counter(ctx, "w1", None)  # serves id-card only: nobody serves social
    plan = [("id-card", False), ("id-card", False), ("id-card", True), ("social", False), ("id-card", False)]
    plan += [("id-card", True), ("social", True), ("id-card", False), ("social", False), ("id-card", True)]
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    answers = []
    for i, (service, priority) in enumerate(plan):
        if i % 3:  # some tickets share an issue time: then the number orders them
            clock.advance(1)
        issued, _ = tickets.issue_ticket(ctx, "town", service, priority, "k1")
        with ctx.db.read() as s:
            counted = queue.ahead_count(s, issued.ticket)
            answers.append((issued.ticket.number, counted))
            # the answer's `ahead` is the forecast's, from the same own-queue count: the page shows the same
            page = tickets.track_body(ctx, s, issued.ticket)
            assert (issued.ahead, issued.served_now) == (page["ahead"], page["served_now"])
            assert issued.served_now is (service == "id-card")
    by_queue: dict[tuple[str, bool], int] = {}
    for (service, priority), (number, counted) in zip(plan, answers, strict=True):
        priority_ahead = by_queue.get((service, True), 0)
        expected = by_queue.get((service, priority), 0) + (0 if priority else priority_ahead)
        assert counted == expected, (number, counted, expected)
        by_queue[(service, priority)] = by_queue.get((service, priority), 0) + 1


def test_a_taken_key_rolls_the_new_ticket_back_and_answers_the_first(ctx: Context) -> None:
    key = "tap-0002-abcdefghijk"
    first, events = tickets.issue_ticket(ctx, "town", "id-card", False, "k1", "", key)
    again, none = tickets.issue_ticket(ctx, "town", "id-card", False, "k1", "", key)
    assert events and not none and again.replayed and not first.replayed
    assert (again.ticket.id, again.token, again.ahead, again.est_wait_s) == (
        first.ticket.id, first.token, first.ahead, first.est_wait_s
    )  # fmt: skip
    with ctx.db.query() as conn:  # the second attempt's number and ledger line were rolled back with it
        assert conn.execute(select(TicketRow.__table__.c.number)).scalars().all() == [first.ticket.number]
        assert len(conn.execute(select(LedgerRow.__table__.c.id)).all()) == 1
    after, _ = tickets.issue_ticket(ctx, "town", "id-card", False, "k1", "", "tap-0003-abcdefghijk")
    assert after.ticket.seq == first.ticket.seq + 1  # no number lost to the replay
    with pytest.raises(HallError) as refused:  # the same key for another service
        tickets.issue_ticket(ctx, "town", "water", False, "k1", "", key)
    assert refused.value.code == "idempotency_key_reused"


def test_a_replay_is_answered_where_a_new_ticket_would_be_refused(ctx: Context) -> None:
    """The key is written last: a tap retried after the day's numbers ran out still gets its ticket back."""
    answers = [
        tickets.issue_ticket(ctx, "town", "water", False, "k1", "", f"tap-water-{i}-abcdefgh")[0] for i in range(3)
    ]
    with pytest.raises(HallError) as refused:  # water takes 3 a day
        tickets.issue_ticket(ctx, "town", "water", False, "k1", "", "tap-water-3-abcdefgh")
    assert refused.value.code == "daily_limit"
    again, events = tickets.issue_ticket(ctx, "town", "water", False, "k1", "", "tap-water-2-abcdefgh")
    assert again.replayed and not events
    assert (again.ticket.number, again.token) == (answers[2].ticket.number, answers[2].token)
    with pytest.raises(HallError) as reused:  # the same key for another request is still refused, not replayed
        tickets.issue_ticket(ctx, "town", "water", True, "k1", "", "tap-water-2-abcdefgh")
    assert reused.value.code == "idempotency_key_reused"
