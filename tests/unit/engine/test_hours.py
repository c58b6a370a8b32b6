"""server.engine.model: opening hours, and the hall-local day that numbers and reports belong to."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.engine.model import Counter, Hall, Hours, Kiosk, Service

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAY_HOURS = Hours()  # the seeds' common hours: Mon–Fri 8:30–12:00 and 13:30–17:30


def local(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Shanghai wall-clock moment in the week of Monday 2026-03-02 (day 0 = Monday)."""
    return datetime(2026, 3, 2 + day, hh, mm, ss, tzinfo=SHANGHAI)


def hall(timezone: str = "Asia/Shanghai", hours: Hours = WEEKDAY_HOURS) -> Hall:
    service = Service(id="id-card", name="身份证办理", name_en="ID card", prefix="A", hours=hours)
    return Hall(
        id="town",
        name="测试镇便民服务中心",
        name_en="Test Town",
        timezone=ZoneInfo(timezone),
        number_width=3,
        max_priority_streak=2,
        services=(service,),
        counters=(Counter(id="w1", number=1, name="1号窗口", services=("id-card",)),),
        kiosks=(Kiosk(id="k1", name="大厅取号机"),),
    )


# --- opening hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(("hh", "mm"), [(8, 30), (9, 0), (11, 59), (13, 30), (15, 0), (17, 29)])
def test_a_weekday_in_opening_hours_is_open(hh: int, mm: int) -> None:
    assert WEEKDAY_HOURS.is_open(local(0, hh, mm))


@pytest.mark.parametrize(("hh", "mm"), [(0, 0), (8, 29), (12, 0), (12, 45), (13, 29), (17, 30), (20, 0)])
def test_before_opening_at_lunch_and_after_closing_are_closed(hh: int, mm: int) -> None:
    assert not WEEKDAY_HOURS.is_open(local(0, hh, mm))


def test_a_period_includes_its_first_minute_and_excludes_its_end() -> None:
    assert WEEKDAY_HOURS.is_open(local(2, 8, 30, 0))
    assert not WEEKDAY_HOURS.is_open(local(2, 8, 29, 59))
    assert WEEKDAY_HOURS.is_open(local(2, 11, 59, 59))
    assert not WEEKDAY_HOURS.is_open(local(2, 12, 0, 0))


@pytest.mark.parametrize("day", range(5))
def test_every_weekday_opens(day: int) -> None:
    assert WEEKDAY_HOURS.is_open(local(day, 10))


@pytest.mark.parametrize("day", [5, 6])
def test_weekends_are_closed_by_default(day: int) -> None:
    assert not WEEKDAY_HOURS.is_open(local(day, 10))


def test_a_hall_open_at_weekends_takes_tickets_on_saturday_and_sunday() -> None:
    weekends = Hours(days=frozenset(range(7)), periods=((time(9, 0), time(17, 0)),))
    assert weekends.is_open(local(5, 9)) and weekends.is_open(local(6, 16, 59))
    assert not weekends.is_open(local(6, 17))
    assert not weekends.is_open(local(0, 8, 30))


def test_a_hall_closed_on_some_weekday_stays_closed_that_day() -> None:
    no_wednesday = Hours(days=frozenset({0, 1, 3, 4}))
    assert not no_wednesday.is_open(local(2, 10))
    assert no_wednesday.is_open(local(3, 10))


def test_always_open_ignores_day_and_time() -> None:
    always = Hours(always=True, days=frozenset())
    assert always.is_open(local(6, 3)) and always.is_open(local(0, 12, 30))


def test_hours_are_judged_on_the_halls_wall_clock_not_utc() -> None:
    h = hall()
    opening = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 08:30 Monday in Shanghai, 00:30 in UTC
    assert WEEKDAY_HOURS.is_open(h.local(opening))
    sunday_evening_utc = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # already 07:00 Monday in Shanghai
    assert not WEEKDAY_HOURS.is_open(h.local(sunday_evening_utc))
    assert WEEKDAY_HOURS.is_open(h.local(sunday_evening_utc + timedelta(hours=2)))
    friday_evening_utc = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # Saturday 00:00 in Shanghai
    assert h.local(friday_evening_utc).weekday() == 5


# --- the hall-local day -------------------------------------------------------------------------


def test_the_halls_day_starts_at_local_midnight_not_utc_midnight() -> None:
    h = hall()
    assert h.day_of(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)) == "2026-03-01"
    assert h.day_of(datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC)) == "2026-03-02"  # 00:00 in Shanghai
    assert h.day_of(datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC)) == "2026-03-02"  # 08:00 in Shanghai
    assert h.day_of(datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC)) == "2026-03-02"


def test_the_same_utc_moment_is_a_different_day_in_a_utc_hall() -> None:
    moment = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    assert hall("Asia/Shanghai").day_of(moment) == "2026-03-02"
    assert hall("UTC").day_of(moment) == "2026-03-01"


def test_a_moment_in_any_zone_lands_on_the_halls_day() -> None:
    new_york = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))  # 17:00 UTC
    assert hall().day_of(new_york) == "2026-03-02"


def test_local_time_is_the_halls_wall_clock() -> None:
    shown = hall().local(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    assert (shown.hour, shown.minute, shown.utcoffset()) == (9, 0, timedelta(hours=8))


# --- looking things up in a hall -----------------------------------------------------------------


def test_a_hall_finds_its_services_counters_and_kiosks_by_id() -> None:
    h = hall()
    assert h.service("id-card") is h.services[0]
    assert h.counter("w1") is h.counters[0]
    assert h.kiosk("k1") is h.kiosks[0]


def test_unknown_ids_are_none_not_errors() -> None:
    h = hall()
    assert h.service("tax") is None and h.counter("w9") is None and h.kiosk("k9") is None


# --- when a closed service opens again (the kiosk says so) -------------------------------------------


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        (local(0, 7, 0), local(0, 8, 30)),  # before opening: this morning
        (local(0, 12, 15), local(0, 13, 30)),  # lunch: this afternoon
        (local(0, 17, 30), local(1, 8, 30)),  # closing time: tomorrow morning
        (local(4, 18, 0), local(7, 8, 30)),  # Friday evening: Monday morning
        (local(5, 10, 0), local(7, 8, 30)),  # Saturday: Monday
        (local(2, 10, 0), local(2, 10, 0)),  # open now: now
    ],
)
def test_next_open_is_the_next_period_start_on_an_open_day(now: datetime, opens: datetime) -> None:
    assert WEEKDAY_HOURS.next_open(now) == opens


def test_always_open_opens_now() -> None:
    assert Hours(always=True).next_open(local(6, 3, 0)) == local(6, 3, 0)
