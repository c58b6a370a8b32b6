"""Alerts for supervisors: long waits, queues nobody serves, complaint cases due, kiosk printers in trouble,
a webhook receiver that keeps failing.

The scheduler scans each hall every tick; a condition keeps one row while it lasts (raised once, cleared
once), so /admin hears of it once and the list survives restarts. A kiosk printer's alert does not wait
for the tick: `printer` raises or clears it the moment the printer's state changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.engine.model import Hall, Kiosk
from server.engine.rules import served_services
from server.store.models import AlertRow, ComplaintRow, TicketRow

from . import deliveries, matters, queue
from .context import Context
from .views import iso

PRINTER_TROUBLE = ("paper_out", "offline")


def conditions(
    ctx: Context, hall: Hall, printer_state: Callable[[Kiosk], str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every alert condition true now: {key: (kind, detail)}."""
    now = ctx.clock.now()
    jobs = ctx.config.settings.jobs
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    with ctx.db.read() as s:
        counts = queue.waiting_counts(s, hall)
        served = served_services(list(queue.desks(s, hall).values()))
        waiting = s.execute(
            select(TicketRow.id, TicketRow.number, TicketRow.service_id, TicketRow.waiting_since).where(
                TicketRow.hall_id == hall.id, TicketRow.status == "waiting"
            )
        ).all()
        late_matters = matters.open_overdue(s, hall, now)
        cases = s.scalars(
            select(ComplaintRow).where(
                ComplaintRow.hall_id == hall.id, ComplaintRow.status.not_in(("resolved", "dismissed"))
            )
        ).all()
    limits = {sv.id: sv.wait_alert_s or jobs.wait_alert_s for sv in hall.services}
    for tid, number, service, since in waiting:
        waited = int((now - since).total_seconds()) if since is not None else 0
        if waited > limits.get(service, jobs.wait_alert_s):
            found[f"long_wait:{tid}"] = ("long_wait", {"ticket": tid, "number": number, "service": service})
    for sv in hall.services:
        if counts.get(sv.id, 0) > 0 and sv.id not in served:
            windows = [c.id for c in hall.counters if sv.id in c.services]
            found[f"uncovered:{sv.id}"] = ("uncovered", {"service": sv.id, "counters": windows})
    warn = timedelta(hours=jobs.complaint_warn_h)
    for case in cases:
        if case.due_at < now:
            found[f"complaint_overdue:{case.id}"] = ("complaint_overdue", {"complaint": case.id, "due_at": case.due_at})
        elif case.due_at - now <= warn:
            found[f"complaint_due:{case.id}"] = ("complaint_due", {"complaint": case.id, "due_at": case.due_at})
    for m in late_matters:  # a promised matter past its time limit with no result (办件超期)
        found[f"matter_overdue:{m.id}"] = (
            "matter_overdue",
            {
                "matter": m.id,
                "number": m.number,
                "service": m.service_id,
                "counter": m.owner_counter,
                "due_at": m.due_at,
            },
        )
    for kiosk in hall.kiosks:
        state = printer_state(kiosk)
        if state in PRINTER_TROUBLE:
            found[f"printer:{kiosk.id}:{state}"] = ("printer", {"kiosk": kiosk.id, "state": state})
    if hall.webhooks:  # outbound events a receiver keeps refusing (PROTOCOL v1.2)
        for target, detail in deliveries.failing(ctx, hall).items():
            found[f"webhook_failing:{target[:100]}"] = ("webhook_failing", detail)
    return found


def scan(ctx: Context, hall_id: str, printer_state: Callable[[Kiosk], str]) -> list[dict[str, Any]]:
    """Raise new alerts and clear ended ones; returns what changed, for /admin's `alert` event."""
    hall = ctx.hall(hall_id)
    found = conditions(ctx, hall, printer_state)
    now = ctx.clock.now()
    changed: list[AlertRow] = []
    with ctx.db.write() as s:
        live = {
            row.key: row
            for row in s.scalars(select(AlertRow).where(AlertRow.hall_id == hall.id, AlertRow.cleared_at.is_(None)))
        }
        for key, row in live.items():
            if key not in found and not key.startswith("help:"):  # 求助: cleared by a supervisor (services/help.py)
                row.cleared_at = now
                changed.append(row)
        for key, (kind, detail) in found.items():
            if key not in live:
                row = AlertRow(hall_id=hall.id, key=key, kind=kind, detail=_plain(hall, detail), raised_at=now)
                s.add(row)
                changed.append(row)
        s.flush()
        return [_body(hall, row) for row in changed]


def printer(ctx: Context, hall_id: str, kiosk_id: str, state: str) -> list[dict[str, Any]]:
    """A kiosk printer's new state: raise its alert now (paper out, offline) or clear the one it had.

    Only this kiosk's printer rows are touched, the same keys as `scan` uses, so the next scan agrees.
    """
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    key = f"printer:{kiosk_id}:{state}" if state in PRINTER_TROUBLE else None
    changed: list[AlertRow] = []
    with ctx.db.write() as s:
        live = s.scalars(
            select(AlertRow).where(
                AlertRow.hall_id == hall.id,
                AlertRow.cleared_at.is_(None),
                AlertRow.key.startswith(f"printer:{kiosk_id}:", autoescape=True),
            )
        ).all()
        for row in live:
            if row.key != key:
                row.cleared_at = now
                changed.append(row)
        if key is not None and all(row.key != key for row in live):
            row = AlertRow(
                hall_id=hall.id, key=key, kind="printer", detail={"kiosk": kiosk_id, "state": state}, raised_at=now
            )
            s.add(row)
            changed.append(row)
        s.flush()
        return [_body(hall, row) for row in changed]


def active(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    """The hall's alerts not yet cleared, oldest first."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = s.scalars(
            select(AlertRow)
            .where(AlertRow.hall_id == hall.id, AlertRow.cleared_at.is_(None))
            .order_by(AlertRow.raised_at, AlertRow.id)
        ).all()
    return [_body(hall, row) for row in rows]


def _plain(hall: Hall, detail: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(hall, v) if isinstance(v, datetime) else v for k, v in detail.items()}


def _body(hall: Hall, row: AlertRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "key": row.key,
        "detail": row.detail or {},
        "raised_at": iso(hall, row.raised_at),
        "cleared_at": iso(hall, row.cleared_at),
    }
