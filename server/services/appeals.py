"""申诉: the hall contests a bad rating it holds malicious or mistaken (PROTOCOL v1.2, issue 21).

A supervisor or admin files the appeal on the complaint case with a reason; a supervisor or admin other than
the one who filed it decides: `upheld` (the rating is set aside: the case no longer counts as a justified
complaint against the window) or `rejected`. Appeals are counted apart from the cases (`counts`). The call-back
record and its deadline stay the case's own, as before.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from server.engine.calendar import day_bounds
from server.engine.errors import HallError, invalid
from server.engine.model import Hall
from server.store.models import AppealRow, ComplaintRow

from . import ledger, outbox
from .context import Context
from .views import iso

MAX_TEXT = 1000
DECISIONS = ("upheld", "rejected")


def _text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise invalid(f"a {what} is required", "invalid_note")
    if len(value) > MAX_TEXT:
        raise invalid(f"the {what} is longer than {MAX_TEXT} characters", "invalid_note")
    return value


def body(hall: Hall, row: AppealRow | None) -> dict[str, Any] | None:
    """The appeal as a case shows it (None: never appealed)."""
    if row is None:
        return None
    return {
        "status": row.status,
        "reason": row.reason,
        "filed_by": row.filed_by,
        "filed_at": iso(hall, row.filed_at),
        "decided_by": row.decided_by,
        "decided_at": iso(hall, row.decided_at),
        "note": row.decision_note,
    }


def file(ctx: Context, complaint_id: str, reason: str, user: str) -> dict[str, Any]:
    """File the hall's appeal of a case's rating; 409 when the case has one already."""
    reason = _text(reason, "reason")
    with ctx.db.write() as s:
        # The case's row locked to commit: two appeals at once are one after the other (PostgreSQL; SQLite's write
        # lock does it already), so the second finds the first and is 409, not a duplicate key.
        case = s.get(ComplaintRow, complaint_id, with_for_update=True)
        if case is None:
            raise HallError("not_found", 404, "no such complaint")
        if s.get(AppealRow, complaint_id) is not None:
            raise HallError("already_appealed", 409, "this case has been appealed already")
        hall = ctx.hall(case.hall_id)
        now = ctx.clock.now()
        row = AppealRow(
            complaint_id=case.id, hall_id=hall.id, reason=reason, filed_by=user, filed_at=now, status="pending"
        )
        s.add(row)
        ledger.insert(s, hall.id, "appeal_filed", now, ticket_id=case.ticket_id, clerk=user)
        outbox.emit(s, hall, "complaint.changed", {**outbox.complaint_data(case), "appeal": "pending"}, now,
                    subject=case.ticket_id)  # fmt: skip
        s.flush()
        return body(hall, row) or {}


def decide(ctx: Context, complaint_id: str, decision: str, note: str, user: str) -> dict[str, Any]:
    """A supervisor's decision on a pending appeal (not the one who filed it)."""
    if decision not in DECISIONS:
        raise invalid(f"decision must be one of {', '.join(DECISIONS)}", "invalid_decision")
    note = _text(note, "note")
    with ctx.db.write() as s:
        row = s.get(AppealRow, complaint_id, with_for_update=True)  # two decisions at once: the second sees the first
        if row is None:
            raise HallError("not_appealed", 409, "this case has no appeal to decide")
        if row.status != "pending":
            raise HallError("already_decided", 409, f"the appeal was {row.status} already")
        if row.filed_by == user:
            raise HallError("own_appeal", 409, "another supervisor decides an appeal, not the one who filed it")
        case = s.get(ComplaintRow, complaint_id)
        assert case is not None
        hall = ctx.hall(row.hall_id)
        now = ctx.clock.now()
        row.status, row.decided_by, row.decided_at, row.decision_note = decision, user, now, note
        ledger.insert(s, hall.id, f"appeal_{decision}", now, ticket_id=case.ticket_id, clerk=user)
        outbox.emit(s, hall, "complaint.changed", {**outbox.complaint_data(case), "appeal": decision}, now,
                    subject=case.ticket_id)  # fmt: skip
        s.flush()
        return body(hall, row) or {}


def upheld_ids(s: Any, hall_id: str) -> set[str]:
    """Cases whose appeal was upheld: their rating is set aside."""
    return set(
        s.scalars(select(AppealRow.complaint_id).where(AppealRow.hall_id == hall_id, AppealRow.status == "upheld"))
    )


def counts(ctx: Context, hall_id: str, first: date, last: date) -> dict[str, int]:
    """Appeals filed between two hall-local days, by their state: counted apart from the cases."""
    hall = ctx.hall(hall_id)
    start, _ = day_bounds(first, hall.timezone)
    _, end = day_bounds(last, hall.timezone)
    with ctx.db.read() as s:
        rows = s.scalars(
            select(AppealRow.status).where(
                AppealRow.hall_id == hall.id, AppealRow.filed_at >= start, AppealRow.filed_at < end
            )
        ).all()
    return {
        "filed": len(rows),
        "pending": rows.count("pending"),
        "upheld": rows.count("upheld"),
        "rejected": rows.count("rejected"),
    }
