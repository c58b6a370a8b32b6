"""Days, weeks and months as the hall counts them, and the queries that name them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from server.engine.errors import invalid
from server.engine.model import Hall

_MONTH = re.compile(r"(\d{4})-(\d{2})")


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
    following = date(first.year + 1, 1, 1) if first.month == 12 and first.year < 9999 else None
    if first.month < 12:
        following = first.replace(month=first.month + 1)
    last = following - timedelta(days=1) if following else date.max
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
    monday = day - timedelta(days=min(day.weekday(), (day - date.min).days))
    year, week, _ = day.isocalendar()
    return monday, min(date.max, monday + timedelta(days=min(6, (date.max - monday).days))), f"{year}-W{week:02d}"


def day_bounds(hall: Hall, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of the hall-local start of `first` and the start of the day after `last`."""
    try:
        start = datetime.combine(first, time(0), hall.timezone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), hall.timezone).astimezone(UTC)
    except OverflowError:  # the calendar's edges (0001-01-01, 9999-12-31): no hall was open
        return datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)
    return start, end


def closing_time(hall: Hall, day: date) -> datetime:
    """When the hall's day ends: the last period end of any enabled service that day, else midnight."""
    ends = []
    for service in hall.services:
        hours = service.hours
        if not service.enabled:
            continue
        if hours.always:
            ends.append(time.max)
        elif day.weekday() in hours.days:
            ends.append(hours.periods[-1][1])
    end = max(ends, default=time.max)
    if end == time.max:
        try:
            return datetime.combine(day + timedelta(days=1), time(0), hall.timezone)
        except OverflowError:  # 9999-12-31
            return datetime.max.replace(tzinfo=UTC)
    return datetime.combine(day, end, hall.timezone)


def summary_is_final(hall: Hall, day: date, made_at: datetime) -> bool:
    """A day's summary made after its closing holds the whole day; one made earlier (`hallq close-day` run
    while the hall was still open) may be outgrown by what happened afterwards."""
    return made_at >= closing_time(hall, day)


def each_day(first: date, last: date) -> Iterator[date]:
    """first, first + 1 day, … last (safe at the calendar's last day)."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def deadline_of(hall: Hall) -> Callable[[datetime, int], datetime]:
    """`Hall.deadline` (working days on the hall's calendar), remembered per day: a month asks it thousands of times."""
    known: dict[tuple[date, int], date] = {}

    def deadline(start: datetime, days: int) -> datetime:
        local = hall.local(start)
        key = (local.date(), days)
        if key not in known:
            known[key] = hall.deadline(start, days).date()
        return datetime.combine(known[key], local.time(), hall.timezone)

    return deadline


FIRST_LISTED, LAST_LISTED = date(1971, 1, 2), date(9998, 12, 30)


def clamp_days(first: date, last: date) -> tuple[date, date]:
    """A listing's days as far as a calendar reaches: 0001-01-01 and 9999-12-31 mean "no bound" (a listing
    answers any range of real dates; only reports, computed day by day, refuse a long one)."""
    return min(max(first, FIRST_LISTED), LAST_LISTED), min(max(last, FIRST_LISTED), LAST_LISTED)
