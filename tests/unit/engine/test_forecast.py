"""estimate.forecast: the hall run forward with the engine's own call-next order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.engine.estimate import forecast
from server.engine.model import Counter, CounterState
from server.engine.rules import Candidate, Desk

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def desk(
    cid: str, services: tuple[str, ...], state: CounterState = CounterState.OPEN, partner: str | None = None
) -> Desk:
    return Desk(Counter(cid, int(cid[1:]), f"{cid}号窗口", services, partner), state)


def ticket(tid: str, service: str, minute: int, priority: bool = False, target: str | None = None) -> Candidate:
    return Candidate(tid, service, priority, T0 + timedelta(minutes=minute), minute, target)


def run(desks: list[Desk], waiting: list[Candidate], free_in: dict[str, float] | None = None) -> dict[str, int]:
    return forecast({d.id: d for d in desks}, waiting, free_in or {}, {}, {"a": 300, "b": 600}, max_streak=2)


def test_two_idle_counters_take_the_first_two_and_the_third_waits_one_service() -> None:
    waiting = [ticket("t1", "a", 1), ticket("t2", "a", 2), ticket("t3", "a", 3)]
    assert run([desk("w1", ("a",)), desk("w2", ("a",))], waiting) == {"t1": 0, "t2": 0, "t3": 300}


def test_a_shared_window_makes_a_ticket_wait_behind_older_tickets_of_its_other_services() -> None:
    waiting = [ticket("b1", "b", 1), ticket("b2", "b", 2), ticket("a1", "a", 3)]
    assert run([desk("w1", ("a", "b"))], waiting)["a1"] == 1200  # two social-insurance services of 600 s first


def test_a_busy_counter_starts_when_its_resident_is_done() -> None:
    assert run([desk("w1", ("a",))], [ticket("t1", "a", 1)], {"w1": 120.0}) == {"t1": 120}


def test_priority_goes_first_in_the_forecast_too() -> None:
    waiting = [ticket("n1", "a", 1), ticket("p1", "a", 5, priority=True)]
    assert run([desk("w1", ("a",))], waiting) == {"p1": 0, "n1": 300}


def test_tickets_no_open_counter_serves_are_left_to_the_simple_rule() -> None:
    waiting = [ticket("a1", "a", 1), ticket("b1", "b", 2)]
    out = run([desk("w1", ("a",)), desk("w2", ("b",), CounterState.CLOSED)], waiting)
    assert out == {"a1": 0}


def test_an_away_counters_queue_is_forecast_at_its_partner() -> None:
    away = desk("w1", ("a",), CounterState.AWAY, partner="w2")
    cover = desk("w2", ("b",), partner="w1")
    waiting = [ticket("b1", "b", 1), ticket("a1", "a", 2), ticket("t1", "b", 3, target="w1")]
    assert run([away, cover], waiting) == {"t1": 0, "b1": 600, "a1": 1200}
