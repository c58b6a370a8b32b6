"""The outbox: an outbound event is written in the transaction of its change, or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from support.app import AppHall

from server.services import outbox
from server.store.models import OutboxRow

WEBHOOK = """
[[hall.webhook]]
url = "http://127.0.0.1:9/hooks"
secret = "a-secret-of-twenty-chars"
events = ["ticket.issued", "matter.changed"]
"""


def with_webhook(text: str) -> str:
    """The test hall "town" with a receiver (its tables end where the second hall, "east", begins)."""
    anchor = '\n[[hall]]\nid = "east"'
    assert text.count(anchor) == 1
    return text.replace(anchor, WEBHOOK + anchor)


def rows(app: AppHall) -> list[OutboxRow]:
    with app.ctx.db.read() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.seq)))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_event_commits_with_its_change_and_vanishes_with_a_rollback(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    app = make_app_hall(kind, edit=with_webhook)
    hall = app.ctx.hall("town")
    now = app.clock.now()
    with app.ctx.db.write() as s:
        kept = outbox.emit(s, hall, "matter.changed", {"number": "2026-0001"}, now, subject="m1")
    with pytest.raises(RuntimeError), app.ctx.db.write() as s:
        outbox.emit(s, hall, "matter.changed", {"number": "2026-0002"}, now, subject="m2")
        raise RuntimeError("the change failed after the event was queued")
    found = rows(app)
    assert [(r.id, r.event, r.subject, r.data) for r in found] == [
        (kept, "matter.changed", "m1", {"number": "2026-0001"})
    ]


def test_no_row_for_an_event_no_receiver_takes(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=with_webhook)
    hall = app.ctx.hall("town")
    with app.ctx.db.write() as s:
        assert outbox.emit(s, hall, "counter.changed", {"counter": "w1"}, app.clock.now()) is None
    assert rows(app) == []


def test_an_unknown_event_name_is_a_programming_error(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=with_webhook)
    hall: Any = app.ctx.hall("town")
    with pytest.raises(ValueError, match="unknown outbound event"), app.ctx.db.write() as s:
        outbox.emit(s, hall, "ticket.teleported", {}, app.clock.now())
    assert rows(app) == []
