"""The ledger (台账) as managers read it: tickets over days, one ticket's history, lines by id."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.errors import not_found
from server.engine.model import Hall
from server.store.models import LedgerRow, TicketRow

from . import views
from .context import Context

LEDGER_COLUMNS = [
    "id",
    "number",
    "service",
    "status",
    "priority",
    "issued_at",
    "called_at",
    "started_at",
    "finished_at",
    "wait_s",
    "service_s",
    "served_by",
    "on_behalf_of",
    "outcome",
    "clerk",
    "counter",
    "owner",
    "recalls",
    "transfers",
    "missing",
    "reason",
    "day",
    "handoffs",
]


def ledger(ctx: Context, hall_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Every ticket issued between two hall-local days, inclusive, in issue order."""
    hall = ctx.hall(hall_id)
    if last < first:
        return []
    with ctx.db.read() as s:
        rows = s.scalars(
            select(TicketRow)
            .where(TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
            .order_by(TicketRow.issued_at, TicketRow.number)
        ).all()
        handoffs = _handoffs(s, hall, [r.id for r in rows])
    out = []
    for r in rows:
        item = views.ticket(hall, r)
        item.update(
            outcome=r.outcome,
            clerk=r.clerk,
            counter=r.served_by,
            owner=r.owner_counter,
            recalls=r.recalls,
            transfers=r.transfers,
            missing=r.missing or [],
            reason=views.closed_reason(r),
            day=r.day,
            handoffs=handoffs.get(r.id, []),
        )
        out.append(item)
    return out


def _handoffs(s: Session, hall: Hall, ticket_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """首问负责: each ticket's transfers in order, who handed it on, where to and why (the chain of clerks)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(0, len(ticket_ids), 500):  # keep IN lists short on both databases
        lines = s.scalars(
            select(LedgerRow)
            .where(LedgerRow.kind == "transferred", LedgerRow.ticket_id.in_(ticket_ids[i : i + 500]))
            .order_by(LedgerRow.at, LedgerRow.id)
        )
        for line in lines:
            detail = line.detail or {}
            out[line.ticket_id or ""].append(
                {
                    "at": views.iso(hall, line.at),
                    "counter": line.counter_id,
                    "clerk": line.clerk,
                    "to_service": detail.get("to_service"),
                    "to_counter": detail.get("to_counter"),
                    "reason": detail.get("reason"),
                }
            )
    return out


def handoffs_text(handoffs: list[dict[str, Any]]) -> str:
    """The chain as one spreadsheet cell: w1→social；w2→w3."""
    return "；".join(f"{h['counter']}→{h['to_counter'] or h['to_service']}" for h in handoffs)


def ticket_history(
    ctx: Context, hall_id: str, ticket_id: str | None, number: str | None, day: date | None
) -> dict[str, Any]:
    """A ticket and every ledger line about it, found by id or by number and day (the admin's drill-down)."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        query = select(TicketRow).where(TicketRow.hall_id == hall.id)
        if ticket_id:
            query = query.where(TicketRow.id == ticket_id)
        else:
            query = query.where(TicketRow.number == (number or "").upper())
            query = query.where(TicketRow.day == (day or hall.local(ctx.clock.now()).date()).isoformat())
        row = s.scalars(query).first()
        if row is None:
            raise not_found("ticket", ticket_id or number)
        lines = s.scalars(select(LedgerRow).where(LedgerRow.ticket_id == row.id).order_by(LedgerRow.id)).all()
    return {
        "ticket": {**views.ticket(hall, row), "outcome": row.outcome, "owner": row.owner_counter, "day": row.day},
        "events": [ledger_line(hall, line) for line in lines],
    }


def events(ctx: Context, hall_id: str, ids: list[int]) -> list[dict[str, Any]]:
    """The hall's ledger lines with these ids, in order (ids of other halls are not shown)."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        lines = s.scalars(
            select(LedgerRow).where(LedgerRow.hall_id == hall.id, LedgerRow.id.in_(ids)).order_by(LedgerRow.id)
        ).all()
    return [ledger_line(hall, line) for line in lines]


def ledger_line(hall: Hall, line: LedgerRow) -> dict[str, Any]:
    return {
        "id": line.id,
        "at": views.iso(hall, line.at),
        "kind": line.kind,
        "counter": line.counter_id,
        "clerk": line.clerk,
        "on_behalf_of": line.on_behalf_of,
        "detail": line.detail or {},
    }
