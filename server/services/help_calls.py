"""求助 (issue 24): a clerk asks for a supervisor from the counter page; /admin hears it live as an alert, and a
supervisor acknowledges it. Both go into the ledger (`help_asked`, `help_acknowledged`) with who."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.errors import HallError
from server.engine.model import Hall
from server.store.models import AlertRow

from . import ledger
from .alerts import _body
from .context import Context

KIND = "help"
PREFIX = "help:"  # alerts.scan leaves these alone: only a supervisor clears them


def _live(s: Session, hall: Hall, counter_id: str) -> AlertRow | None:
    return s.scalars(
        select(AlertRow).where(
            AlertRow.hall_id == hall.id, AlertRow.key == PREFIX + counter_id, AlertRow.cleared_at.is_(None)
        )
    ).first()


def ask(ctx: Context, counter_id: str, clerk: str | None) -> dict[str, Any]:
    """Raise the counter's help alert (once: asking again while it is open changes nothing)."""
    hall, counter = ctx.counter(counter_id)
    with ctx.db.write() as s:
        row = _live(s, hall, counter.id)
        if row is None:
            now = ctx.clock.now()
            detail = {"counter": counter.id, "counter_name": counter.name, "clerk": clerk}
            row = AlertRow(hall_id=hall.id, key=PREFIX + counter.id, kind=KIND, detail=detail, raised_at=now)
            s.add(row)
            ledger.append(s, hall.id, "help_asked", now, counter=counter.id, clerk=clerk)
        s.flush()
        return _body(hall, row)


def alert_hall(ctx: Context, alert_id: int) -> Hall:
    with ctx.db.read() as s:
        row = s.get(AlertRow, alert_id)
    if row is None or row.kind != KIND:
        raise HallError("not_found", 404, "no such help request")
    return ctx.hall(row.hall_id)


def acknowledge(ctx: Context, alert_id: int, who: str) -> dict[str, Any]:
    """A supervisor answers the help request: the alert is cleared, the counter page hears it."""
    with ctx.db.write() as s:
        row = s.get(AlertRow, alert_id, with_for_update=True)
        if row is None or row.kind != KIND:
            raise HallError("not_found", 404, "no such help request")
        if row.cleared_at is not None:
            raise HallError("already_acknowledged", 409, "this help request was answered already")
        hall = ctx.hall(row.hall_id)
        now = ctx.clock.now()
        row.cleared_at = now
        row.detail = {**(row.detail or {}), "acknowledged_by": who}
        counter = (row.detail or {}).get("counter")
        ledger.append(s, hall.id, "help_acknowledged", now, counter=counter, clerk=who, alert=row.id)
        s.flush()
        return _body(hall, row)


def live_for(s: Session, hall: Hall, counter_id: str) -> dict[str, Any] | None:
    """The counter's open help request, for its desk."""
    row = _live(s, hall, counter_id)
    return None if row is None else {"id": row.id, "raised_at": _body(hall, row)["raised_at"]}
