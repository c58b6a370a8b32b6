"""The hall's reports: daily, weekly, monthly and any range of days, from tickets and a few kinds of ledger line.

Each figure is defined once in docs/api.md ("Report figures"); the arithmetic lives in server/engine/figures.py.
Past days read their uncovered time from the stored daily summary (written at closing), so a month
reads the tickets' columns and a few kinds of ledger line, never the whole ledger.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, String, func, select, type_coerce
from sqlalchemy.orm import Session

from server.engine import figures
from server.engine.figures import Move
from server.engine.model import Hall
from server.store.models import ComplaintRow, LedgerRow, PeriodReportRow, RatingRow, TicketRow

from . import coverage, matters, rollup, scores, staff_time
from .appointment_figures import appointment_figures
from .context import Context
from .periods import day_bounds, each_day, parse_day, parse_month, parse_range, summary_is_final, week_of

__all__ = ["daily", "monthly", "parse_day", "parse_month", "parse_range", "period", "weekly"]
COMPLAINT_CLOSED = ("complaint_resolved", "complaint_dismissed", "complaint_closed")


# -- reports ------------------------------------------------------------------------------------


def daily(ctx: Context, hall_id: str, day: date) -> dict[str, Any]:
    """The day's summary (PROTOCOL.md's fields, and the additions in docs/api.md)."""
    body = summary(ctx, hall_id, day)
    body.pop("totals", None)
    body["staff"] = staff_time.report(ctx, hall_id, day, day)  # issue 24: not kept in the stored summary
    return body


def weekly(ctx: Context, hall_id: str, day: date) -> dict[str, Any]:
    """每周一督查: the ISO week holding `day`, with each day's headline figures."""
    hall = ctx.hall(hall_id)
    first, last, name = week_of(day)
    body = period(ctx, hall, first, last, with_days=True)
    return {"week": name, "from": first.isoformat(), "to": last.isoformat(), **body}


def monthly(ctx: Context, hall_id: str, first: date, last: date, rules: figures.ScoreRules) -> dict[str, Any]:
    """每月一上报: the month's figures and each window's score, every deduction tracing to ledger lines."""
    hall = ctx.hall(hall_id)
    body, totals = _period(ctx, hall, first, last, with_days=True)
    body.pop("totals", None)
    start, end = day_bounds(hall, first, last)
    with ctx.db.read() as s:
        lapses = list(scores.lapses(s, hall, start, end, ctx.clock.now(), body["uncovered"]))
    served = {row["counter"]: row["served"] for row in body["by_counter"]}
    handled = {row["counter"]: row["served"] + row["no_show"] for row in body["by_counter"]}
    windows = figures.window_scores([c.id for c in hall.counters], served, lapses, rules, handled)
    staff = staff_time.report(ctx, hall_id, first, last)
    return {"month": first.isoformat()[:7], **body, "windows": windows, "staff": staff}


def period(ctx: Context, hall: Hall, first: date, last: date, with_days: bool = False) -> dict[str, Any]:
    """Figures over hall-local days first..last, inclusive."""
    body, _ = _period(ctx, hall, first, last, with_days)
    body.pop("totals", None)
    return body


def summary(ctx: Context, hall_id: str, day: date, fresh: bool = False) -> dict[str, Any]:
    """The day's report with its totals (the rollup kept in the stored daily summary); `fresh` reads the
    day's tickets even when a summary is stored."""
    body, _ = _period(ctx, ctx.hall(hall_id), day, day, with_days=False, fresh=fresh)
    return {"date": day.isoformat(), **body}


def _period(
    ctx: Context, hall: Hall, first: date, last: date, with_days: bool, fresh: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures, and the merged totals they came from."""
    start, end = day_bounds(hall, first, last)
    now = ctx.clock.now()
    days = list(each_day(first, last))
    with ctx.db.read() as s:
        stored = {} if fresh else _stored_days(s, hall, first, last)
        per_day = {
            d: b["totals"] for d, b in stored.items() if (b.get("totals") or {}).get("version") == rollup.VERSION
        }
        todo = [d for d in days if d.isoformat() not in per_day]
        if todo:
            per_day.update(_compute_days(s, hall, todo, len(todo) == len(days)))
        ratings = _ratings(s, hall, first, last)
        for key, n in matters.result_ratings(s, hall, accepted=(start, end)).items():  # 办件评价 count too
            ratings[key] = ratings.get(key, 0) + n
        complaints = _complaints(s, hall, start, end, now)
        promised = matters.figures(s, hall, start, end, now)  # live: a matter's result comes days later
        cover = coverage.cover(s, hall, start, min(end, now))
        uncovered = coverage.uncovered(s, hall, first, last, now, stored)
        booked = appointment_figures(s, hall, first, last)  # PROTOCOL v1.2, counted live like ratings
    totals = rollup.merge(per_day[d.isoformat()] for d in days)
    levels = {str(level): sum(n for (lv, _), n in ratings.items() if lv == level) for level in range(1, 6)}
    rated = sum(levels.values())
    body: dict[str, Any] = {
        **rollup.public(totals),
        "by_counter": _by_counter(totals, ratings),
        "ratings": levels,
        "satisfaction_rate": figures.share(rated - levels["1"] - levels["2"], rated),
        "complaints": complaints,
        "promised": promised,
        "one_time_notice": {
            "notices": totals.get("notices", 0),
            "items": totals.get("items", 0),
            "repeat_visits": totals.get("repeat_visits", 0),
        },
        "cover": cover,
        "uncovered": uncovered,
        "appointments": booked,
    }
    if first == last:
        body["totals"] = per_day[first.isoformat()]
    if with_days:
        body["days"] = [_day_line(d, per_day[d.isoformat()]) for d in days]
    return body, totals


def _compute_days(s: Session, hall: Hall, days: list[date], whole: bool) -> dict[str, dict[str, Any]]:
    """Totals of days without a stored summary, from their tickets and the transfers made on them."""
    tickets = _tickets(s, hall, days, whole)
    by_day: dict[str, list[Any]] = defaultdict(list)
    for t in tickets:
        by_day[t.day].append(t)
    moves: dict[str, list[Move]] = defaultdict(list)  # by the ticket's day, as its other figures are
    lines = s.execute(
        select(TicketRow.day, LedgerRow.detail)
        .join(TicketRow, TicketRow.id == LedgerRow.ticket_id)
        .where(LedgerRow.hall_id == hall.id, LedgerRow.kind == "transferred")
        .where(TicketRow.day >= days[0].isoformat(), TicketRow.day <= days[-1].isoformat())
        .order_by(LedgerRow.id)
    )
    for day, detail in lines:
        d = detail or {}
        if d.get("from_service"):
            moves[day].append(Move(d["from_service"], d.get("to_service") or d["from_service"]))
    items = _missing_items(s, hall, days[0], days[-1])
    repeats = _repeat_visits(s, hall, days[0], days[-1])
    out = {}
    for d in days:
        key = d.isoformat()
        out[key] = rollup.day_totals(hall, by_day[key], moves[key], items[key])
        out[key]["repeat_visits"] = repeats.get(key, 0)
    return out


def _day_line(day: date, totals: dict[str, Any]) -> dict[str, Any]:
    waits = [int(w) for w in totals.get("waits", {})]
    called = totals.get("called", 0)
    return {
        "date": day.isoformat(),
        "issued": totals.get("issued", 0),
        "served": totals.get("served", 0),
        **{k: totals.get(k, 0) for k in rollup.OUTCOMES},
        "no_show": totals.get("no_show", 0),
        "avg_wait_s": round(totals.get("wait_sum", 0) / called) if called else 0,
        "max_wait_s": max(waits, default=0),
    }


def _by_counter(totals: dict[str, Any], ratings: dict[tuple[int, str | None], int]) -> list[dict[str, Any]]:
    rows = totals.get("by_counter", {})
    rated: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # ratings, levels 3-5
    for (level, counter), n in ratings.items():
        if counter:
            rated[counter][0] += n
            rated[counter][1] += n if level >= 3 else 0
    out = []
    for cid in sorted(set(rows) | set(rated)):
        row = rows.get(cid, {})
        served = row.get("served", 0)
        out.append(
            {
                "counter": cid,
                "served": served,
                **{k: row.get(k, 0) for k in rollup.OUTCOMES},
                "avg_service_s": round(row.get("service_sum", 0) / served) if served else 0,
                "on_behalf": row.get("on_behalf", 0),
                "no_show": row.get("no_show", 0),
                "ratings": rated[cid][0],
                "satisfaction_rate": figures.share(rated[cid][1], rated[cid][0]),
            }
        )
    return out


# -- reading ------------------------------------------------------------------------------------


TICKET_FIELDS = (
    "id issued_service service_id status priority issued_at called_at finished_at wait_s service_s served_by"
    " on_behalf_of owner_counter outcome day"
).split()
TIMES = ("issued_at", "called_at", "finished_at")
Ticket = namedtuple("Ticket", TICKET_FIELDS)  # type: ignore[misc]  # noqa: PYI024


def _tickets(s: Session, hall: Hall, days: list[date], whole: bool) -> list[Any]:
    """The tickets of some days (`whole`: every day from the first to the last), only the columns used.

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
    query = select(*columns).where(TicketRow.hall_id == hall.id)
    if whole:
        queries = [query.where(TicketRow.day >= days[0].isoformat(), TicketRow.day <= days[-1].isoformat())]
    else:
        names = [d.isoformat() for d in days]
        queries = [query.where(TicketRow.day.in_(names[i : i + 500])) for i in range(0, len(names), 500)]
    where = [TICKET_FIELDS.index(f) for f in TIMES]
    out = []
    for q in queries:
        for row in s.execute(q):
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


def _ratings(s: Session, hall: Hall, first: date, last: date) -> dict[tuple[int, str | None], int]:
    """Ratings of the period's tickets per (level, counter), counted live (a resident rates after closing)."""
    rows = s.execute(
        select(RatingRow.level, RatingRow.counter_id, func.count())
        .join(TicketRow, TicketRow.id == RatingRow.ticket_id)
        .where(TicketRow.hall_id == hall.id, TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
        .group_by(RatingRow.level, RatingRow.counter_id)
    )
    return {(int(level), counter): int(n) for level, counter, n in rows}


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
        ids = {c.ticket_id for c in cases} | {c.id for c in cases}
        for line in s.scalars(
            select(LedgerRow).where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(COMPLAINT_CLOSED))
        ):
            # keyed by the case when the line names it (a ticket may hold the visit's and its result's case)
            tid = (line.detail or {}).get("complaint") or line.ticket_id or (line.detail or {}).get("ticket_id")
            if tid in ids:
                closed_at[tid] = max(closed_at.get(tid, line.at), line.at)

    def closed_when(c: ComplaintRow) -> datetime | None:
        return closed_at.get(c.id, closed_at.get(c.ticket_id))

    on_time = sum(1 for c in cases if (when := closed_when(c)) is not None and when <= c.due_at)
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


def _repeat_visits(s: Session, hall: Hall, first: date, last: date) -> dict[str, int]:
    """Return visits (跑两趟) per day: tickets issued with a 一次性告知 code, linked to the first visit.

    The kiosk's issue sets `repeat_of` on the new ticket when it redeems the notice's code (its `issued`
    ledger line carries the same link); the notices themselves are counted beside this, from the tickets
    finished `incomplete`.
    """
    rows = s.execute(
        select(TicketRow.day, func.count(TicketRow.id))
        .where(TicketRow.hall_id == hall.id, TicketRow.repeat_of.is_not(None))
        .where(TicketRow.day >= first.isoformat(), TicketRow.day <= last.isoformat())
        .group_by(TicketRow.day)
    )
    return {day: int(n) for day, n in rows}


def _missing_items(s: Session, hall: Hall, first: date, last: date) -> dict[str, int]:
    """Items listed on one-time notices (一次性告知) per day; read only for the tickets that had one."""
    rows = s.execute(
        select(TicketRow.day, TicketRow.missing).where(
            TicketRow.hall_id == hall.id,
            TicketRow.day >= first.isoformat(),
            TicketRow.day <= last.isoformat(),
            TicketRow.outcome == "incomplete",
        )
    )
    out: dict[str, int] = defaultdict(int)
    for day, missing in rows:
        out[day] += len(missing or [])
    return out


def _stored_days(s: Session, hall: Hall, first: date, last: date) -> dict[str, dict[str, Any]]:
    """The days' stored summaries that hold their whole day (a day closed early is read from its tickets)."""
    rows = s.execute(
        select(PeriodReportRow.period, PeriodReportRow.body, PeriodReportRow.made_at).where(
            PeriodReportRow.hall_id == hall.id,
            PeriodReportRow.kind == "daily",
            PeriodReportRow.period >= first.isoformat(),
            PeriodReportRow.period <= last.isoformat(),
        )
    )
    return {
        period: body for period, body, made_at in rows if summary_is_final(hall, date.fromisoformat(period), made_at)
    }


# -- the figures --------------------------------------------------------------------------------
