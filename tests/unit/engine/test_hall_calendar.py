"""server.engine.calendar: working days with holidays and 调休, and hall-local days across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.engine.calendar import Calendar, day_bounds, deadline
from server.engine.model import Counter, Hall, Hours, Service

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")

# 国庆 2026: Oct 1 (Thu) – Oct 7 (Wed) off; Sep 20 (Sun) and Oct 10 (Sat) worked (调休).
NATIONAL_DAY = Calendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    workdays=frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
)


def test_weekends_are_not_working_days_unless_made_up() -> None:
    assert NATIONAL_DAY.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not NATIONAL_DAY.is_working_day(date(2026, 9, 19))  # Saturday
    assert NATIONAL_DAY.is_working_day(date(2026, 9, 20))  # Sunday, 调休
    assert not NATIONAL_DAY.is_working_day(date(2026, 10, 5))  # Monday, a holiday


def test_working_days_skip_the_holidays_and_count_the_make_up_saturday() -> None:
    assert NATIONAL_DAY.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)  # Thursday after the break
    assert NATIONAL_DAY.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the make-up Saturday
    assert NATIONAL_DAY.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert NATIONAL_DAY.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)  # Friday → the worked Sunday
    assert NATIONAL_DAY.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_a_calendar_that_never_works_has_no_deadline() -> None:
    with pytest.raises(ValueError):
        Calendar(weekdays=frozenset()).add_working_days(date(2026, 1, 1), 1)


def test_a_deadline_keeps_the_hall_local_time_of_day() -> None:
    rated = datetime(2026, 9, 30, 8, 15, tzinfo=UTC)  # 16:15 in Shanghai
    due = deadline(NATIONAL_DAY, SHANGHAI, rated, 1)
    assert due == datetime(2026, 10, 8, 16, 15, tzinfo=SHANGHAI)


def test_a_deadline_across_a_dst_change_keeps_the_wall_clock_time() -> None:
    week = Calendar()
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=NEW_YORK)  # EST; DST starts Sunday 2026-03-08
    due = deadline(week, NEW_YORK, friday, 1)
    assert due.astimezone(NEW_YORK) == datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)  # Monday 10:00 EDT
    assert due - friday == timedelta(days=3) - timedelta(hours=1)  # a day of 23 hours in between


def test_a_hall_local_day_lasts_23_or_25_hours_when_the_clocks_change() -> None:
    spring = day_bounds(date(2026, 3, 8), NEW_YORK)
    autumn = day_bounds(date(2026, 11, 1), NEW_YORK)
    plain = day_bounds(date(2026, 3, 9), NEW_YORK)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert plain[1] - plain[0] == timedelta(hours=24)
    assert spring[0] == datetime(2026, 3, 8, 5, 0, tzinfo=UTC) and spring[1] == plain[0]


@given(st.dates(date(2000, 1, 1), date(2090, 1, 1)))
def test_consecutive_hall_days_tile_time_without_gaps(day: date) -> None:
    assert day_bounds(day, NEW_YORK)[1] == day_bounds(day + timedelta(days=1), NEW_YORK)[0]


@given(st.dates(date(2026, 1, 1), date(2027, 12, 31)), st.integers(1, 30))
def test_the_deadline_is_a_working_day_with_exactly_n_working_days_after_the_start(start: date, n: int) -> None:
    due = NATIONAL_DAY.add_working_days(start, n)
    assert NATIONAL_DAY.is_working_day(due)
    between = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(NATIONAL_DAY.is_working_day(d) for d in between) == n


def _hall(hours: Hours, calendar: Calendar) -> Hall:
    service = Service(id="id-card", name="身份证办理", name_en="ID card", prefix="A", hours=hours)
    counter = Counter(id="w1", number=1, name="1号窗口", services=("id-card",))
    return Hall("town", "镇", "Town", SHANGHAI, 3, 2, (service,), (counter,), calendar=calendar)


def test_a_holiday_closes_the_hall_and_a_make_up_day_opens_it() -> None:
    hall = _hall(Hours(), NATIONAL_DAY)
    service = hall.services[0]
    assert not hall.is_open(service, datetime(2026, 10, 5, 10, 0, tzinfo=SHANGHAI))  # Monday, holiday
    assert hall.is_open(service, datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI))  # Saturday, 调休
    assert not hall.is_open(service, datetime(2026, 10, 10, 12, 30, tzinfo=SHANGHAI))  # lunch, even then
    assert not hall.is_open(service, datetime(2026, 10, 17, 10, 0, tzinfo=SHANGHAI))  # a plain Saturday


def test_an_always_open_hall_stays_open_on_holidays_but_counts_working_days() -> None:
    hall = _hall(Hours(always=True), NATIONAL_DAY)
    assert hall.is_open(hall.services[0], datetime(2026, 10, 3, 3, 0, tzinfo=SHANGHAI))
    due = hall.deadline(datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI), 1)
    assert due == datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
