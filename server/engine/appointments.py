"""Appointments (预约服务, PROTOCOL v1.2): slots, the booking window, per-person limits, the no-show
rule and the check-in window, as pure rules over the hall's calendar and an explicit `now`.

The defaults are what Chinese halls publish: 15-minute slots, booking from the next working day up to
the fifth, cancelling up to 2 hours before, checking in from 30 minutes before to 15 minutes after the
booked start, at most 1 booking a day, 2 a week and 6 a month per person, and 2 missed appointments
within 90 days blocking the person from booking for 90 days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .calendar import Calendar
from .errors import HallError

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed on a kiosk keypad
CODE_LENGTH = 8
MAX_RANGE_DAYS = 31  # GET .../slots answers at most this many days at once
MAX_NAME = 40
ACTIVE = ("booked", "checked_in", "served", "missed")  # statuses that count against the per-person limits


class AppointmentStatus:
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    MISSED = "missed"
    SERVED = "served"


@dataclass(frozen=True)
class Booking:
    """A service's appointment rules (`[hall.service.appointments]`)."""

    slot_min: int = 15
    public_places: int = 2  # places per slot anyone may book
    staff_places: int = 1  # places per slot only staff book (电话预约, at the desk)
    days: frozenset[int] | None = None  # weekdays with slots (0 = Monday); None: the hall's working days
    periods: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 0)))
    always: bool = False  # slots at every hour of every day (the demo hall)
    only: bool = False  # appointment-only (非固定窗口): no walk-in tickets
    min_lead_days: int = 1  # working days between today and the first bookable day (0: today, later slots)
    max_days: int = 5  # the last bookable day, in working days from today
    cancel_limit_min: int = 120
    early_min: int = 30  # check-in opens this long before the booked start
    late_min: int = 15  # and closes this long after it
    per_day: int = 1
    per_week: int = 2
    per_month: int = 6
    no_show_limit: int = 2
    no_show_window_days: int = 90
    block_days: int = 90

    def places(self, staff: bool) -> int:
        return self.public_places + (self.staff_places if staff else 0)


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime
    start_text: str = ""  # hall-local ISO 8601, made once with the (cached) day's slots
    end_text: str = ""


def _calendar(rules: Booking, calendar: Calendar) -> Calendar:
    if rules.always:
        return Calendar(weekdays=frozenset(range(7)))
    return calendar


def has_slots(rules: Booking, calendar: Calendar, day: date) -> bool:
    """Whether the service takes appointments on this date: a working day of the hall on the schedule's weekdays.

    A make-up working day (调休) has the slots of the weekday it stands for in the hall's week: every weekday.
    """
    cal = _calendar(rules, calendar)
    if not cal.is_working_day(day):
        return False
    return rules.days is None or day.weekday() in rules.days or day in cal.workdays


@lru_cache(maxsize=8192)
def day_slots(rules: Booking, calendar: Calendar, zone: ZoneInfo, day: date) -> tuple[Slot, ...]:
    """Every slot of one hall-local date, in order (none on a day off); kept, as the rules never change."""
    if not has_slots(rules, calendar, day):
        return ()
    periods = ((time(0), time.max),) if rules.always else rules.periods
    step = timedelta(minutes=rules.slot_min)
    out: list[Slot] = []
    for first, last in periods:
        start = datetime.combine(day, first, zone)
        end_of_period = (
            datetime.combine(day + timedelta(days=1), time(0), zone)
            if last == time.max
            else datetime.combine(day, last, zone)
        )
        while start + step <= end_of_period:
            end = start + step
            out.append(
                Slot(
                    start.astimezone(UTC),
                    end.astimezone(UTC),
                    start.isoformat(timespec="seconds"),
                    end.astimezone(zone).isoformat(timespec="seconds"),
                )
            )
            start += step
    return tuple(out)


def window(rules: Booking, calendar: Calendar, zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The first and last hall-local dates that may be booked now."""
    cal = _calendar(rules, calendar)
    today = now.astimezone(zone).date()
    first = cal.add_working_days(today, rules.min_lead_days)
    last = cal.add_working_days(today, rules.max_days)
    return first, max(first, last)


def bookable(rules: Booking, calendar: Calendar, zone: ZoneInfo, first: date, last: date, now: datetime) -> list[Slot]:
    """The slots from `first` to `last` (hall-local dates) inside the booking window, starting after now."""
    if (last - first).days + 1 > MAX_RANGE_DAYS or last < first:
        raise HallError("invalid_query", 422, f"the range must be 1 to {MAX_RANGE_DAYS} days")
    opens, closes = window(rules, calendar, zone, now)
    out: list[Slot] = []
    day = max(first, opens)
    while day <= min(last, closes):
        out.extend(s for s in day_slots(rules, calendar, zone, day) if s.start > now)
        day += timedelta(days=1)
    return out


def check_slot(rules: Booking, calendar: Calendar, zone: ZoneInfo, start: datetime, now: datetime) -> Slot:
    """The slot that starts at `start`: 422 `invalid_slot` when none does, `outside_window` when it cannot be booked."""
    if not 2 <= start.year <= 9998:  # no hall's slot; and the calendar's edge overflows in the hall's zone
        raise HallError("invalid_slot", 422, "no slot of this service starts at that time")
    local = start.astimezone(zone)
    slot = next((s for s in day_slots(rules, calendar, zone, local.date()) if s.start == start), None)
    if slot is None:
        raise HallError("invalid_slot", 422, "no slot of this service starts at that time")
    opens, closes = window(rules, calendar, zone, now)
    if slot.start <= now or not opens <= local.date() <= closes:
        raise HallError(
            "outside_window",
            422,
            f"slots can be booked from {opens.isoformat()} to {closes.isoformat()}, not in the past",
        )
    return slot


def check_limits(rules: Booking, zone: ZoneInfo, start: datetime, booked: Iterable[datetime]) -> None:
    """409 `booking_limit` when the person already holds their share of that day, week or month."""
    day = start.astimezone(zone).date()
    same_day = same_week = same_month = 0
    for other in booked:
        d = other.astimezone(zone).date()
        same_day += d == day
        same_week += d.isocalendar()[:2] == day.isocalendar()[:2]
        same_month += (d.year, d.month) == (day.year, day.month)
    for count, limit, what in (
        (same_day, rules.per_day, "day"),
        (same_week, rules.per_week, "week"),
        (same_month, rules.per_month, "month"),
    ):
        if count >= limit:
            raise HallError("booking_limit", 409, f"at most {limit} appointment(s) of this service a {what} per person")


def block_after(rules: Booking, misses: Sequence[datetime]) -> datetime | None:
    """The end of the block the latest of these misses starts, or None (no-show rule).

    `misses` are the person's missed appointments (their booked starts plus the late minutes: when
    they became missed) after their last block began; a block counts its misses once.
    """
    if not misses:
        return None
    latest = max(misses)
    recent = [m for m in misses if latest - m < timedelta(days=rules.no_show_window_days)]
    if len(recent) < rules.no_show_limit:
        return None
    return latest + timedelta(days=rules.block_days)


def check_blocked(until: datetime | None, now: datetime, zone: ZoneInfo) -> None:
    if until is not None and until > now:
        local = until.astimezone(zone).isoformat(timespec="seconds")
        raise HallError(
            "blocked", 409, f"missed appointments: booking is blocked until {local}", extra={"until": local}
        )


def check_in_opens(rules: Booking, start: datetime) -> datetime:
    return start - timedelta(minutes=rules.early_min)


def check_in_closes(rules: Booking, start: datetime) -> datetime:
    """After this moment an appointment not checked in is `missed`."""
    return start + timedelta(minutes=rules.late_min)


def check_check_in(rules: Booking, start: datetime, now: datetime, zone: ZoneInfo) -> None:
    """409 `too_early` (with `opens_at`) or `appointment_expired` outside the check-in window."""
    opens = check_in_opens(rules, start)
    if now < opens:
        local = opens.astimezone(zone).isoformat(timespec="seconds")
        raise HallError("too_early", 409, f"check-in opens at {local}", extra={"opens_at": local})
    if now > check_in_closes(rules, start):
        raise HallError("appointment_expired", 409, "the check-in time of this appointment is over")


def check_cancel(rules: Booking, start: datetime, now: datetime) -> None:
    if now > start - timedelta(minutes=rules.cancel_limit_min):
        raise HallError(
            "too_late_to_cancel", 409, f"an appointment can be cancelled up to {rules.cancel_limit_min} minutes before"
        )


def on_time(start: datetime, checked_in_at: datetime | None, called_at: datetime | None) -> bool:
    """PROTOCOL v1.2 `on_time`: called by start + 10 min, or by check-in + 10 min when checked in late."""
    if called_at is None:
        return False
    base = max(start, checked_in_at) if checked_in_at is not None else start
    return called_at <= base + timedelta(minutes=10)


_CODE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


def normal_code(text: str) -> str | None:
    """A typed or scanned code, upper-cased without spaces and dashes; None when it cannot be one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    code = re.sub(r"[\s-]", "", text).upper()
    return code if _CODE.fullmatch(code) else None
