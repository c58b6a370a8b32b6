"""server.engine.timing: wait and service seconds folded from a ticket's ledger events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.engine.timing import Clock, replay

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_new_clock_counts_nothing() -> None:
    clock = replay([])
    assert (clock.wait_s, clock.service_s, clock.waiting_since, clock.serving_since) == (0, 0, None, None)


def test_waiting_runs_from_issue_to_call_and_service_from_start_to_finish() -> None:
    clock = replay([("issued", at(0)), ("called", at(300)), ("started", at(360)), ("finished", at(960))])
    assert (clock.wait_s, clock.service_s) == (300, 600)
    assert clock.waiting_since is None and clock.serving_since is None


def test_the_walk_from_the_call_to_the_window_is_neither_wait_nor_service() -> None:
    clock = replay([("issued", at(0)), ("called", at(100)), ("started", at(160)), ("finished", at(200))])
    assert clock.wait_s + clock.service_s == 140


def test_a_waiting_ticket_keeps_its_wait_running() -> None:
    clock = replay([("issued", at(0))])
    assert clock.wait_s == 0 and clock.waiting_since == at(0)


def test_recalls_change_nothing() -> None:
    clock = replay([("issued", at(0)), ("called", at(60)), ("recalled", at(120)), ("recalled", at(180))])
    assert (clock.wait_s, clock.service_s) == (60, 0)


def test_a_no_show_counts_the_wait_up_to_the_call() -> None:
    clock = replay([("issued", at(0)), ("called", at(90)), ("no_show", at(400))])
    assert (clock.wait_s, clock.service_s) == (90, 0)


def test_a_call_finished_without_start_counts_service_from_the_call() -> None:
    clock = replay([("issued", at(0)), ("called", at(50)), ("recalled", at(80)), ("finished", at(350))])
    assert (clock.wait_s, clock.service_s) == (50, 300)
    assert clock.serving_since is None


def test_after_a_transfer_a_finish_without_start_counts_from_the_latest_call() -> None:
    events = [("issued", at(0)), ("called", at(10)), ("started", at(20)), ("transferred", at(80))]
    clock = replay([*events, ("called", at(100)), ("finished", at(160))])
    assert (clock.wait_s, clock.service_s) == (10 + 20, 60 + 60)


def test_a_no_show_is_no_service_even_if_finished_is_never_pressed() -> None:
    assert replay([("issued", at(0)), ("called", at(50)), ("no_show", at(350))]).service_s == 0


def test_finishing_at_the_call_counts_no_service_time() -> None:
    clock = replay([("issued", at(0)), ("called", at(50)), ("started", at(50)), ("finished", at(50))])
    assert (clock.wait_s, clock.service_s) == (50, 0)


def test_a_transfer_during_service_ends_the_service_and_starts_a_new_wait() -> None:
    clock = replay(
        [
            ("issued", at(0)),
            ("called", at(100)),
            ("started", at(100)),
            ("transferred", at(400)),
            ("called", at(450)),
            ("started", at(460)),
            ("finished", at(560)),
        ]
    )
    assert (clock.wait_s, clock.service_s) == (150, 400)


def test_a_transfer_right_after_the_call_starts_a_new_wait() -> None:
    clock = replay([("issued", at(0)), ("called", at(30)), ("transferred", at(40)), ("called", at(100))])
    assert (clock.wait_s, clock.service_s) == (90, 0)


def test_partial_seconds_are_dropped() -> None:
    clock = replay([("issued", at(0)), ("called", at(59.999))])
    assert clock.wait_s == 59


def test_an_event_dated_before_the_phase_began_counts_as_zero_not_negative() -> None:
    clock = replay([("issued", at(100)), ("called", at(40))])
    assert clock.wait_s == 0


def test_counter_events_not_about_the_ticket_are_ignored() -> None:
    clock = replay([("issued", at(0)), ("counter_opened", at(10)), ("away", at(20)), ("called", at(30))])
    assert clock.wait_s == 30


# What may follow each ticket status: the counter actions of server.services.counters.
NEXT = {
    "waiting": {"called": "called"},
    "called": {
        "recalled": "called",
        "started": "serving",
        "transferred": "waiting",
        "no_show": "done",
        "finished": "done",
    },
    "serving": {"finished": "done", "transferred": "waiting"},
    "done": {},
}


@st.composite
def ticket_life(draw: st.DrawFn) -> list[tuple[str, datetime]]:
    """A ticket's ledger events as the counter actions can produce them, with random gaps."""
    events, moment, status = [("issued", T0)], T0, "waiting"
    for _ in range(draw(st.integers(0, 15))):
        if not NEXT[status]:
            break
        kind = draw(st.sampled_from(sorted(NEXT[status])))
        moment += timedelta(seconds=draw(st.integers(0, 3600)))
        events.append((kind, moment))
        status = NEXT[status][kind]
    return events


@given(ticket_life())
def test_folding_events_one_at_a_time_from_stored_totals_equals_a_full_replay(
    events: list[tuple[str, datetime]],
) -> None:
    # The service layer keeps the running totals on the ticket row and applies one event per action.
    stored = Clock()
    for kind, when in events:
        stored = Clock(stored.wait_s, stored.service_s, stored.waiting_since, stored.serving_since, stored.called_at)
        stored.apply(kind, when)
    assert stored == replay(events)


@given(ticket_life())
def test_wait_and_service_never_add_up_to_more_than_the_ticket_has_lived(events: list[tuple[str, datetime]]) -> None:
    clock = replay(events)
    assert clock.wait_s >= 0 and clock.service_s >= 0
    assert clock.wait_s + clock.service_s <= (events[-1][1] - events[0][1]).total_seconds()
