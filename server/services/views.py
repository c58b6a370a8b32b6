"""The JSON shapes of PROTOCOL.md, built from rows and the config."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine.model import Counter, Hall, TicketStatus
from server.store.models import CounterRow, TicketRow


def iso(hall: Hall, moment: datetime | None) -> str | None:
    """ISO 8601 with the hall's offset, to the second."""
    return None if moment is None else hall.local(moment).isoformat(timespec="seconds")


def ticket(hall: Hall, row: TicketRow) -> dict[str, Any]:
    out = _ticket(hall, row)
    if row.appointment_at is not None:  # PROTOCOL v1.2: an appointment's ticket, marked 预约 with its time
        out["appointment_at"] = iso(hall, row.appointment_at)
    if getattr(row, "pickup_of", None) is not None:  # 领取: the ticket picks a matter's result up
        out["pickup"] = True
    return out


def _ticket(hall: Hall, row: TicketRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "service": row.service_id,
        "status": row.status,
        "priority": row.priority,
        "issued_at": iso(hall, row.issued_at),
        "called_at": iso(hall, row.called_at),
        "started_at": iso(hall, row.started_at),
        "finished_at": iso(hall, row.finished_at),
        "wait_s": row.wait_s,
        "service_s": row.service_s,
        "served_by": row.served_by,
        "on_behalf_of": row.on_behalf_of,
    }


# Why a `closed_out` ticket was not served: it was still in the hall when its day closed (the ledger line,
# the track body and the ledger rows say it; the pages word it in their language).
CLOSED_REASON = "day_closed"


def closed_reason(row: TicketRow) -> str | None:
    return CLOSED_REASON if row.status == TicketStatus.CLOSED_OUT.value else None


def counter(counter_def: Counter, row: CounterRow | None) -> dict[str, Any]:
    return {
        "id": counter_def.id,
        "name": counter_def.name,
        "number": counter_def.number,
        "services": list(counter_def.services),
        "partner": counter_def.partner,
        "state": row.state if row is not None else "closed",
    }
