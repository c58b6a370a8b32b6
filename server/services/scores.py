"""The monthly window score (考核, HALL_RULES 12): each window's lapses, each traced to its ledger lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine import figures
from server.engine.model import Hall
from server.store.models import ComplaintRow, LedgerRow

from . import appeals
from .coverage import read_lines

JUSTIFIED = ("verified", "resolved")  # a case verified by the call back, or fixed: not dismissed


def lapses(
    s: Session, hall: Hall, start: datetime, end: datetime, late: list[list[str]], uncovered: dict[str, Any]
) -> Iterable[figures.Lapse]:
    """Each window's lapses in the period, with their ledger line ids (HALL_RULES 12)."""
    for row in uncovered["desertions"]:
        yield figures.Lapse(row["counter"], "uncovered_absence", (row["event"],))
    for line in read_lines(s, hall, ("closed_out",), start, end):
        if line.counter_id:  # held at a window when the day closed: the matter was left unfinished
            yield figures.Lapse(line.counter_id, "overdue_matter", (line.id,))
    yield from _late_promised(s, late)
    cases = s.scalars(
        select(ComplaintRow).where(
            ComplaintRow.hall_id == hall.id,
            ComplaintRow.opened_at >= start,
            ComplaintRow.opened_at < end,
            ComplaintRow.status.in_(JUSTIFIED),
        )
    ).all()
    set_aside = appeals.upheld_ids(s, hall.id) if cases else set()  # 申诉 upheld: the rating does not count
    for case in (c for c in cases if c.id not in set_aside):
        lines = s.scalars(
            select(LedgerRow).where(
                LedgerRow.hall_id == hall.id,
                LedgerRow.kind.in_(("rated", "complaint_opened", "complaint_verified", "complaint_resolved")),
                LedgerRow.at >= case.opened_at,
            )
        ).all()
        mine = [x for x in lines if (x.ticket_id or (x.detail or {}).get("ticket_id")) == case.ticket_id]
        counter = next((x.counter_id for x in mine if x.counter_id), None)
        if counter:
            yield figures.Lapse(counter, "justified_complaint", tuple(sorted(x.id for x in mine)))


def _late_promised(s: Session, late: list[list[str]]) -> Iterable[figures.Lapse]:
    """Promised matters finished after their time limit ([counter, ticket] from the day totals): the
    ticket's `finished` line is the evidence."""
    for counter, ticket in late:
        line = s.scalars(
            select(LedgerRow.id).where(LedgerRow.ticket_id == ticket, LedgerRow.kind == "finished")
        ).first()
        if line is not None:
            yield figures.Lapse(counter, "overdue_matter", (line,))
