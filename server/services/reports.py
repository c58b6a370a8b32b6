"""The ledger (台账) and the hall's reports: daily, weekly and monthly figures from tickets and ledger lines.

Each figure is defined once in docs/api.md ("Report figures"); the arithmetic lives in server/engine/figures.py.
Past days read their uncovered time from the stored daily summary (written at closing), so a month
reads the tickets' columns and a few kinds of ledger line, never the whole ledger.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from server.engine import figures
from server.engine.errors import invalid
from server.engine.figures import Fact, Move, TicketFacts
from server.engine.model import CounterState, Hall, ServiceKind
from server.store.models import ComplaintRow, LedgerRow, PeriodReportRow, RatingRow, TicketRow

from . import views
from .context import Context
from .ratings import add_working_days

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
    "day",
]
_MONTH = re.compile(r"(\d{4})-(\d{2})")
COVER_KINDS = ("away", "back", "cover_lost", "cover_restored")
FACT_KINDS = ("counter_opened", "counter_closed", "away", "back", "issued", "called", "transferred", "closed_out")
COMPLAINT_CLOSED = ("complaint_resolved", "complaint_dismissed", "complaint_closed")
JUSTIFIED = ("verified", "resolved")


# -- parsing queries ----------------------------------------------------------------------------


def parse_day(value: str | None, name: str) -> date:
    if not value:
        raise invalid(f"'{name}' is required as YYYY-MM-DD", "invalid_query")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"'{name}' must be a date as YYYY-MM-DD", "invalid_query") from None


def parse_month(value: str | None) -> tuple[date, date]:
    """The first and last day of a month given as YYYY-MM."""
    match = _MONTH.fullmatch(value or "")
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise invalid("'month' must be a month as YYYY-MM", "invalid_query")
    first = date(int(match[1]), int(match[2]), 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def parse_range(first_text: str | None, last_text: str | None, max_days: int = 400) -> tuple[date, date]:
    """A from/to range of days, inclusive, at most `max_days` long."""
    first, last = parse_day(first_text, "from"), parse_day(last_text, "to")
    if last < first:
        raise invalid("'to' is before 'from'", "invalid_query")
    if (last - first).days >= max_days:
        raise invalid(f"a range covers at most {max_days} days", "invalid_query")
    return first, last


def week_of(day: date) -> tuple[date, date, str]:
    """The ISO week (Monday to Sunday) holding a day, and its name (2026-W48)."""
    monday = day - timedelta(days=day.weekday())
    year, week, _ = day.isocalendar()
    return monday, monday + timedelta(days=6), f"{year}-W{week:02d}"


def day_bounds(hall: Hall, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of the hall-local start of `first` and the start of the day after `last`."""
    try:
        start = datetime.combine(first, time(0), hall.timezone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), hall.timezone).astimezone(UTC)
    except OverflowError:  # the calendar's edges (0001-01-01, 9999-12-31): no hall was open
        return datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    return start, end


# -- the ledger ---------------------------------------------------------------------------------


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
        )
        out.append(item)
    return out


def ticket_history(ctx: Context, hall_id: str, ticket_id: str | None, number: str | None, day: date | None) -> dict:
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
            from server.engine.errors import not_found

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
    body = period(ctx, hall, first, last, with_days=True)
    start, end = day_bounds(hall, first, last)
    with ctx.db.read() as s:
        lapses = list(_lapses(s, hall, start, end, first, last, body["uncovered"]))
    served = {row["counter"]: row["served"] for row in body["by_counter"]}
    windows = figures.window_scores([c.id for c in hall.counters], served, lapses, rules)
    return {"month": first.isoformat()[:7], **body, "windows": windows}


def period(ctx: Context, hall: Hall, first: date, last: date, with_days: bool = False) -> dict[str, Any]:
    """Figures over hall-local days first..last, inclusive."""
    start, end = day_bounds(hall, first, last)
    now = ctx.clock.now()
    with ctx.db.read() as s:
        tickets = _tickets(s, hall, first, last)
        moves = _moves(s, hall, start, end)
        ratings = _ratings(s, hall, first, last)
        complaints = _complaints(s, hall, start, end, now)
        cover = _cover(s, hall, start, min(end, now))
        repeat = _repeat_visits(s, hall, start, end)
        stored = _stored_days(s, hall, first, last)
        uncovered = _uncovered(s, hall, first, last, now, stored)
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
            "items": sum(len(t.missing or []) for t in tickets if t.outcome == "incomplete"),
            "repeat_visits": repeat,
        },
        "cover": cover,
        "uncovered": uncovered,
    }
    if with_days:
        body["days"] = _days(tickets, first, last)
    return body


# -- reading ------------------------------------------------------------------------------------


def _tickets(s: Session, hall: Hall, first: date, last: date) -> list[Any]:
    return list(
        s.execute(
            select(
                TicketRow.id,
                TicketRow.issued_service,
                TicketRow.service_id,
                TicketRow.status,
                TicketRow.priority,
                TicketRow.issued_at,
                TicketRow.called_at,
                TicketRow.finished_at,
                TicketRow.wait_s,
                TicketRow.service_s,
                TicketRow.served_by,
                TicketRow.on_behalf_of,
                TicketRow.owner_counter,
                TicketRow.outcome,
                TicketRow.missing,
                TicketRow.day,
            ).where(TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
        )
    )


def _lines(s: Session, hall: Hall, kinds: Iterable[str], start: datetime, end: datetime) -> list[LedgerRow]:
    return list(
        s.scalars(
            select(LedgerRow)
            .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(tuple(kinds)))
            .where(LedgerRow.at >= start, LedgerRow.at < end)
            .order_by(LedgerRow.id)
        )
    )


def _moves(s: Session, hall: Hall, start: datetime, end: datetime) -> list[Move]:
    out = []
    for line in _lines(s, hall, ("transferred",), start, end):
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
    for t in tickets:
        issued[hall.local(t.issued_at).hour] += 1
        if t.status == "done" and t.finished_at is not None:
            served[hall.local(t.finished_at).hour] += 1
        if t.called_at is not None:
            waits[hall.local(t.called_at).hour].append(t.wait_s)
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


def _days(tickets: list[Any], first: date, last: date) -> list[dict[str, Any]]:
    per: dict[str, list[Any]] = defaultdict(list)
    for t in tickets:
        per[t.day].append(t)
    out = []
    day = first
    while day <= last:
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
        day += timedelta(days=1)
    return out


def _promised(hall: Hall, tickets: list[Any]) -> dict[str, Any]:
    """及时办结率 (HALL_RULES 6): promised matters received, and those completed within their time limit."""
    limits = {s.id: s.time_limit_days for s in hall.services if s.kind is ServiceKind.PROMISED}
    received = [t for t in tickets if t.service_id in limits and t.called_at is not None and t.status != "no_show"]
    on_time = [
        t
        for t in received
        if t.status == "done"
        and t.outcome == "completed"
        and t.finished_at is not None
        and t.finished_at <= add_working_days(hall, t.issued_at, limits[t.service_id])
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


def _cover(s: Session, hall: Hall, start: datetime, end: datetime) -> dict[str, Any]:
    """AB岗: takeovers, time away (covered) and time a window's queue had nobody (cover_lost .. cover_restored)."""
    if end <= start:
        return {"takeovers": 0, "uncovered_s": 0, "counters": []}
    lines = _lines(s, hall, COVER_KINDS, start, end)
    away_s = _intervals(lines, "away", "back", start, end)
    uncovered_s = _intervals(lines, "cover_lost", "cover_restored", start, end)
    takeovers: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.kind == "away":
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
    for cid, began in since.items():  # still open at the end of the period (or now)
        total[cid] += max(0, int((end - began).total_seconds()))
    return dict(total)


def _uncovered(
    s: Session, hall: Hall, first: date, last: date, now: datetime, stored: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Time each service had people waiting and no window serving it, per service and per window."""
    services: dict[str, int] = defaultdict(int)
    counters: dict[str, int] = defaultdict(int)
    desertions: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    day = first
    while day <= last:
        kept = stored.get(day.isoformat(), {}).get("uncovered")
        found = kept if kept is not None and "desertions" in kept else uncovered_day(s, hall, day, now)
        for row in found["services"]:
            services[row["service"]] += row["uncovered_s"]
        for row in found["counters"]:
            counters[row["counter"]] += row["uncovered_s"]
        desertions += found.get("desertions", [])
        if first == last:
            intervals += found.get("intervals", [])
        day += timedelta(days=1)
    return {
        "uncovered_s": sum(services.values()),
        "desertions": desertions,
        **({"intervals": intervals} if first == last else {}),
        "services": [{"service": k, "uncovered_s": v} for k, v in sorted(services.items()) if v],
        "counters": [{"counter": k, "uncovered_s": v} for k, v in sorted(counters.items()) if v],
    }


def uncovered_day(s: Session, hall: Hall, day: date, now: datetime) -> dict[str, Any]:
    """Replay one day's ledger through the engine's coverage rule (up to now, for today)."""
    start, end = day_bounds(hall, day, day)
    end = min(end, now)
    if end <= start:
        return {"services": [], "counters": [], "intervals": [], "desertions": []}
    states = _states_at(s, hall, start)
    facts = [_fact(line) for line in _lines(s, hall, FACT_KINDS, start, end)]
    found = figures.uncovered(hall, start, end, states, {}, facts)
    return {
        "services": [{"service": k, "uncovered_s": v} for k, v in sorted(found.services.items())],
        "counters": [{"counter": k, "uncovered_s": v} for k, v in sorted(found.counters.items())],
        "intervals": [
            {"service": sid, "from": views.iso(hall, a), "to": views.iso(hall, b)}
            for sid, spans in sorted(found.intervals.items())
            for a, b in spans
        ],
        "desertions": [{"counter": c, "event": e} for c, e in found.desertions],
    }


def _fact(line: LedgerRow) -> Fact:
    d = line.detail or {}
    return Fact(
        at=line.at,
        kind=line.kind,
        id=line.id,
        counter=line.counter_id,
        service=d.get("service") or d.get("from_service"),
        to_service=d.get("to_service"),
        was_waiting=d.get("status") == "waiting",
    )


def _states_at(s: Session, hall: Hall, start: datetime) -> dict[str, CounterState]:
    """Each counter's state at an instant, from its last state line before it."""
    kinds = tuple(figures.COUNTER_STATES)
    last_ids = (
        select(func.max(LedgerRow.id))
        .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(kinds), LedgerRow.at < start)
        .group_by(LedgerRow.counter_id)
    )
    rows = s.execute(select(LedgerRow.counter_id, LedgerRow.kind).where(LedgerRow.id.in_(last_ids)))
    return {cid: figures.COUNTER_STATES[kind] for cid, kind in rows if cid}


def _lapses(
    s: Session, hall: Hall, start: datetime, end: datetime, first: date, last: date, uncovered: dict[str, Any]
) -> Iterable[figures.Lapse]:
    """Each window's lapses in the period, with their ledger line ids (HALL_RULES 12)."""
    for row in uncovered["desertions"]:
        yield figures.Lapse(row["counter"], "uncovered_absence", (row["event"],))
    for line in _lines(s, hall, ("closed_out",), start, end):
        if line.counter_id:  # held at a window when the day closed: the matter was left unfinished
            yield figures.Lapse(line.counter_id, "overdue_matter", (line.id,))
    yield from _late_promised(s, hall, first, last)
    cases = s.scalars(
        select(ComplaintRow).where(
            ComplaintRow.hall_id == hall.id,
            ComplaintRow.opened_at >= start,
            ComplaintRow.opened_at < end,
            ComplaintRow.status.in_(JUSTIFIED),
        )
    ).all()
    for case in cases:
        lines = s.scalars(
            select(LedgerRow).where(
                LedgerRow.hall_id == hall.id,
                LedgerRow.kind.in_(("rated", "complaint_opened", "complaint_verified", "complaint_resolved")),
                LedgerRow.at >= case.opened_at,
            )
        ).all()
        mine = [x for x in lines if (x.ticket_id or (x.detail or {}).get("ticket_id")) == case.ticket_id]
        counter = next((x.counter_id for x in mine if x.counter_id), None)
        if counter:
            yield figures.Lapse(counter, "justified_complaint", tuple(sorted(x.id for x in mine)))


def _late_promised(s: Session, hall: Hall, first: date, last: date) -> Iterable[figures.Lapse]:
    """Promised matters finished after their time limit: the `finished` line is the evidence."""
    limits = {sv.id: sv.time_limit_days for sv in hall.services if sv.kind is ServiceKind.PROMISED}
    if not limits:
        return
    rows = s.execute(
        select(TicketRow.id, TicketRow.service_id, TicketRow.issued_at, TicketRow.finished_at, TicketRow.served_by)
        .where(TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
        .where(TicketRow.service_id.in_(tuple(limits)), TicketRow.status == "done")
    ).all()
    late = [r for r in rows if r.finished_at > add_working_days(hall, r.issued_at, limits[r.service_id])]
    for r in late:
        line = s.scalars(select(LedgerRow.id).where(LedgerRow.ticket_id == r.id, LedgerRow.kind == "finished")).first()
        if line is not None and r.served_by:
            yield figures.Lapse(r.served_by, "overdue_matter", (line,))
