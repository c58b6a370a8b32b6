"""The supervisor's live view of a hall: queues, windows and who covers whom, today's throughput."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from server.engine.figures import OUTCOMES
from server.engine.model import Kiosk
from server.engine.rules import served_now
from server.store.models import CounterRow, TicketRow

from . import alerts, notice_line, queue, ratings
from .context import Context


def live(ctx: Context, hall_id: str, printer_state: Callable[[Kiosk], str]) -> dict[str, Any]:
    """Everything /admin shows live; the page re-reads it whenever a queue or a window changes."""
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    today = hall.local(now).date().isoformat()
    with ctx.db.read() as s:
        counts = queue.waiting_counts(s, hall)
        desks = queue.desks(s, hall)
        rows = {r.id: r for r in s.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id))}
        oldest = dict(
            s.execute(
                select(TicketRow.service_id, func.min(TicketRow.waiting_since))
                .where(TicketRow.hall_id == hall.id, TicketRow.status == "waiting")
                .group_by(TicketRow.service_id)
            ).all()
        )
        statuses: dict[str, int] = {}
        outcomes = dict.fromkeys(OUTCOMES, 0)
        for status, outcome, n in s.execute(
            select(TicketRow.status, TicketRow.outcome, func.count())
            .where(TicketRow.hall_id == hall.id, TicketRow.day == today)
            .group_by(TicketRow.status, TicketRow.outcome)
        ):
            statuses[status] = statuses.get(status, 0) + n
            if status == "done" and outcome in outcomes:
                outcomes[outcome] += n
        held = {
            t.id: t.number
            for t in s.scalars(
                select(TicketRow).where(TicketRow.id.in_([r.held_ticket for r in rows.values() if r.held_ticket]))
            )
        }
    services = []
    for svc in hall.services:
        since = oldest.get(svc.id)
        services.append(
            {
                "id": svc.id,
                "name": svc.name,
                "waiting": counts.get(svc.id, 0),
                "longest_wait_s": int((now - since).total_seconds()) if since is not None else 0,
                "served_now": served_now(desks, svc.id),
            }
        )
    windows = []
    for c in hall.counters:
        row = rows.get(c.id)
        state = row.state if row is not None else "closed"
        partner = rows.get(c.partner or "")
        windows.append(
            {
                "id": c.id,
                "name": c.name,
                "number": c.number,
                "state": state,
                "clerk": row.clerk if row is not None else None,
                "ticket": held.get(row.held_ticket or "") if row is not None else None,
                "partner": c.partner,
                # AB岗: who covers whom right now
                "covering": c.partner if partner is not None and partner.state == "away" and state == "open" else None,
                "covered_by": c.partner
                if state == "away" and partner is not None and partner.state == "open"
                else None,
            }
        )
    return {
        "hall": hall.id,
        "at": hall.local(now).isoformat(timespec="seconds"),
        "services": services,
        "windows": windows,
        "today": {
            "issued": sum(statuses.values()),
            "served": statuses.get("done", 0),  # any outcome (已服务); 办结 is `completed`
            **outcomes,
            "no_show": statuses.get("no_show", 0),
            "waiting": sum(counts.values()),
        },
        "kiosks": [{"id": k.id, "name": k.name, "printer": printer_state(k)} for k in hall.kiosks],
        "alerts": alerts.active(ctx, hall.id),
        "complaints": ratings.complaints(ctx, hall.id)[:50],
        "notice": notice_line.current(ctx, hall.id),
    }
