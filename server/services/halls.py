"""Read models for halls, services, counters, kiosks and the display's snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.model import Hall, Service
from server.engine.rules import served_now
from server.store.models import CounterRow, LedgerRow, TicketRow

from . import opening, queue, views
from .context import Context

SNAPSHOT_CALLS = 12


def seed_counters(ctx: Context) -> None:
    """Make sure every configured counter has a state row (closed on first start)."""
    with ctx.db.write() as s:
        known = set(s.scalars(select(CounterRow.id)))
        for hall in ctx.config.halls:
            for c in hall.counters:
                if c.id not in known:
                    s.add(CounterRow(id=c.id, hall_id=hall.id, state="closed", priority_streak=0))


def halls(ctx: Context) -> list[dict[str, Any]]:
    return [{"id": h.id, "name": h.name} for h in ctx.config.halls]


def services(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    hall = ctx.hall(hall_id)
    moment = ctx.clock.now()
    with ctx.db.read() as s:
        counts = queue.waiting_counts(s, hall)
        shared, _ = ctx.boards.current(s, hall, moment)
        hall_desks = queue.desks(s, hall)
        served = {svc.id: served_now(hall_desks, svc.id) for svc in hall.services}
        started = all(served.values()) or opening.day_started(s, hall, moment)
        return [
            {
                "id": svc.id,
                "name": svc.name,
                "name_en": svc.name_en,
                "prefix": svc.prefix,
                "open": hall.is_open(svc, moment) and not svc.appointment_only,
                "opens_at": _opens_at(hall, svc, moment),
                "waiting": counts[svc.id],
                "est_wait_s": shared.new_ticket_s(svc.id, counts[svc.id], moment),
                "served_now": served[svc.id],
                # before the day's first window opens: "windows open at HH:MM", not "ask the help desk"
                **_before_opening(hall, svc, moment, started or served[svc.id]),
                "kind": svc.kind.value,
                "time_limit_days": svc.time_limit_days,
                "materials": list(svc.materials),
                "materials_en": list(svc.materials_in(True)),  # English names where configured, else as written
                "fee": svc.fee,
                "group": svc.group.value,
                # a ticket taken now: people called before it at the windows that serve it (the slip's figure)
                "ahead": shared.new_ticket_ahead(svc.id, counts[svc.id]),
                "appointments": svc.booking is not None,  # PROTOCOL v1.2
                "remote": hall.takes_remote(svc) and hall.is_open(svc, moment),
                "appointment_only": svc.appointment_only,
            }
            for svc in hall.services
        ]


def _before_opening(hall: Hall, svc: Service, moment: datetime, started: bool) -> dict[str, object]:
    if started:
        return opening.NOT_BEFORE.fields()
    return opening.Opening(True, opening.opening_time(svc.hours, hall.local(moment))).fields()


def _opens_at(hall: Hall, svc: Service, moment: datetime) -> str | None:
    """When a closed service next takes tickets (hall-local ISO); None while open or when disabled."""
    if not svc.enabled or hall.is_open(svc, moment):
        return None
    opens = svc.hours.next_open(hall.local(moment), hall.calendar)
    return opens.isoformat(timespec="seconds") if opens is not None else None


def counter_rows(s: Session, hall: Hall) -> dict[str, CounterRow]:
    return {r.id: r for r in s.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id))}


def counters(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = counter_rows(s, hall)
    return [views.counter(c, rows.get(c.id)) for c in hall.counters]


def kiosks(ctx: Context, hall_id: str, printer_state: Any) -> list[dict[str, Any]]:
    """Kiosks with their printer's state, as `printer_state(kiosk)` reports it."""
    hall = ctx.hall(hall_id)
    return [{"id": k.id, "name": k.name, "printer": {"state": printer_state(k)}} for k in hall.kiosks]


def call_payload(hall: Hall, ledger_row: LedgerRow, ticket: TicketRow) -> dict[str, Any]:
    counter = hall.counter(ledger_row.counter_id or "")
    extra = {"appointment": True} if ticket.appointment_id is not None else {}  # PROTOCOL v1.2: 预约 on the display
    if ticket.pickup_of is not None:  # 领取: a matter's result to pick up
        extra["pickup"] = True
    return {
        **extra,
        "ticket": ticket.id,
        "number": ticket.number,
        "counter": ledger_row.counter_id,
        "counter_name": counter.name if counter else None,
        "counter_number": counter.number if counter else None,
        "service": (ledger_row.detail or {}).get("service", ticket.service_id),
        "recall": ledger_row.kind == "recalled",
        "at": views.iso(hall, ledger_row.at),
    }


def display_snapshot(ctx: Context, hall_id: str) -> dict[str, Any]:
    """What a display shows on (re)connect: the latest calls and the waiting counts."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = s.execute(
            select(LedgerRow, TicketRow)
            .join(TicketRow, TicketRow.id == LedgerRow.ticket_id)
            .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(("called", "recalled")))
            .order_by(LedgerRow.id.desc())
            .limit(SNAPSHOT_CALLS)
        ).all()
        counts = queue.waiting_counts(s, hall)
    return {"calls": [call_payload(hall, lr, t) for lr, t in rows], "waiting": counts}
