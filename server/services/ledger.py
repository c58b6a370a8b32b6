"""Appending to the ledger (台账) and folding its events into a ticket's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from server.engine.timing import Clock
from server.store.db import insert_row
from server.store.models import LedgerRow, TicketRow


def append(
    session: Session,
    hall_id: str,
    kind: str,
    at: datetime,
    *,
    ticket: TicketRow | None = None,
    counter: str | None = None,
    clerk: str | None = None,
    on_behalf_of: str | None = None,
    **detail: Any,
) -> None:
    """Write one ledger line; for a ticket, also advance its wait and service totals."""
    if ticket is not None:
        clock = Clock(ticket.wait_s, ticket.service_s, ticket.waiting_since, ticket.serving_since, ticket.called_at)
        clock.apply(kind, at)
        ticket.wait_s, ticket.service_s = clock.wait_s, clock.service_s
        ticket.waiting_since, ticket.serving_since = clock.waiting_since, clock.serving_since
    insert(
        session,
        hall_id,
        kind,
        at,
        ticket_id=ticket.id if ticket is not None else None,
        counter=counter,
        clerk=clerk,
        on_behalf_of=on_behalf_of,
        **detail,
    )


TABLE = cast(Table, LedgerRow.__table__)


def insert(session: Session, hall_id: str, kind: str, at: datetime, **fields: Any) -> int | None:
    """One ledger line (`fields` as `values` takes them) as one prepared INSERT (the hot paths), for a ticket
    whose totals the caller keeps; kept for the transaction's last statement when the session defers its
    inserts (store.db.defer_inserts). Its id on SQLite (inserted now); else None."""
    return insert_row(session, TABLE, values(hall_id, kind, at, **fields))


def values(
    hall_id: str,
    kind: str,
    at: datetime,
    *,
    ticket_id: str | None = None,
    counter: str | None = None,
    clerk: str | None = None,
    on_behalf_of: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """A ledger line's columns (but its id), for a caller that writes it within a statement of its own."""
    return {
        "hall_id": hall_id,
        "at": at,
        "kind": kind,
        "ticket_id": ticket_id,
        "counter_id": counter,
        "clerk": clerk,
        "on_behalf_of": on_behalf_of,
        "detail": {k: v for k, v in detail.items() if v is not None} or None,
    }
