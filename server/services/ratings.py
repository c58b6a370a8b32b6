"""好差评: one rating per served ticket; a bad one opens a complaint case with deadlines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.engine.errors import HallError, invalid
from server.engine.events import Event, TicketChanged
from server.engine.model import TicketStatus
from server.store.models import ComplaintRow, RatingRow, TicketRow

from . import ledger
from .context import Context
from .tickets import find_by_token, new_id
from .views import iso

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
MAX_COMMENT = 500


def rate(ctx: Context, token: str, level: int, comment: str | None) -> tuple[dict[str, Any], list[Event]]:
    """Record the resident's rating of a finished ticket, once."""
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise invalid("level must be an integer from 1 (非常不满意) to 5 (非常满意)", "invalid_level")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise invalid(f"comment is longer than {MAX_COMMENT} characters")
    try:
        with ctx.db.write() as s:
            ticket = find_by_token(s, token)
            now = ctx.clock.now()
            hall = ctx.hall(ticket.hall_id)
            if ticket.status != TicketStatus.DONE.value:
                raise HallError("not_served", 409, "the ticket can be rated once it has been served")
            if s.scalars(select(RatingRow.id).where(RatingRow.ticket_id == ticket.id)).first():
                raise HallError("already_rated", 409, "this service has been rated already")
            rating = RatingRow(
                id=new_id(),
                ticket_id=ticket.id,
                hall_id=hall.id,
                level=level,
                comment=comment or None,
                at=now,
                counter_id=ticket.served_by,
                clerk=ticket.clerk,
            )
            s.add(rating)
            ledger.append(s, hall.id, "rated", now, ticket=ticket, counter=ticket.served_by, level=level)
            if level <= 2:
                settings = ctx.config.settings
                s.add(
                    ComplaintRow(
                        id=new_id(),
                        hall_id=hall.id,
                        ticket_id=ticket.id,
                        rating_id=rating.id,
                        level=level,
                        comment=comment or None,
                        status="open",
                        opened_at=now,
                        callback_due_at=hall.deadline(now, settings.callback_days),
                        due_at=hall.deadline(now, settings.fix_days),
                    )
                )
                ledger.insert(s, hall.id, "complaint_opened", now, ticket_id=ticket.id, counter=ticket.served_by)
            s.flush()
    except IntegrityError:  # two ratings raced; the unique ticket_id kept the first
        raise HallError("already_rated", 409, "this service has been rated already") from None
    return {"id": rating.id, "level": level}, [TicketChanged(hall.id, ticket.id)]


def complaints(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    """Complaint cases of a hall, newest first."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = s.execute(
            select(ComplaintRow, TicketRow.number)
            .join(TicketRow, TicketRow.id == ComplaintRow.ticket_id)
            .where(ComplaintRow.hall_id == hall.id)
            .order_by(ComplaintRow.opened_at.desc())
        ).all()
    return [
        {
            "id": c.id,
            "ticket": c.ticket_id,
            "number": number,
            "level": c.level,
            "comment": c.comment,
            "status": c.status,
            "opened_at": iso(hall, c.opened_at),
            "callback_due_at": iso(hall, c.callback_due_at),
            "due_at": iso(hall, c.due_at),
        }
        for c, number in rows
    ]
