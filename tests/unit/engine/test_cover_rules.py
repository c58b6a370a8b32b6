"""server.engine.cover: time residents waited while no open window served their queue, whatever the cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.engine.cover import Fact, Interval, Snapshot, seconds, uncovered
from server.engine.model import Counter, CounterState, Hall, Hours, Service

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
END = T0 + timedelta(hours=8)

HALL = Hall(
    id="town",
    name="镇",
    name_en="Town",
    timezone=ZoneInfo("Asia/Shanghai"),
    number_width=3,
    max_priority_streak=2,
    services=tuple(Service(s, s, s, p, Hours(always=True)) for s, p in (("id-card", "A"), ("social", "B"))),
    counters=(
        Counter("w1", 1, "1号窗口", ("id-card",), "w2"),
        Counter("w2", 2, "2号窗口", ("social",), "w1"),
        Counter("w3", 3, "3号窗口", ("id-card", "social")),
    ),
)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def fact(minute: float, kind: str, ticket: str | None = None, counter: str | None = None, **detail: Any) -> Fact:
    return Fact(at(minute), kind, ticket, counter, detail)


def issued(minute: float, ticket: str, service: str = "id-card") -> Fact:
    return fact(minute, "issued", ticket, service=service)


def test_a_ticket_waiting_before_any_window_opens_is_uncovered_for_its_service_and_windows() -> None:
    out = uncovered(HALL, [issued(0, "t1"), fact(10, "counter_opened", counter="w1")], T0, END)
    assert out.services == {"id-card": [Interval(at(0), at(10))]}
    assert {c: seconds(v) for c, v in out.counters.items()} == {"w1": 600, "w3": 600}  # both serve id-card


def test_nobody_waiting_is_never_uncovered_even_with_every_window_closed() -> None:
    out = uncovered(HALL, [fact(0, "counter_opened", counter="w1"), fact(5, "counter_closed", counter="w1")], T0, END)
    assert out.services == {} and out.counters == {}


def test_closing_instead_of_going_away_counts_the_same() -> None:
    facts = [
        fact(0, "counter_opened", counter="w1"),
        issued(1, "t1"),
        fact(2, "counter_closed", counter="w1"),  # closed with a resident waiting
        fact(12, "counter_opened", counter="w1"),
        fact(13, "called", "t1", "w1"),
    ]
    assert seconds(uncovered(HALL, facts, T0, END).services["id-card"]) == 600


def test_away_is_covered_while_the_partner_is_open_and_uncovered_once_it_is_not() -> None:
    facts = [
        fact(0, "counter_opened", counter="w1"),
        fact(0, "counter_opened", counter="w2"),
        issued(1, "t1"),
        fact(2, "away", counter="w1", covered_by="w2"),
        fact(5, "counter_closed", counter="w2"),  # an old ledger, or a partner that left anyway
        fact(9, "counter_opened", counter="w2"),
        fact(10, "called", "t1", "w2"),
    ]
    out = uncovered(HALL, facts, T0, END)
    assert out.services == {"id-card": [Interval(at(5), at(9))]}
    assert seconds(out.counters["w1"]) == 240


def test_a_ticket_sent_to_a_closed_window_is_uncovered_for_that_window_only() -> None:
    facts = [
        fact(0, "counter_opened", counter="w1"),
        issued(0, "t1"),
        fact(1, "called", "t1", "w1"),
        fact(2, "transferred", "t1", "w1", from_service="id-card", to_counter="w3"),
        fact(3, "counter_closed", counter="w1"),
        fact(7, "counter_opened", counter="w3"),
    ]
    out = uncovered(HALL, facts, T0, END)
    assert out.services == {}
    assert out.counters == {"w3": [Interval(at(2), at(7))]}


def test_a_windows_overlapping_queues_count_once() -> None:
    facts = [issued(0, "a"), issued(5, "b", "social"), fact(5, "called", "a", "w9"), fact(10, "called", "b", "w9")]
    out = uncovered(HALL, facts, T0, END)
    assert seconds(out.services["id-card"]) + seconds(out.services["social"]) == 300 + 300
    assert out.counters["w3"] == [Interval(at(0), at(10))]  # w3 serves both: 10 minutes, not 5 + 5


def test_intervals_are_clipped_to_the_day_and_the_snapshot_carries_on() -> None:
    day1 = uncovered(HALL, [issued(0, "t1")], T0, at(60))
    assert day1.services == {"id-card": [Interval(T0, at(60))]}
    assert day1.at_end.waiting == {"t1": ("service", "id-card")}
    day2 = uncovered(HALL, [fact(90, "counter_opened", counter="w3")], at(60), at(120), before=day1.at_end)
    assert day2.services == {"id-card": [Interval(at(60), at(90))]}


def test_the_profile_a_window_opened_with_is_used_not_todays_config() -> None:
    facts = [fact(0, "counter_opened", counter="w2", services=["social", "id-card"], partner="w1"), issued(1, "t1")]
    assert uncovered(HALL, facts, T0, END).services == {}


def test_a_snapshot_may_start_with_windows_open() -> None:
    before = Snapshot(states={"w1": CounterState.OPEN})
    assert uncovered(HALL, [issued(0, "t1")], T0, END, before=before).services == {}
