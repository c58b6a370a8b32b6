"""一次性告知: the written notice of missing materials, and the return visit it links.

A matter finished as `incomplete` gets one notice: the missing items, the service, the counter
and clerk, and a short unguessable code printed on the slip. When the resident comes back and
gives the code at the kiosk, the new ticket is linked to the first visit (`repeat_of`) and goes
first; the ledger's `issued` line carries the link, so reports can count repeat visits (跑两趟).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.errors import HallError
from server.engine.model import Hall
from server.engine.privacy import mask_personal
from server.store.models import NoticeRow, TicketRow

from .context import Context
from .views import iso

# No 0/O, 1/I/L: a code is read aloud and typed from paper. 31 symbols, 10 of them: about 50 bits.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LEN = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))


def normalize(code: str) -> str | None:
    """The stored form of a code as a person typed or a scanner read it (case, spaces and dashes ignored)."""
    if not isinstance(code, str) or len(code) > 40:
        return None
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    if len(cleaned) != CODE_LEN or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def shown(code: str) -> str:
    """The printed form: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def create(
    s: Session, hall: Hall, ticket: TicketRow, counter_id: str, clerk: str | None, missing: list[str],
    note: str | None, now: datetime,
) -> NoticeRow:  # fmt: skip
    """Record the notice for a ticket finished with materials missing (inside the finish transaction)."""
    row = NoticeRow(
        id=secrets.token_hex(8),
        code=new_code(),
        hall_id=hall.id,
        ticket_id=ticket.id,
        service_id=ticket.service_id,
        counter_id=counter_id,
        clerk=clerk,
        missing=list(missing),
        note=note,
        created_at=now,
    )
    s.add(row)
    return row


def find(s: Session, hall_id: str | None, code: str, lock: bool = False) -> NoticeRow:
    """The notice with this code (in this hall, when given), or a 404; `lock`: held to commit (PostgreSQL)."""
    cleaned = normalize(code)
    query = select(NoticeRow).where(NoticeRow.code == cleaned)
    row = s.scalars(query.with_for_update() if lock else query).first() if cleaned else None
    if row is None or (hall_id is not None and row.hall_id != hall_id):
        raise HallError("not_found", 404, "unknown notice code")
    return row


def redeem(s: Session, hall: Hall, code: str, ticket: TicketRow, now: datetime) -> NoticeRow:
    """Link a return visit's new ticket to the first one; a code serves one return visit only."""
    row = find(s, hall.id, code, lock=True)  # two kiosks given the same code: one return visit, not two
    if row.redeemed_by is not None:
        raise HallError("notice_used", 409, "this notice's code was already used for a return visit")
    row.redeemed_by, row.redeemed_at = ticket.id, now
    ticket.repeat_of = row.ticket_id
    return row


def body(ctx: Context, s: Session, row: NoticeRow) -> dict[str, Any]:
    """GET /api/v1/notices/{code}: what the notice says; no personal data is ever on it (it is printed in
    the public hall and shown at the kiosk: a mobile or ID number a clerk typed into the items or the note
    is masked)."""
    hall = ctx.hall(row.hall_id)
    service = hall.service(row.service_id)
    counter = hall.counter(row.counter_id)
    first = s.get(TicketRow, row.ticket_id)
    return {
        "code": shown(row.code),
        "hall": hall.id,
        "hall_name": hall.name,
        "service": row.service_id,
        "service_name": service.name if service else row.service_id,
        "counter": row.counter_id,
        "counter_name": counter.name if counter else row.counter_id,
        "counter_name_en": counter.name_in(True) if counter else row.counter_id,  # the English pages' name
        "ticket_number": first.number if first else None,
        "missing": body_items(row),
        "note": mask_personal(row.note) if row.note else row.note,
        "issued_at": iso(hall, row.created_at),
        "used": row.redeemed_by is not None,
    }


def body_items(row: NoticeRow) -> list[str]:
    """The missing items as the public may read them (a mobile or ID number typed into one is masked)."""
    return [mask_personal(item) for item in row.missing]


def show(ctx: Context, code: str) -> dict[str, Any]:
    with ctx.db.read() as s:
        return body(ctx, s, find(s, None, code))
