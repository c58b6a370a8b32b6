"""Closing a hall's day (HALL_RULES 9, 13): tickets still in the hall are closed out and the day's summary is kept."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.engine.errors import invalid
from server.engine.events import CounterChanged, Event, QueueChanged, TicketChanged
from server.engine.figures import OPEN_STATUSES
from server.engine.model import TicketStatus
from server.store.models import CounterRow, PeriodReportRow, TicketRow

from . import ledger, periods, reports
from .context import Context
from .views import CLOSED_REASON


@dataclass(frozen=True)
class Closed:
    day: str
    closed_out: int  # tickets closed out by this run (0 when run again)
    summary: dict[str, Any]


def close_day(ctx: Context, hall_id: str, day: date, who: str | None = None) -> tuple[Closed, list[Event]]:
    """Close out the day's tickets still waiting, called or serving, then store the day's summary.

    Idempotent: a second run finds nothing to close and keeps the summary already stored, unless that
    summary was made before the hall's closing and the day has gone on since (then it is made again).
    """
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    if day > hall.local(now).date():
        raise invalid(f"date {day.isoformat()} has not begun in the hall: a day is closed on it or after it")
    with ctx.db.write() as s:
        # Remote tickets (线上取号) never checked in are expired at the day's end as by their `check_in_by` (PROTOCOL
        # v1.2: "never after closing"); left `remote`, they could still be checked in and called after it.
        found = list(
            s.scalars(
                select(TicketRow)
                .where(
                    TicketRow.hall_id == hall.id,
                    TicketRow.day == day.isoformat(),
                    TicketRow.status.in_((*OPEN_STATUSES, TicketStatus.REMOTE.value)),
                )
                .order_by(TicketRow.issued_at)
                .with_for_update()
            )
        )
        rows = [r for r in found if r.status != TicketStatus.REMOTE.value]
        expired = [r for r in found if r.status == TicketStatus.REMOTE.value]
        released = _release_counters(s, hall.id, {r.id for r in rows})
        for row in rows:
            was, parked = row.status, row.park_kind  # parked (挂起) at closing: closed out, the kind kept
            row.status = TicketStatus.CLOSED_OUT.value
            row.finished_at = now
            row.target_counter = None
            row.park_kind = row.parked_at = row.parked_counter = None
            ledger.append(
                s,
                hall.id,
                "closed_out",
                now,
                ticket=row,
                counter=row.counter_id if was != TicketStatus.WAITING.value else None,
                reason=CLOSED_REASON,
                status=was,
                service=row.service_id,
                park_kind=parked,
            )
        for row in expired:
            row.status, row.finished_at = TicketStatus.EXPIRED.value, now
            ledger.append(s, hall.id, "expired", now, ticket=row)
        stored = s.get(PeriodReportRow, (hall.id, "daily", day.isoformat()))
    if stored is not None and not rows and not expired and periods.summary_is_final(hall, day, stored.made_at):
        return Closed(day.isoformat(), 0, _public(stored.body)), []
    # Made from the day's tickets, not from the summary a run before the hall's closing kept: tickets issued
    # and served since then count too.
    summary = reports.summary(ctx, hall.id, day, fresh=True)
    if (
        stored is not None
        and not rows
        and not expired
        and _as_stored(summary) == stored.body
        and not periods.summary_is_final(hall, day, now)
    ):
        return Closed(day.isoformat(), 0, _public(stored.body)), []  # run again, nothing new: nothing changes
    with ctx.db.write() as s:
        store_report(s, hall.id, "daily", day.isoformat(), summary, now)
        ledger.append(s, hall.id, "day_closed", now, clerk=who, day=day.isoformat(), closed_out=len(rows))
    events: list[Event] = [TicketChanged(hall.id, r.id) for r in rows + expired]
    if rows:
        events.append(QueueChanged(hall.id, frozenset(r.service_id for r in rows)))
    events += [CounterChanged(hall.id, c) for c in sorted(released)]
    return Closed(day.isoformat(), len(rows), _public(summary)), events


def _as_stored(summary: dict[str, Any]) -> Any:
    """The summary as the JSON column hands it back (tuples as lists), to compare with a stored one."""
    return json.loads(json.dumps(summary))


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without its rollup totals (kept in the database, not shown)."""
    return {k: v for k, v in summary.items() if k != "totals"}


def _release_counters(s: Session, hall_id: str, ticket_ids: set[str]) -> set[str]:
    """Counters holding a ticket being closed out let go of it."""
    if not ticket_ids:
        return set()
    held = s.scalars(
        select(CounterRow)
        .where(CounterRow.hall_id == hall_id, CounterRow.held_ticket.in_(ticket_ids))
        .with_for_update()
    ).all()
    for counter in held:
        counter.held_ticket = None
    return {c.id for c in held}


def store_report(s: Session, hall_id: str, kind: str, period: str, body: dict[str, Any], now: Any) -> None:
    """Keep a report; a report already stored for the period is replaced (a later close-day saw more)."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PeriodReportRow).values(hall_id=hall_id, kind=kind, period=period, body=body, made_at=now)
    s.execute(
        stmt.on_conflict_do_update(index_elements=["hall_id", "kind", "period"], set_={"body": body, "made_at": now})
    )
