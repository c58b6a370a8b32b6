"""Staff time in the reports (issue 24): sign-in, away periods with reasons, idle time and call-to-desk time,
per counter and per clerk, replayed from the ledger by server/engine/staff.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine import staff
from server.engine.model import Hall
from server.store.models import LedgerRow

from .context import Context
from .periods import day_bounds


def report(ctx: Context, hall_id: str, first: date, last: date) -> dict[str, Any]:
    """The report's `staff` part over hall-local days first..last (up to now for today)."""
    hall = ctx.hall(hall_id)
    start, end = day_bounds(hall, first, last)
    end = max(start, min(end, ctx.clock.now()))
    with ctx.db.read() as s:
        before = _before(s, hall, start)
        lines = s.scalars(
            select(LedgerRow)
            .where(
                LedgerRow.hall_id == hall.id,
                LedgerRow.kind.in_(sorted(staff.KINDS)),
                LedgerRow.at >= start,
                LedgerRow.at < end,
            )
            .order_by(LedgerRow.id)
        ).all()
        facts = [staff.Fact(r.at, r.kind, r.ticket_id, r.counter_id, r.clerk, r.detail or {}) for r in lines]
    return staff.staff_time(hall, facts, start, end, before).body()


def _before(s: Session, hall: Hall, start: datetime) -> staff.Start:
    """Each counter's state, signed-in clerk and away reason as its last lines before `start` left them."""
    out = staff.Start()
    for counter in hall.counters:
        last_state = _last(s, hall, counter.id, staff.STATES, start)
        if last_state is not None:
            out.states[counter.id] = staff.STATES[last_state.kind]
            if last_state.kind == "away":
                out.away[counter.id] = (last_state.clerk, str((last_state.detail or {}).get("reason") or ""))
        last_sign = _last(s, hall, counter.id, staff.SIGNS, start)
        if last_sign is not None and last_sign.kind == "signed_in" and last_sign.clerk:
            out.clerks[counter.id] = last_sign.clerk
    return out


def _last(s: Session, hall: Hall, counter: str, kinds: Any, start: datetime) -> LedgerRow | None:
    return s.scalars(
        select(LedgerRow)
        .where(
            LedgerRow.hall_id == hall.id,
            LedgerRow.counter_id == counter,
            LedgerRow.kind.in_(sorted(kinds)),
            LedgerRow.at < start,
        )
        .order_by(LedgerRow.id.desc())
        .limit(1)
    ).first()
