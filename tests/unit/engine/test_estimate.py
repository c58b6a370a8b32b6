"""server.engine.estimate: people ahead × recent average service time ÷ open counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.engine.estimate import (
    ENOUGH_SEEN,
    RECENT,
    ahead_of,
    est_wait_s,
    forecast,
    forecast_with_newcomers,
    own_queue_places,
    queue_key,
    recent_average,
    run_forecast,
)
from server.engine.model import Counter, CounterState
from server.engine.rules import Candidate, Desk, call_next

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


W1 = Desk(Counter("w1", 1, "1号窗口", ("id-card",)), CounterState.OPEN)


def ticket(tid: str, minute: float = 0, seq: int = 1, priority: bool = False) -> Candidate:
    return Candidate(tid, "id-card", priority, T0 + timedelta(minutes=minute), seq)


# --- the recent average ---------------------------------------------------------------------


def test_the_configured_prior_is_used_until_a_service_is_measured() -> None:
    assert recent_average([], 240) == 240


def test_services_that_took_no_time_are_not_measurements() -> None:
    assert recent_average([0, 0], 240) == 240
    assert recent_average([0, 100, 0, 200, 0, 150, 100, 50], 0) == 120


def test_a_few_very_short_services_do_not_pull_the_average_below_the_prior() -> None:
    assert ENOUGH_SEEN == 5
    assert recent_average([5, 3, 4, 2], 240) == 240  # four quick questions: the prior still holds
    assert recent_average([500, 400], 240) == 450  # longer than the prior: the measured mean
    assert recent_average([30] * ENOUGH_SEEN, 240) == 30  # enough measured: the mean stands on its own


def test_the_recent_average_is_the_mean_of_the_last_twenty_services() -> None:
    assert RECENT == 20
    old = [10_000] * 5
    recent = [100] * 10 + [200] * 10
    assert recent_average(old + recent, 240) == 150


def test_the_recent_average_is_rounded_to_whole_seconds() -> None:
    assert recent_average([100, 101], 0) == 100  # 100.5 rounds half to even
    assert recent_average([100, 100, 101], 0) == 100
    assert recent_average([100, 101, 101], 0) == 101


# --- people ahead -------------------------------------------------------------------------------


def test_nobody_is_ahead_of_the_only_ticket() -> None:
    t = ticket("a")
    assert ahead_of(t, [t]) == 0
    assert ahead_of(t, []) == 0


def test_earlier_tickets_are_ahead_and_later_ones_are_not() -> None:
    queue = [ticket(str(i), minute=i, seq=i) for i in range(1, 6)]
    assert [ahead_of(t, queue) for t in queue] == [0, 1, 2, 3, 4]


def test_priority_tickets_are_ahead_of_normal_ones_whatever_their_time() -> None:
    normal = ticket("n", minute=0, seq=1)
    prio = ticket("p", minute=9, seq=2, priority=True)
    queue = [normal, prio]
    assert ahead_of(normal, queue) == 1
    assert ahead_of(prio, queue) == 0


def test_tickets_issued_in_the_same_instant_are_ahead_by_sequence() -> None:
    queue = [ticket("a1", seq=1), ticket("a2", seq=2), ticket("a3", seq=3)]
    assert ahead_of(queue[2], queue) == 2


def test_a_ticket_does_not_count_itself_even_as_a_stale_copy() -> None:
    t = ticket("a", minute=5, seq=5)
    stale = Candidate("a", "id-card", False, T0, 1)  # the same ticket as read before it moved
    assert ahead_of(t, [stale, t]) == 0


def test_the_queue_key_sorts_priority_then_issue_time_then_sequence() -> None:
    queue = [
        ticket("n2", minute=2, seq=2),
        ticket("p2", minute=3, seq=4, priority=True),
        ticket("n1", minute=1, seq=1),
        ticket("p1", minute=3, seq=3, priority=True),
    ]
    assert [t.id for t in sorted(queue, key=queue_key)] == ["p1", "p2", "n1", "n2"]


# --- the estimate ----------------------------------------------------------------------------------


def test_nobody_ahead_means_no_wait() -> None:
    assert est_wait_s(0, 240, 1) == 0


def test_estimated_wait_is_people_ahead_times_the_average_service() -> None:
    assert est_wait_s(3, 240, 1) == 720


def test_estimated_wait_divides_by_open_counters() -> None:
    assert est_wait_s(4, 300, 2) == 600
    assert est_wait_s(3, 300, 4) == 225


def test_estimated_wait_is_rounded_to_whole_seconds() -> None:
    assert est_wait_s(1, 100, 3) == 33
    assert est_wait_s(2, 100, 3) == 67


@pytest.mark.parametrize("open_counters", [0, -1])
def test_with_no_open_counter_the_estimate_assumes_one_rather_than_failing(open_counters: int) -> None:
    assert est_wait_s(2, 300, open_counters) == 600


# --- the estimate and call-next agree ---------------------------------------------------------------


def test_people_ahead_in_a_service_queue_follow_the_order_call_next_calls_them() -> None:
    queue = [ticket("n1", minute=0, seq=1), ticket("p", minute=5, seq=2, priority=True), ticket("n2", minute=6, seq=3)]
    choice = call_next(W1, None, queue, 0, 2)
    assert choice is not None and ahead_of(choice.ticket, queue) == 0


def test_people_ahead_in_a_counters_transfer_queue_follow_the_order_call_next_calls_them() -> None:
    # BUG: estimate.ahead_of puts priority first in a queue of tickets transferred to one counter
    # (its docstring says so), but rules.call_next takes those tickets by issue time alone.
    # The resident's page then shows "0 ahead" to a priority ticket that will be called second.
    normal = Candidate("n", "social", False, T0, 1, "w1")
    prio = Candidate("p", "id-card", True, T0 + timedelta(minutes=5), 2, "w1")
    queue = [normal, prio]
    choice = call_next(W1, None, queue, 0, 2)
    assert choice is not None
    assert ahead_of(choice.ticket, queue) == 0, f"call-next takes {choice.ticket.id}, the page shows it behind"


# --- a newcomer's forecast, from the same run -------------------------------------------------------

SERVICES = ("id-card", "tax", "water")
HALL_DESKS = {
    "w1": Desk(Counter("w1", 1, "1号窗口", ("id-card", "tax"), partner="w2"), CounterState.OPEN),
    "w2": Desk(Counter("w2", 2, "2号窗口", ("water",), partner="w1"), CounterState.OPEN),
    "w3": Desk(Counter("w3", 3, "3号窗口", ("tax", "water")), CounterState.OPEN),
}


@given(
    tickets=st.lists(
        st.tuples(st.sampled_from(SERVICES), st.booleans(), st.integers(0, 90), st.sampled_from([None, "w1", "w3"])),
        max_size=30,
    ),
    states=st.tuples(*(st.sampled_from(list(CounterState)) for _ in HALL_DESKS)),
    free=st.lists(st.integers(0, 600), min_size=3, max_size=3),
    streak=st.integers(0, 3),
)
def test_a_newcomers_forecast_is_what_the_run_with_that_ticket_would_say(
    tickets: list[tuple[str, bool, int, str | None]], states: tuple[CounterState, ...], free: list[int], streak: int
) -> None:
    desks = {cid: Desk(d.counter, state) for (cid, d), state in zip(HALL_DESKS.items(), states, strict=True)}
    if desks["w2"].state is CounterState.AWAY and desks["w1"].state is not CounterState.OPEN:
        desks["w2"] = Desk(desks["w2"].counter, CounterState.CLOSED)  # away needs an open partner
    waiting = [
        Candidate(f"t{i}", s, p, T0 + timedelta(minutes=m), i, target) for i, (s, p, m, target) in enumerate(tickets)
    ]
    free_in = {cid: float(f) for cid, f in zip(desks, free, strict=True)}
    streaks = dict.fromkeys(desks, streak)
    avg = {"id-card": 240, "tax": 400, "water": 150}
    _, newcomers = forecast_with_newcomers(desks, waiting, free_in, streaks, avg, 2, SERVICES)
    for service in SERVICES:
        late = Candidate("late", service, False, T0 + timedelta(hours=5), 10_000)
        alone = forecast(desks, [*waiting, late], free_in, streaks, avg, 2)
        assert newcomers.get(service) == alone.get("late"), service


# --- people ahead in the forecast's order (issue 20) ----------------------------------------------


def test_people_ahead_are_the_calls_before_a_ticket_at_the_windows_that_serve_it() -> None:
    shared = Desk(Counter("w2", 2, "2号窗口", ("social", "water")), CounterState.OPEN)
    other = Desk(Counter("w3", 3, "3号窗口", ("id-card",)), CounterState.OPEN)
    desks = {"w2": shared, "w3": other}
    waiting = [
        Candidate("b1", "social", False, T0, 1),
        Candidate("a1", "id-card", False, T0, 1),  # at w3, which never serves water
        Candidate("c1", "water", False, T0 + timedelta(minutes=1), 1),
    ]
    run = run_forecast(desks, waiting, {"w2": 60.0}, {}, {"social": 600, "water": 120, "id-card": 240}, 2, ["water"])
    assert own_queue_places(waiting) == {"b1": 0, "a1": 0, "c1": 0}
    # c1 is first in its own queue, but b1 is called before it at its only window; a1 (at w3) is not ahead.
    assert run.ahead == {"a1": 0, "b1": 0, "c1": 1}
    assert run.newcomer_ahead == {"water": 2}  # a water ticket taken now: after b1 and c1 at w2
    # Two idle windows calling at once: neither ticket is ahead of the other.
    both = {"w3": other, "w4": Desk(Counter("w4", 4, "4号窗口", ("id-card",)), CounterState.OPEN)}
    pair = [Candidate("a1", "id-card", False, T0, 1), Candidate("a2", "id-card", False, T0, 2)]
    assert run_forecast(both, pair, {}, {}, {"id-card": 240}, 2, ()).ahead == {"a1": 0, "a2": 0}
