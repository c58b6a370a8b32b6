"""The `appointments` figures of daily and monthly reports (PROTOCOL v1.2), counted live from the bookings.

booked: appointments for the period's days (cancelled ones included); cancelled, checked_in, missed; on_time
(`engine.appointments.on_time`: called by start + 10 min, or check-in + 10 min when checked in late);
avg_wait_s of appointment tickets called; 预约受理率 (`acceptance_rate`: checked in of those not cancelled) and
walk-in tickets' average wait beside it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine import figures
from server.engine.appointments import AppointmentStatus, on_time
from server.engine.model import Hall
from server.store.models import AppointmentRow, TicketRow

_A = AppointmentRow.__table__.c
_T = TicketRow.__table__.c


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def appointment_figures(s: Session, hall: Hall, first: date, last: date) -> dict[str, Any]:
    rows = s.execute(
        select(_A.status, _A.start, _A.checked_in_at, _T.called_at, _T.wait_s)
        .select_from(AppointmentRow.__table__.outerjoin(TicketRow.__table__, _T.id == _A.ticket_id))
        .where(_A.hall_id == hall.id, _A.day >= first.isoformat(), _A.day <= last.isoformat())
    ).all()
    booked = len(rows)
    cancelled = sum(r.status == AppointmentStatus.CANCELLED for r in rows)
    missed = sum(r.status == AppointmentStatus.MISSED for r in rows)
    checked = [r for r in rows if r.checked_in_at is not None]
    called = [r for r in checked if r.called_at is not None]
    punctual = sum(
        on_time(_aware(r.start) or datetime.min.replace(tzinfo=UTC), _aware(r.checked_in_at), _aware(r.called_at))
        for r in called
    )
    walk = s.execute(
        select(_T.wait_s).where(
            _T.hall_id == hall.id,
            _T.day >= first.isoformat(),
            _T.day <= last.isoformat(),
            _T.called_at.is_not(None),
            _T.appointment_id.is_(None),
        )
    ).scalars()
    walk_waits = list(walk)
    return {
        "booked": booked,
        "cancelled": cancelled,
        "checked_in": len(checked),
        "missed": missed,
        "on_time": punctual,
        "avg_wait_s": round(sum(r.wait_s or 0 for r in called) / len(called)) if called else 0,
        "acceptance_rate": figures.share(len(checked), booked - cancelled),
        "walk_in_avg_wait_s": round(sum(walk_waits) / len(walk_waits)) if walk_waits else 0,
    }
