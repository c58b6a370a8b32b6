"""The hall's reports: daily, weekly, monthly and any range of days, from tickets and a few kinds of ledger line.

Each figure is defined once in docs/api.md ("Report figures"); the arithmetic lives in server/engine/figures.py.
Past days read their uncovered time from the stored daily summary (written at closing), so a month
reads the tickets' columns and a few kinds of ledger line, never the whole ledger.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from server.engine import figures
from server.engine.figures import Move, TicketFacts
from server.engine.model import Hall, ServiceKind
from server.store.models import ComplaintRow, LedgerRow, PeriodReportRow, RatingRow, TicketRow

from . import coverage, scores
from .context import Context
from .periods import day_bounds, deadline_of, each_day, parse_day, parse_month, parse_range, week_of

__all__ = ["daily", "monthly", "parse_day", "parse_month", "parse_range", "period", "weekly"]
COMPLAINT_CLOSED = ("complaint_resolved", "complaint_dismissed", "complaint_closed")


# -- reports ------------------------------------------------------------------------------------


def daily(ctx: Context, hall_id: str, day: date) -> dict[str, Any]:
    """The day's summary (PROTOCOL.md's fields, and the additions in docs/api.md)."""
    hall = ctx.hall(hall_id)
    body = period(ctx, hall, day, day)
    return {"date": day.isoformat(), **body}


def weekly(ctx: Context, hall_id: str, day: date) -> dict[str, Any]:
    """每周一督查: the ISO week holding `day`, with each day's headline figures."""
    hall = ctx.hall(hall_id)
    first, last, name = week_of(day)
    body = period(ctx, hall, first, last, with_days=True)
    return {"week": name, "from": first.isoformat(), "to": last.isoformat(), **body}


def monthly(ctx: Context, hall_id: str, first: date, last: date, rules: figures.ScoreRules) -> dict[str, Any]:
    """每月一上报: the month's figures and each window's score, every deduction tracing to ledger lines."""
    hall = ctx.hall(hall_id)
    body, tickets = _period(ctx, hall, first, last, with_days=True)
    start, end = day_bounds(hall, first, last)
    with ctx.db.read() as s:
        lapses = list(scores.lapses(s, hall, start, end, tickets, body["uncovered"]))
    served = {row["counter"]: row["served"] for row in body["by_counter"]}
    windows = figures.window_scores([c.id for c in hall.counters], served, lapses, rules)
    return {"month": first.isoformat()[:7], **body, "windows": windows}


def period(ctx: Context, hall: Hall, first: date, last: date, with_days: bool = False) -> dict[str, Any]:
    """Figures over hall-local days first..last, inclusive."""
    return _period(ctx, hall, first, last, with_days)[0]


def _period(ctx: Context, hall: Hall, first: date, last: date, with_days: bool) -> tuple[dict[str, Any], list[Any]]:
    start, end = day_bounds(hall, first, last)
    now = ctx.clock.now()
    with ctx.db.read() as s:
        tickets = _tickets(s, hall, first, last)
        moves = _moves(s, hall, start, end)
        ratings = _ratings(s, hall, first, last)
        complaints = _complaints(s, hall, start, end, now)
        cover = coverage.cover(s, hall, start, min(end, now))
        repeat = _repeat_visits(s, hall, start, end)
        stored = _stored_days(s, hall, first, last)
        uncovered = coverage.uncovered(s, hall, first, last, now, stored)
        missing = _missing_items(s, hall, first, last)
    called = [t for t in tickets if t.called_at is not None]
    waits = [t.wait_s for t in called]
    served = [t for t in tickets if t.status == "done"]
    levels = [level for level, _ in ratings]
    body: dict[str, Any] = {
        "issued": len(tickets),
        "served": len(served),
        "no_show": sum(1 for t in tickets if t.status == "no_show"),
        "closed_out": sum(1 for t in tickets if t.status == "closed_out"),
        "waiting": sum(1 for t in tickets if t.status == "waiting"),
        "priority": sum(1 for t in tickets if t.priority),
        "avg_wait_s": figures.mean(waits),
        "p50_wait_s": figures.percentile(waits, 50),
        "p90_wait_s": figures.percentile(waits, 90),
        "max_wait_s": max(waits, default=0),
        "avg_service_s": figures.mean([t.service_s for t in served]),
        "by_service": _by_service(tickets, moves),
        "by_counter": _by_counter(tickets, ratings),
        "by_hour": _by_hour(hall, tickets),
        "on_behalf": sum(1 for t in served if t.on_behalf_of),
        "ratings": {str(level): levels.count(level) for level in range(1, 6)},
        "satisfaction_rate": figures.share(sum(1 for v in levels if v >= 3), len(levels)),
        "complaints": complaints,
        "promised": _promised(hall, tickets),
        "first_ask": _first_ask(tickets),
        "one_time_notice": {
            "notices": sum(1 for t in tickets if t.outcome == "incomplete"),
            "items": missing,
            "repeat_visits": repeat,
        },
        "cover": cover,
        "uncovered": uncovered,
    }
    if with_days:
        body["days"] = _days(tickets, first, last)
    return body, tickets


# -- reading ------------------------------------------------------------------------------------


TICKET_FIELDS = (
    "id issued_service service_id status priority issued_at called_at finished_at wait_s service_s served_by"
    " on_behalf_of owner_counter outcome day"
).split()
TIMES = ("issued_at", "called_at", "finished_at")
Ticket = namedtuple("Ticket", TICKET_FIELDS)  # type: ignore[misc]  # noqa: PYI024


def _tickets(s: Session, hall: Hall, first: date, last: date) -> list[Any]:
    """The period's tickets, only the columns the figures use.

    Times are read as their stored text on SQLite and parsed with `datetime.fromisoformat` (several times
    faster than the generic DateTime type for a month of tickets); PostgreSQL hands back datetimes.
    """
    sqlite = s.get_bind().dialect.name == "sqlite"
    columns = [
        type_coerce(TicketRow.__table__.c[f], String if sqlite else DateTime)
        if f in TIMES
        else TicketRow.__table__.c[f]
        for f in TICKET_FIELDS
    ]
    rows = s.execute(
        select(*columns).where(
            TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat()
        )
    )
    where = [TICKET_FIELDS.index(f) for f in TIMES]
    out = []
    for row in rows:
        values = list(row)
        for i in where:
            values[i] = _instant(values[i])
        out.append(Ticket(*values))
    return out


def _instant(value: Any) -> datetime | None:
    """A stored UTC time (text on SQLite, naive datetime on PostgreSQL) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def _moves(s: Session, hall: Hall, start: datetime, end: datetime) -> list[Move]:
    out = []
    for line in coverage.read_lines(s, hall, ("transferred",), start, end):
        d = line.detail or {}
        source = d.get("from_service")
        if source:
            out.append(Move(source, d.get("to_service") or source))
    return out


def _ratings(s: Session, hall: Hall, first: date, last: date) -> list[tuple[int, str | None]]:
    rows = s.execute(
        select(RatingRow.level, RatingRow.counter_id)
        .join(TicketRow, TicketRow.id == RatingRow.ticket_id)
        .where(TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
    )
    return [(int(level), counter) for level, counter in rows]


def _complaints(s: Session, hall: Hall, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Cases opened in the period: closed on time, closed late, still open, overdue."""
    cases = list(
        s.scalars(
            select(ComplaintRow).where(
                ComplaintRow.hall_id == hall.id, ComplaintRow.opened_at >= start, ComplaintRow.opened_at < end
            )
        )
    )
    closed_at: dict[str, datetime] = {}
    if cases:
        ids = {c.ticket_id for c in cases}
        for line in s.scalars(
            select(LedgerRow).where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(COMPLAINT_CLOSED))
        ):
            tid = line.ticket_id or (line.detail or {}).get("ticket_id")
            if tid in ids:
                closed_at[tid] = max(closed_at.get(tid, line.at), line.at)
    on_time = sum(1 for c in cases if c.ticket_id in closed_at and closed_at[c.ticket_id] <= c.due_at)
    closed = sum(1 for c in cases if c.status in ("resolved", "dismissed"))
    open_ = [c for c in cases if c.status not in ("resolved", "dismissed")]
    return {
        "opened": len(cases),
        "closed": closed,
        "closed_on_time": on_time,
        "on_time_rate": figures.share(on_time, closed),
        "open": len(open_),
        "overdue": sum(1 for c in open_ if c.due_at < now),
    }


def _repeat_visits(s: Session, hall: Hall, start: datetime, end: datetime) -> int:
    """Tickets issued as a return visit after a one-time notice: their `issued` line names the notice.

    Until the kiosk links a return visit to its notice, nothing carries that mark and this counts 0;
    the notices themselves (outcome `incomplete` with its `missing` list) are counted beside it.
    """
    return int(
        s.scalar(
            select(func.count(LedgerRow.id)).where(
                LedgerRow.hall_id == hall.id,
                LedgerRow.kind == "issued",
                LedgerRow.at >= start,
                LedgerRow.at < end,
                cast(LedgerRow.detail, String).like('%"notice"%'),
            )
        )
        or 0
    )


def _missing_items(s: Session, hall: Hall, first: date, last: date) -> int:
    """Items listed on one-time notices (一次性告知); read only for the tickets that had one."""
    rows = s.scalars(
        select(TicketRow.missing).where(
            TicketRow.hall_id == hall.id,
            TicketRow.day >= first.isoformat(),
            TicketRow.day <= last.isoformat(),
            TicketRow.outcome == "incomplete",
        )
    )
    return sum(len(m or []) for m in rows)


def _stored_days(s: Session, hall: Hall, first: date, last: date) -> dict[str, dict[str, Any]]:
    rows = s.execute(
        select(PeriodReportRow.period, PeriodReportRow.body).where(
            PeriodReportRow.hall_id == hall.id,
            PeriodReportRow.kind == "daily",
            PeriodReportRow.period >= first.isoformat(),
            PeriodReportRow.period <= last.isoformat(),
        )
    )
    return {period: body for period, body in rows}


# -- the figures --------------------------------------------------------------------------------


def _by_service(tickets: list[Any], moves: list[Move]) -> list[dict[str, Any]]:
    facts = [TicketFacts(t.issued_service, t.service_id, t.status) for t in tickets]
    rows = figures.by_service(facts, moves)
    waits: dict[str, list[int]] = defaultdict(list)
    for t in tickets:
        if t.called_at is not None:
            waits[t.service_id].append(t.wait_s)
    for row in rows:
        row["avg_wait_s"] = figures.mean(waits.get(str(row["service"]), []))
    return rows


def _by_counter(tickets: list[Any], ratings: list[tuple[int, str | None]]) -> list[dict[str, Any]]:
    served: dict[str, list[Any]] = defaultdict(list)
    no_show: dict[str, int] = defaultdict(int)
    for t in tickets:
        if t.status == "done" and t.served_by:
            served[t.served_by].append(t)
        elif t.status == "no_show" and t.served_by:
            no_show[t.served_by] += 1
    levels: dict[str, list[int]] = defaultdict(list)
    for level, counter in ratings:
        if counter:
            levels[counter].append(level)
    ids = sorted(set(served) | set(no_show) | set(levels))
    return [
        {
            "counter": cid,
            "served": len(served.get(cid, [])),
            "avg_service_s": figures.mean([t.service_s for t in served.get(cid, [])]),
            "on_behalf": sum(1 for t in served.get(cid, []) if t.on_behalf_of),
            "no_show": no_show.get(cid, 0),
            "ratings": len(levels.get(cid, [])),
            "satisfaction_rate": figures.share(sum(1 for v in levels.get(cid, []) if v >= 3), len(levels.get(cid, []))),
        }
        for cid in ids
    ]


def _by_hour(hall: Hall, tickets: list[Any]) -> list[dict[str, Any]]:
    """Per hall-local hour: issued (by issue time), served (by finish time) and waits (by call time)."""
    issued: dict[int, int] = defaultdict(int)
    served: dict[int, int] = defaultdict(int)
    waits: dict[int, list[int]] = defaultdict(list)
    hour = _local_hour(hall)
    for t in tickets:
        issued[hour(t.issued_at)] += 1
        if t.status == "done" and t.finished_at is not None:
            served[hour(t.finished_at)] += 1
        if t.called_at is not None:
            waits[hour(t.called_at)].append(t.wait_s)
    hours = sorted(set(issued) | set(served) | set(waits))
    return [
        {
            "hour": h,
            "issued": issued.get(h, 0),
            "served": served.get(h, 0),
            "avg_wait_s": figures.mean(waits.get(h, [])),
            "max_wait_s": max(waits.get(h, []), default=0),
        }
        for h in hours
    ]


def _local_hour(hall: Hall) -> Any:
    """The hall-local hour of a UTC instant, remembered per quarter hour (every zone's offset is a whole
    number of quarter hours, so all instants of one UTC quarter share a local hour)."""
    known: dict[int, int] = {}

    def hour(moment: datetime) -> int:
        key = int(moment.timestamp()) // 900
        if key not in known:
            known[key] = hall.local(moment).hour
        return known[key]

    return hour


def _days(tickets: list[Any], first: date, last: date) -> list[dict[str, Any]]:
    per: dict[str, list[Any]] = defaultdict(list)
    for t in tickets:
        per[t.day].append(t)
    out = []
    for day in each_day(first, last):
        ts = per.get(day.isoformat(), [])
        waits = [t.wait_s for t in ts if t.called_at is not None]
        out.append(
            {
                "date": day.isoformat(),
                "issued": len(ts),
                "served": sum(1 for t in ts if t.status == "done"),
                "no_show": sum(1 for t in ts if t.status == "no_show"),
                "avg_wait_s": figures.mean(waits),
                "max_wait_s": max(waits, default=0),
            }
        )
    return out


def _promised(hall: Hall, tickets: list[Any]) -> dict[str, Any]:
    """及时办结率 (HALL_RULES 6): promised matters received, and those completed within their time limit."""
    limits = {s.id: s.time_limit_days for s in hall.services if s.kind is ServiceKind.PROMISED}
    deadline = deadline_of(hall)
    received = [t for t in tickets if t.service_id in limits and t.called_at is not None and t.status != "no_show"]
    on_time = [
        t
        for t in received
        if t.status == "done"
        and t.outcome == "completed"
        and t.finished_at is not None
        and t.finished_at <= deadline(t.issued_at, limits[t.service_id])
    ]
    return {"received": len(received), "on_time": len(on_time), "rate": figures.share(len(on_time), len(received))}


def _first_ask(tickets: list[Any]) -> dict[str, Any]:
    """首问负责 (HALL_RULES 4): matters a first window received, accepted (served or handed on) and completed."""
    received = [t for t in tickets if t.owner_counter is not None and t.status != "no_show"]
    accepted = [t for t in received if t.status != "closed_out"]
    completed = [t for t in received if t.status == "done" and t.outcome == "completed"]
    return {
        "received": len(received),
        "accepted": len(accepted),
        "completed": len(completed),
        "acceptance_rate": figures.share(len(accepted), len(received)),
        "completion_rate": figures.share(len(completed), len(received)),
    }
