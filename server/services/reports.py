"""The ledger (台账) and the daily summary, computed from tickets and their events."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.errors import invalid
from server.engine.model import Hall, TicketStatus
from server.store.models import LedgerRow, RatingRow, TicketRow

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
]


def parse_day(value: str | None, name: str) -> date:
    if not value:
        raise invalid(f"'{name}' is required as YYYY-MM-DD", "invalid_query")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"'{name}' must be a date as YYYY-MM-DD", "invalid_query") from None


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


def _handoffs_text(handoffs: list[dict[str, Any]]) -> str:
    return "；".join(f"{h['counter']}→{h['to_counter'] or h['to_service']}" for h in handoffs)


def ledger_csv(items: list[dict[str, Any]]) -> str:
    """The ledger as CSV with a BOM, so spreadsheet programs read the Chinese text."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf,
        fieldnames=[*LEDGER_COLUMNS, "owner", "recalls", "transfers", "missing", "handoffs"],
        extrasaction="ignore",
    )
    writer.writeheader()
    for item in items:
        row = dict(item)
        row["missing"] = "；".join(item.get("missing") or [])
        row["handoffs"] = _handoffs_text(item.get("handoffs") or [])
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return "\ufeff" + buf.getvalue()


def _csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def percentile(values: list[int], p: float) -> int:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _avg(values: list[int]) -> int:
    return round(sum(values) / len(values)) if values else 0


def _intervals(lines: list[LedgerRow], opens: str, closes: str, start: datetime, end: datetime) -> dict[str, int]:
    """Seconds per counter between `opens` and `closes` lines, clipped to [start, end)."""
    since: dict[str, datetime] = {}
    total: dict[str, int] = defaultdict(int)
    for line in lines:
        cid = line.counter_id or ""
        if line.kind == opens:
            since.setdefault(cid, max(line.at, start))
        elif line.kind == closes and cid in since:
            total[cid] += int((min(line.at, end) - since.pop(cid)).total_seconds())
    for cid, began in since.items():  # still open at the end of the day (or now)
        total[cid] += max(0, int((end - began).total_seconds()))
    return dict(total)


def cover(ctx: Context, hall: Hall, day: date) -> dict[str, Any]:
    """AB岗 figures of a day: takeovers, time away (covered) and time a window's queue had nobody."""
    try:
        start, day_end = hall.day_bounds(day)  # the hall's local day: 23 or 25 hours on a DST change
        end = min(day_end, ctx.clock.now())
    except OverflowError:  # a day at the edge of the calendar (0001-01-01, 9999-12-31) had no hall open
        end = start = datetime.min.replace(tzinfo=UTC)
    if end <= start:  # a day still to come
        return {"takeovers": 0, "uncovered_s": 0, "counters": []}
    kinds = ("away", "back", "cover_lost", "cover_restored")
    with ctx.db.read() as s:
        lines = list(
            s.scalars(
                select(LedgerRow)
                .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(kinds), LedgerRow.at < end)
                .order_by(LedgerRow.id)
            )
        )
    away_s = _intervals(lines, "away", "back", start, end)
    uncovered_s = _intervals(lines, "cover_lost", "cover_restored", start, end)
    takeovers: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.kind == "away" and line.at >= start:
            takeovers[line.counter_id or ""] += 1
    ids = sorted(set(away_s) | set(uncovered_s) | set(takeovers))
    return {
        "takeovers": sum(takeovers.values()),
        "uncovered_s": sum(uncovered_s.values()),
        "counters": [
            {
                "counter": c,
                "takeovers": takeovers.get(c, 0),
                "away_s": away_s.get(c, 0),
                "uncovered_s": uncovered_s.get(c, 0),
            }
            for c in ids
        ],
    }


def daily(ctx: Context, hall_id: str, day: date) -> dict[str, Any]:
    """The day's summary: issued, served, no-shows, waits, service times, cover and ratings."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        tickets = s.scalars(
            select(TicketRow).where(TicketRow.hall_id == hall.id, TicketRow.day == day.isoformat())
        ).all()
        ids = [t.id for t in tickets]
        levels = s.scalars(select(RatingRow.level).where(RatingRow.ticket_id.in_(ids))).all() if ids else []
    served = [t for t in tickets if t.status == TicketStatus.DONE.value]
    called = [t for t in tickets if t.called_at is not None]
    issued_for: dict[str, int] = defaultdict(int)  # counted where the number was taken
    for t in tickets:
        issued_for[t.issued_service] += 1
    ended_in: dict[str, list[TicketRow]] = defaultdict(list)  # served and waits where it ended up
    for t in tickets:
        ended_in[t.service_id].append(t)
    by_counter: dict[str, list[TicketRow]] = defaultdict(list)
    for t in served:
        by_counter[t.served_by or ""].append(t)
    return {
        "date": day.isoformat(),
        "issued": len(tickets),
        "served": len(served),
        "no_show": sum(1 for t in tickets if t.status == TicketStatus.NO_SHOW.value),
        "waiting": sum(1 for t in tickets if t.status == TicketStatus.WAITING.value),
        "priority": sum(1 for t in tickets if t.priority),
        "avg_wait_s": _avg([t.wait_s for t in called]),
        "p90_wait_s": percentile([t.wait_s for t in called], 90),
        "avg_service_s": _avg([t.service_s for t in served]),
        "by_service": [
            {
                "service": sid,
                "issued": issued_for.get(sid, 0),
                "served": sum(1 for t in ended_in.get(sid, []) if t.status == TicketStatus.DONE.value),
                "avg_wait_s": _avg([t.wait_s for t in ended_in.get(sid, []) if t.called_at is not None]),
            }
            for sid in sorted(set(issued_for) | set(ended_in))
        ],
        "by_counter": [
            {
                "counter": cid,
                "served": len(ts),
                "avg_service_s": _avg([t.service_s for t in ts]),
                "on_behalf": sum(1 for t in ts if t.on_behalf_of),
            }
            for cid, ts in sorted(by_counter.items())
        ],
        "ratings": {str(level): sum(1 for v in levels if v == level) for level in range(1, 6)},
        "cover": cover(ctx, hall, day),
    }
