"""The outbox of outbound events (PROTOCOL v1.2: webhooks and the 好差评 push).

A use case that reports a change to the outside world calls `emit` inside its own write transaction:
the event row commits with the change or not at all (the transactional-outbox pattern), so no event
goes out for a rolled-back change and none is lost when a process dies after commit. Delivery is the
sender's work, after commit and outside the request.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from server.engine.model import Hall
from server.engine.outbound import EVENTS
from server.store.models import OutboxRow

_INSERT = insert(cast(Table, OutboxRow.__table__))


def emit(
    s: Session, hall: Hall, event: str, data: dict[str, Any], at: datetime, *, subject: str | None = None
) -> str | None:
    """Queue one outbound event in the caller's transaction; its id, or None when no receiver wants it.

    `subject` (a ticket, appointment or matter id) keeps that subject's events in order for a receiver.
    `data` must be JSON-ready and free of personal data a receiver was not configured to get.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown outbound event {event!r}")
    if not hall.wants(event):
        return None
    event_id = secrets.token_hex(16)
    s.connection().execute(
        _INSERT,
        {"id": event_id, "hall_id": hall.id, "event": event, "subject": subject, "at": at, "data": data},
    )
    return event_id
