"""The outbox of outbound events (PROTOCOL v1.2: webhooks and the 好差评 push).

A use case that reports a change to the outside world calls `emit` inside its own write transaction:
the event row commits with the change or not at all (the transactional-outbox pattern), so no event
goes out for a rolled-back change and none is lost when a process dies after commit. Delivery is the
sender's work, after commit and outside the request (server/sender.py): it claims due deliveries here,
posts them, and records each try here.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from server.engine.model import Hall
from server.engine.outbound import EVENTS, backoff_s
from server.engine.privacy import mask_personal
from server.store.db import Database, connection
from server.store.models import DeliveryRow, OutboxRow

# Jitter from a generator of our own: the module-level one belongs to whoever seeds it (Hypothesis does in tests).
_JITTER = random.Random()  # noqa: S311

_INSERT = insert(cast(Table, OutboxRow.__table__))
_INSERT_DELIVERY = insert(cast(Table, DeliveryRow.__table__))
CLAIM_S = 60  # a claimed delivery is another sender's again after this (its sender died mid-try)
EVALUATION = "evaluation"  # the target of the 好差评 push (a webhook's target is its url)


def emit(
    s: Session, hall: Hall, event: str, data: dict[str, Any], at: datetime, *, subject: str | None = None
) -> str | None:
    """Queue one outbound event in the caller's transaction; its id, or None when no receiver wants it.

    `subject` (a ticket, appointment or matter id) keeps that subject's events in order for a receiver.
    `data` must be JSON-ready and free of personal data a receiver was not configured to get.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown outbound event {event!r}")
    targets = targets_of(hall, event)
    if not targets:
        return None
    event_id = secrets.token_hex(16)
    conn = connection(s)
    conn.execute(
        _INSERT,
        {"id": event_id, "hall_id": hall.id, "event": event, "subject": subject, "at": at, "data": data},
    )
    conn.execute(
        _INSERT_DELIVERY,
        [
            {"event_id": event_id, "hall_id": hall.id, "target": t, "subject": subject, "status": "pending",
             "tries": 0, "created_at": at, "next_at": at}
            for t in targets
        ],
    )  # fmt: skip
    return event_id


def targets_of(hall: Hall, event: str) -> list[str]:
    """Where an event of this hall goes: each webhook that takes it (by url, once), and every rating to the
    好差评 platform when the hall pushes them (the same outbox: in the rating's transaction, retried)."""
    push = event == "rating.created" and hall.evaluation_push is not None
    if not push and not hall.wants(event):
        return []
    found = list(dict.fromkeys(w.url for w in hall.webhooks if w.wants(event)))
    return [*found, EVALUATION] if push else found


# -- the sender's side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A delivery a sender has claimed: what to post, and where."""

    delivery: int
    event_id: str
    event: str
    hall_id: str
    target: str
    at: datetime
    data: dict[str, Any]
    created_at: datetime
    tries: int


_EARLIER = aliased(DeliveryRow)


def claim(db: Database, now: datetime, limit: int = 100, done: list[Try] | None = None) -> list[Due]:
    """Take up to `limit` due deliveries for CLAIM_S: each the oldest pending one of its subject at its
    receiver (a subject's events go out in order); on PostgreSQL rows another sender has locked are
    skipped (SKIP LOCKED), and the claim is one guarded UPDATE on both databases. The tries that ended
    (`done`) are recorded first, in the same transaction: one write a round, however many events."""
    with db.write() as s:
        if done:
            _record(s, done, now)
        if limit <= 0:
            return []
        blocked = exists().where(
            _EARLIER.target == DeliveryRow.target,
            _EARLIER.subject == DeliveryRow.subject,
            _EARLIER.status == "pending",
            _EARLIER.id < DeliveryRow.id,
        )
        query = (
            select(DeliveryRow.id)
            .where(
                DeliveryRow.status == "pending",
                DeliveryRow.next_at <= now,
                (DeliveryRow.claimed_until.is_(None)) | (DeliveryRow.claimed_until < now),
                ~blocked,
            )
            .order_by(DeliveryRow.id)
            .limit(limit)
        )
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=DeliveryRow)
        ids = list(s.scalars(query))
        if not ids:
            return []
        s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids), DeliveryRow.status == "pending")
            .values(claimed_until=now + timedelta(seconds=CLAIM_S))
            .execution_options(synchronize_session=False)
        )
        rows = s.execute(
            select(DeliveryRow, OutboxRow)
            .join(OutboxRow, OutboxRow.id == DeliveryRow.event_id)
            .where(DeliveryRow.id.in_(ids))
            .order_by(DeliveryRow.id)
        ).all()
        return [Due(d.id, o.id, o.event, o.hall_id, d.target, o.at, o.data, d.created_at, d.tries) for d, o in rows]


def release_claims(db: Database) -> None:
    """Free every claim: the sender that made them lost its lease (killed, or stalled past it), and
    whatever it had in hand goes out again (at least once)."""
    with db.write() as s:
        s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.status == "pending", DeliveryRow.claimed_until.is_not(None))
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Try:
    """The outcome of posting one claimed delivery."""

    due: Due
    status: int | None  # the receiver's HTTP status; None: no answer (refused, timed out, ...)
    answer: str  # the start of its answer, or what went wrong
    retry_hours: int  # the receiver's retry window (a target no longer configured: 0, failed at once)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def record(db: Database, tries: list[Try], now: datetime) -> None:
    """Record a batch of tries in one transaction: sent, due again after a backoff, or failed."""
    if not tries:
        return
    with db.write() as s:
        _record(s, tries, now)


def _record(s: Session, tries: list[Try], now: datetime) -> None:
    sent: dict[tuple[int | None, str], list[int]] = {}  # by answer: receivers mostly answer alike
    for t in tries:
        if t.ok:
            sent.setdefault((t.status, t.answer[:300]), []).append(t.due.delivery)
    for (status, answer), ids in sent.items():
        s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids), DeliveryRow.status == "pending")
            .values(
                status="sent",
                sent_at=now,
                last_at=now,
                tries=DeliveryRow.tries + 1,
                claimed_until=None,
                last_status=status,
                last_answer=answer,
            )  # fmt: skip
            .execution_options(synchronize_session=False)
        )
    for t in tries:
        answer = t.answer[:300]
        if t.ok:
            continue
        count = t.due.tries + 1
        give_up = now >= t.due.created_at + timedelta(hours=t.retry_hours)
        s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == t.due.delivery, DeliveryRow.status == "pending")
            .values(
                status="failed" if give_up else "pending",
                tries=count,
                last_at=now,
                last_status=t.status,
                last_answer=answer,
                claimed_until=None,
                next_at=now + timedelta(seconds=backoff_s(count, _JITTER.random())),  # noqa: S311 - jitter
            )
            .execution_options(synchronize_session=False)
        )


def resend(s: Session, delivery_id: int, now: datetime) -> DeliveryRow | None:
    """Put one delivery (sent or failed) back in the queue for a try now; None when unknown."""
    row = s.get(DeliveryRow, delivery_id)
    if row is None:
        return None
    row.status, row.next_at, row.claimed_until = "pending", now, None
    return row


# -- the events' data (what a receiver gets: ids and figures, no resident's personal data) ---------------


def ticket_data(ticket: Any, **more: Any) -> dict[str, Any]:
    """A ticket event's `data`: the ticket, its number and service, the counter that holds or served it."""
    return {
        "ticket": ticket.id,
        "number": ticket.number,
        "service": ticket.service_id,
        "status": ticket.status,
        "counter": ticket.counter_id or ticket.served_by,
        "priority": bool(ticket.priority),
        **more,
    }


def rating_data(ticket: Any, rating: Any, assess_number: int = 1) -> dict[str, Any]:
    """rating.created: the rating of a served ticket (what the 好差评 push is made of); the comment masked.
    `assess_number` 2: the resident's second rating (追评) after their complaint was answered."""
    comment = rating.comment if assess_number == 1 else rating.followup_comment
    return {
        "rating": rating.id,
        "ticket": ticket.id,
        "number": ticket.number,
        "service": ticket.service_id,
        "counter": rating.counter_id,
        "clerk": rating.clerk,
        "level": rating.level if assess_number == 1 else rating.followup_level,
        "tags": rating.tags.split(",") if rating.tags and assess_number == 1 else [],
        "comment": mask_personal(comment) if comment else None,
        "channel": "resident_page",
        "assess_number": assess_number,
        "issued_at": ticket.issued_at.isoformat(timespec="seconds"),
    }


def complaint_data(case: Any) -> dict[str, Any]:
    """complaint.changed: a bad rating's case moved (opened, verified, resolved, dismissed)."""
    return {
        "complaint": case.id,
        "ticket": case.ticket_id,
        "status": case.status,
        "level": case.level,
        "callback_due_at": case.callback_due_at.isoformat(timespec="seconds"),
        "due_at": case.due_at.isoformat(timespec="seconds"),
    }
