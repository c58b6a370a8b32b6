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

from . import appeals, matters
from .coverage import read_lines

JUSTIFIED = ("verified", "resolved")
MATTER_LINES = (
    "matter_accepted",
    "matter_result_ready",
)  # a late matter's evidence  # a case verified by the call back, or fixed: not dismissed


def lapses(
    s: Session, hall: Hall, start: datetime, end: datetime, now: datetime, uncovered: dict[str, Any]
) -> Iterable[figures.Lapse]:
    """Each window's lapses in the period, with their ledger line ids (HALL_RULES 12)."""
    for row in uncovered["desertions"]:
        yield figures.Lapse(row["counter"], "uncovered_absence", (row["event"],))
    for line in read_lines(s, hall, ("closed_out",), start, end):
        if line.counter_id:  # held at a window when the day closed: the matter was left unfinished
            yield figures.Lapse(line.counter_id, "overdue_matter", (line.id,))
    yield from late_matters(s, hall, start, end, now)
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
        # a ticket may hold two cases (the visit's rating and its matter's result): a case's own lines name it
        mine = [
            x
            for x in lines
            if (x.ticket_id or (x.detail or {}).get("ticket_id")) == case.ticket_id
            and (x.detail or {}).get("complaint", case.id) == case.id
        ]
        counter = next((x.counter_id for x in mine if x.counter_id), None)
        if counter:
            yield figures.Lapse(counter, "justified_complaint", tuple(sorted(x.id for x in mine)))


def late_matters(s: Session, hall: Hall, start: datetime, end: datetime, now: datetime) -> Iterable[figures.Lapse]:
    """Matters due in the period whose result came late or not at all, charged to the owner window; the
    evidence is the matter's ledger lines (accepted, and the late result when there is one)."""
    late = {m.id: m for m in matters.overdue_rows(s, hall, start, end, now) if m.owner_counter}
    if not late:
        return
    lines: dict[str, list[int]] = {}
    # Read by the matters' tickets (indexed), not a scan of every matter line since the earliest acceptance;
    # a staff-opened matter has no ticket, and only then are the period's matter lines read.
    tickets = sorted({m.ticket_id for m in late.values() if m.ticket_id})
    base = select(LedgerRow.id, LedgerRow.detail).where(
        LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(MATTER_LINES), LedgerRow.at < min(end, now)
    )
    queries = [base.where(LedgerRow.ticket_id.in_(tickets[i : i + 500])) for i in range(0, len(tickets), 500)]
    ticketless = [m.accepted_at for m in late.values() if not m.ticket_id]
    if ticketless:
        queries.append(base.where(LedgerRow.ticket_id.is_(None), LedgerRow.at >= min(ticketless)))
    for query in queries:
        for line_id, detail in s.execute(query):
            matter = (detail or {}).get("matter")
            if matter in late:
                lines.setdefault(matter, []).append(line_id)
    for mid, m in sorted(late.items(), key=lambda kv: kv[1].due_at):
        yield figures.Lapse(str(m.owner_counter), "overdue_matter", tuple(sorted(lines.get(mid, []))))
