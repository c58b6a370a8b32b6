"""What /admin shows of outbound events: each delivery's state (sent, pending, failed; tries; the receiver's
last answer), a re-send, and the receivers that keep failing (an alert)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from server.engine.errors import HallError
from server.engine.model import Hall
from server.store.models import DeliveryRow, OutboxRow

from . import ledger, outbox
from .context import Context
from .views import iso

STATUSES = ("pending", "sent", "failed")
FAILING_TRIES = 3  # a receiver is failing once an event has been tried this often without a 2xx


def listing(ctx: Context, hall_id: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The hall's latest deliveries, newest first."""
    hall = ctx.hall(hall_id)
    query = (
        select(DeliveryRow, OutboxRow.event)
        .join(OutboxRow, OutboxRow.id == DeliveryRow.event_id)
        .where(DeliveryRow.hall_id == hall.id)
        .order_by(DeliveryRow.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(DeliveryRow.status == status)
    with ctx.db.read() as s:
        return [body(hall, d, event) for d, event in s.execute(query)]


def body(hall: Hall, d: DeliveryRow, event: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "event": event,
        "target": d.target,
        "subject": d.subject,
        "status": d.status,
        "tries": d.tries,
        "created_at": iso(hall, d.created_at),
        "next_at": iso(hall, d.next_at) if d.status == "pending" else None,
        "last_at": iso(hall, d.last_at),
        "last_status": d.last_status,
        "last_answer": d.last_answer,
        "sent_at": iso(hall, d.sent_at),
    }


def hall_of(ctx: Context, delivery_id: int) -> str:
    """The hall of a delivery (for the permission check); 404 when unknown."""
    with ctx.db.read() as s:
        hall_id = s.scalars(select(DeliveryRow.hall_id).where(DeliveryRow.id == delivery_id)).first()
    if hall_id is None:
        raise HallError("not_found", 404, "no such delivery")
    return hall_id


def resend(ctx: Context, delivery_id: int, user: str) -> dict[str, Any]:
    """Send one delivery again now (a failed one, or one the receiver lost); the ledger names who asked."""
    with ctx.db.write() as s:
        now = ctx.clock.now()
        row = outbox.resend(s, delivery_id, now)
        if row is None:
            raise HallError("not_found", 404, "no such delivery")
        hall = ctx.hall(row.hall_id)
        ledger.insert(s, hall.id, "delivery_resent", now, clerk=user, delivery=row.id, event_id=row.event_id)
        event = s.scalars(select(OutboxRow.event).where(OutboxRow.id == row.event_id)).one()
        s.flush()
        return body(hall, row, event)


def failing(ctx: Context, hall: Hall) -> dict[str, dict[str, Any]]:
    """Receivers failing now: {target: {"failed", "retrying"}} counted over the last day."""
    since = ctx.clock.now() - timedelta(days=1)
    with ctx.db.read() as s:
        rows = s.execute(
            select(DeliveryRow.target, DeliveryRow.status, func.count())
            .where(
                DeliveryRow.hall_id == hall.id,
                DeliveryRow.created_at >= since,
                (DeliveryRow.status == "failed")
                | ((DeliveryRow.status == "pending") & (DeliveryRow.tries >= FAILING_TRIES)),
            )
            .group_by(DeliveryRow.target, DeliveryRow.status)
        ).all()
    found: dict[str, dict[str, Any]] = {}
    for target, status, count in rows:
        entry = found.setdefault(target, {"target": target, "failed": 0, "retrying": 0})
        entry["failed" if status == "failed" else "retrying"] += count
    return found
