"""Issuing tickets and answering a resident's ticket page."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.engine.errors import HallError
from server.engine.events import Event, QueueChanged, TicketChanged
from server.engine.model import Hall, Service, TicketStatus
from server.engine.numbering import check_limit, format_number
from server.store.models import NumberSeqRow, RatingRow, TicketRow

from . import board, ledger, queue
from .context import Context


@dataclass(frozen=True)
class Issued:
    ticket: TicketRow
    token: str  # shown once: printed as the QR code, never stored in clear
    ahead: int
    est_wait_s: int
    served_now: bool  # PROTOCOL v1.1: false while nobody serves its queue (then the estimate is no promise)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(8)


def issue_ticket(
    ctx: Context, hall_id: str, service_id: str, priority: bool = False, kiosk_id: str | None = None
) -> tuple[Issued, list[Event]]:
    """Hand out the next number of a service, if it is open and under its daily limit.

    One transaction of five prepared statements: the ledger's last line (is the shared forecast
    still exact?), the number, the ticket, its ledger line, and the people ahead from the queue index.
    """
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    if kiosk_id is not None:
        ctx.kiosk(hall, kiosk_id)
    _check_open(service, hall, ctx.clock.now())  # refuse early, before taking any lock
    token = secrets.token_urlsafe(24)  # 192 bits
    with ctx.db.write() as s:
        before = board.ledger_head(s)
        # The clock is read while holding the lock that orders numbers (SQLite's write lock, or
        # the number row's lock on PostgreSQL, taken by the UPDATE in _next_seq and held to commit):
        # a later number can then never carry an earlier issue time (HALL_RULES 1, docs/api.md).
        day = hall.day_of(ctx.clock.now())
        seq = _next_seq(s, hall, service, day)
        now = ctx.clock.now()
        if hall.day_of(now) != day:  # midnight passed while waiting for the lock: number it in the new day
            day = hall.day_of(now)
            seq = _next_seq(s, hall, service, day)
        _check_open(service, hall, now)
        row = TicketRow(
            id=new_id(),
            hall_id=hall.id,
            service_id=service.id,
            issued_service=service.id,
            day=day,
            seq=seq,
            number=format_number(service.prefix, seq, hall.number_width),
            priority=priority,
            status=TicketStatus.WAITING.value,
            token_hash=token_hash(token),
            kiosk_id=kiosk_id,
            issued_at=now,
            order_at=now,
            waiting_since=now,  # timing.Clock after "issued"
            serving_since=None,
            wait_s=0,
            service_s=0,
            recalls=0,
            transfers=0,
        )
        s.connection().execute(_INSERT_TICKET, _ticket_values(row))
        ledger.insert(s, hall.id, "issued", now, ticket_id=row.id, service=service.id, priority=priority or None)
        ahead = queue.ahead_count(s, row)
        where = ctx.boards.quick_place(s, hall, row, ahead, now, before)
    if where is None:  # a small hall, or no background refresh: work the forecast out now
        with ctx.db.read() as s:  # the forecast reads the whole hall: not while holding the write lock
            where = ctx.boards.place(s, hall, row, ahead, now)
    # A normal ticket joins the end of its queue: nobody else's place moves. A priority one overtakes.
    joined = QueueChanged(hall.id, frozenset({service.id}), places_moved=priority)
    events: list[Event] = [joined, TicketChanged(hall.id, row.id)]
    return Issued(row, token, where.ahead, where.est_wait_s, where.served_now), events


def _check_open(service: Service, hall: Hall, now: datetime) -> None:
    if not service.enabled or not service.hours.is_open(hall.local(now)):
        raise HallError("service_closed", 409, "this service is not taking tickets now")


_TICKET_COLUMNS = [c.key for c in TicketRow.__table__.columns]
_INSERT_TICKET = insert(TicketRow.__table__)


def _ticket_values(row: TicketRow) -> dict[str, Any]:
    return {key: getattr(row, key, None) for key in _TICKET_COLUMNS}


_SEQ = {
    name: dialect.insert(NumberSeqRow.__table__)
    .values(hall_id=bindparam("hall"), service_id=bindparam("service"), day=bindparam("day"), last=1)
    .on_conflict_do_update(
        index_elements=["hall_id", "service_id", "day"], set_={"last": NumberSeqRow.__table__.c.last + 1}
    )
    .returning(NumberSeqRow.__table__.c.last)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _next_seq(s: Session, hall: Hall, service: Service, day: str) -> int:
    """Take the day's next sequence number in one upsert; the row lock makes it unique across processes."""
    statement = _SEQ["postgresql" if s.get_bind().dialect.name == "postgresql" else "sqlite"]
    seq = int(s.connection().execute(statement, {"hall": hall.id, "service": service.id, "day": day}).scalar_one())
    check_limit(seq, service.daily_limit, hall.number_width)  # raising rolls the increment back
    return seq


def find_by_token(s: Session, token: str) -> TicketRow:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise HallError("not_found", 404, "unknown ticket")
    row = s.scalars(_BY_TOKEN, {"hash": token_hash(token)}).first()
    if row is None:
        raise HallError("not_found", 404, "unknown ticket")
    return row


_RATED = select(RatingRow.__table__.c.id).where(RatingRow.__table__.c.ticket_id == bindparam("ticket")).limit(1)
_BY_TOKEN = select(TicketRow).where(TicketRow.token_hash == bindparam("hash"))


def track_body(ctx: Context, s: Session, row: Any, where: queue.Place | None = None) -> dict[str, Any]:
    """The resident's view of one ticket: GET /api/v1/track/{token}.

    `row` is a TicketRow or a plain row of the queue columns; `where`, when the caller already knows
    the ticket's place (the publisher reads a whole queue at once).
    """
    hall = ctx.hall(row.hall_id)
    if where is None:
        where = queue.NOT_WAITING
        if row.status == TicketStatus.WAITING.value:
            where = ctx.boards.place(s, hall, row, queue.ahead_count(s, row), ctx.clock.now())
    counter_name = None
    counter_id = row.counter_id if row.status != TicketStatus.WAITING.value else None
    if counter_id is not None:
        found = hall.counter(counter_id)
        counter_name = found.name if found is not None else None
    rated = (
        row.status == TicketStatus.DONE.value and s.connection().execute(_RATED, {"ticket": row.id}).first() is not None
    )
    return {
        "number": row.number,
        "status": row.status,
        "ahead": where.ahead,
        "est_wait_s": where.est_wait_s,
        "served_now": where.served_now,
        "counter": counter_name,
        "can_rate": row.status == TicketStatus.DONE.value and not rated,
        "service": row.service_id,
        # closed_out: why the ticket was not served (the day closed with it still in the hall)
        "reason": "day_closed" if row.status == TicketStatus.CLOSED_OUT.value else None,
    }


def track(ctx: Context, token: str) -> dict[str, Any]:
    with ctx.db.read() as s:
        return track_body(ctx, s, find_by_token(s, token))
