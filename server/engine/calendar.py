"""A hall's calendar: which days it works, and days counted in the hall's own time zone.

Working days are the weekdays of the hall's hours, minus dated public holidays, plus make-up
working days (调休: a weekend day worked in exchange for a longer holiday). Every deadline in
working days (complaint call-backs and fixes) and every "hall day" boundary comes from here, so a
day is the hall's local day even when it lasts 23 or 25 hours (a DST change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_WORKING_DAYS = 3660  # a deadline further than ten years of working days is a configuration mistake


@dataclass(frozen=True)
class Calendar:
    """Weekdays (0 = Monday) the hall works, dated holidays, and make-up working days (调休)."""

    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # 调休: worked although its weekday is not

    def is_working_day(self, day: date) -> bool:
        """Whether the hall works on this (hall-local) date."""
        if day in self.holidays:
            return False
        return day in self.workdays or day.weekday() in self.weekdays

    def add_working_days(self, day: date, days: int) -> date:
        """The date `days` working days after `day` (the day itself does not count)."""
        if days < 0:
            raise ValueError("days must not be negative")
        if days == 0:
            return day
        if not self.weekdays and not self.workdays:
            raise ValueError("a calendar without working days has no deadlines")
        added, current = 0, day
        for _ in range(days * 7 + len(self.holidays) + 7):  # bounded: holidays can only delay so far
            current += timedelta(days=1)
            if self.is_working_day(current):
                added += 1
                if added == days:
                    return current
        raise ValueError("no working day found: the calendar has holidays on every working day")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a hall-local day as UTC instants: 23 or 25 hours long on a DST change."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def deadline(calendar: Calendar, zone: ZoneInfo, moment: datetime, days: int) -> datetime:
    """The same hall-local wall-clock time, `days` working days after `moment` (aware, in UTC).

    Counted on local dates, so a DST change in between moves neither the day nor the hour; a wall
    time that does not exist that day (skipped by DST) reads as an hour later, as clocks showed it.
    """
    local = moment.astimezone(zone)
    due_day = calendar.add_working_days(local.date(), days)
    # fold=0: a repeated hour (autumn) means its first pass; a skipped one (spring) lands after the jump.
    return datetime.combine(due_day, local.time(), zone).astimezone(UTC)
