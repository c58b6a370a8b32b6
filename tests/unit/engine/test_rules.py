"""server.engine.rules: who is called next, who covers whom, which counter actions are allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.engine.errors import HallError
from server.engine.model import Counter, CounterState, ParkKind, TicketStatus
from server.engine.rules import (
    Candidate,
    Choice,
    Desk,
    Parked,
    call_next,
    check_action,
    check_away,
    check_back,
    check_cancel,
    check_close,
    check_reactivate,
    check_recall,
    check_resume,
    check_transfer_to,
    covered_counters,
    may_resume,
    named_call,
    next_priority_streak,
    parked_for,
    served_now,
    served_services,
    uncovered_counters,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
OPEN, CLOSED, AWAY = CounterState.OPEN, CounterState.CLOSED, CounterState.AWAY


def desk(cid: str, services: tuple[str, ...], state: CounterState = OPEN, partner: str | None = None) -> Desk:
    counter = Counter(id=cid, number=int(cid[1:]), name=f"{cid[1:]}号窗口", services=services, partner=partner)
    return Desk(counter, state)


def ticket(
    tid: str,
    service: str = "id-card",
    minute: float = 0,
    seq: int = 1,
    priority: bool = False,
    target: str | None = None,
) -> Candidate:
    return Candidate(tid, service, priority, T0 + timedelta(minutes=minute), seq, target)


def pick(d: Desk, waiting: list[Candidate], partner: Desk | None = None, streak: int = 0, cap: int = 2) -> Choice:
    choice = call_next(d, partner, waiting, streak, cap)
    assert choice is not None
    return choice


W1 = desk("w1", ("id-card",), partner="w2")
W2 = desk("w2", ("social", "water"), partner="w1")


# --- call next: the plain queue -------------------------------------------------------------


def test_an_open_counter_with_nobody_waiting_calls_nobody() -> None:
    assert call_next(W1, None, [], 0, 2) is None


def test_tickets_of_services_outside_the_work_profile_are_not_called() -> None:
    assert call_next(W1, None, [ticket("s", "social"), ticket("w", "water")], 0, 2) is None


@pytest.mark.parametrize("state", [CLOSED, AWAY])
def test_a_counter_that_is_not_open_cannot_call(state: CounterState) -> None:
    with pytest.raises(HallError) as err:
        call_next(desk("w1", ("id-card",), state), None, [ticket("a")], 0, 2)
    assert err.value.code == "counter_not_open" and err.value.status == 409


def test_the_oldest_waiting_ticket_is_called_first() -> None:
    waiting = [ticket("late", minute=5, seq=2), ticket("early", minute=1, seq=1), ticket("later", minute=9, seq=3)]
    assert pick(W1, waiting).ticket.id == "early"


def test_the_oldest_ticket_across_the_whole_work_profile_is_called_first() -> None:
    w3 = desk("w3", ("id-card", "social"))
    waiting = [ticket("a", "id-card", minute=4), ticket("b", "social", minute=2)]
    assert pick(w3, waiting).ticket.id == "b"


def test_tickets_issued_in_the_same_instant_go_by_sequence() -> None:
    waiting = [ticket("a3", minute=1, seq=3), ticket("a1", minute=1, seq=1), ticket("a2", minute=1, seq=2)]
    assert pick(W1, waiting).ticket.id == "a1"


def test_profile_order_is_the_last_tie_break() -> None:
    w3 = desk("w3", ("social", "id-card"))
    waiting = [ticket("a", "id-card", minute=1, seq=1), ticket("b", "social", minute=1, seq=1)]
    assert pick(w3, waiting).ticket.id == "b"
    w3_reversed = desk("w3", ("id-card", "social"))
    assert pick(w3_reversed, waiting).ticket.id == "a"


def test_profile_order_never_beats_an_older_ticket() -> None:
    w3 = desk("w3", ("id-card", "social"))
    waiting = [ticket("a", "id-card", minute=3, seq=1), ticket("b", "social", minute=2, seq=9)]
    assert pick(w3, waiting).ticket.id == "b"


def test_profile_order_comes_after_the_sequence_tie_break() -> None:
    w3 = desk("w3", ("id-card", "social"))
    waiting = [ticket("a", "id-card", minute=1, seq=2), ticket("b", "social", minute=1, seq=1)]
    assert pick(w3, waiting).ticket.id == "b"


def test_a_ticket_transferred_to_a_service_keeps_its_original_place() -> None:
    # A resident sent from another window keeps the time they first arrived (首问负责).
    waiting = [ticket("new", "id-card", minute=10, seq=1), ticket("moved", "id-card", minute=2, seq=7)]
    assert pick(W1, waiting).ticket.id == "moved"


# --- call next: transfers to a named counter ------------------------------------------------


def test_ticket_transferred_to_this_counter_comes_first() -> None:
    waiting = [
        ticket("old", minute=0, seq=1),
        ticket("prio", minute=1, seq=2, priority=True),
        ticket("sent", "social", minute=5, seq=1, target="w1"),
    ]
    choice = pick(W1, waiting)
    assert choice.ticket.id == "sent"
    assert choice.on_behalf_of is None


def test_a_ticket_transferred_to_this_counter_is_called_whatever_its_service() -> None:
    assert pick(W1, [ticket("sent", "water", target="w1")]).ticket.id == "sent"


def test_a_ticket_transferred_to_another_counter_is_not_called_here() -> None:
    w3 = desk("w3", ("id-card",))
    assert call_next(w3, None, [ticket("sent", "id-card", target="w1")], 0, 2) is None


def test_among_tickets_transferred_to_this_counter_the_oldest_comes_first() -> None:
    waiting = [
        ticket("b", minute=3, seq=1, target="w1"),
        ticket("a", minute=1, seq=5, target="w1"),
        ticket("c", minute=1, seq=2, target="w1"),
    ]
    assert pick(W1, waiting).ticket.id == "c"


def test_a_priority_ticket_transferred_to_this_counter_goes_before_older_ones_sent_there() -> None:
    waiting = [ticket("old", minute=1, seq=1, target="w1"), ticket("p", minute=5, seq=9, target="w1", priority=True)]
    assert pick(W1, waiting).ticket.id == "p"


# --- call next: priority (老弱病残孕) -------------------------------------------------------


def test_a_priority_ticket_goes_before_older_normal_tickets() -> None:
    waiting = [ticket("n", minute=0, seq=1), ticket("p", minute=9, seq=2, priority=True)]
    assert pick(W1, waiting).ticket.id == "p"


def test_the_oldest_priority_ticket_goes_first() -> None:
    waiting = [ticket("p2", minute=5, seq=2, priority=True), ticket("p1", minute=4, seq=1, priority=True)]
    assert pick(W1, waiting).ticket.id == "p1"


def test_priority_never_takes_more_than_the_streak_cap_while_normal_tickets_wait() -> None:
    waiting = [ticket("n", minute=0, seq=1), ticket("p", minute=1, seq=2, priority=True)]
    assert pick(W1, waiting, streak=1, cap=2).ticket.id == "p"
    assert pick(W1, waiting, streak=2, cap=2).ticket.id == "n"
    assert pick(W1, waiting, streak=5, cap=2).ticket.id == "n"


def test_priority_keeps_going_past_the_cap_when_no_normal_ticket_waits() -> None:
    waiting = [ticket("p", priority=True)]
    assert pick(W1, waiting, streak=7, cap=2).ticket.id == "p"


def test_a_cap_of_zero_lets_priority_go_only_when_nobody_else_waits() -> None:
    waiting = [ticket("n", minute=5, seq=1), ticket("p", minute=0, seq=2, priority=True)]
    assert pick(W1, waiting, streak=0, cap=0).ticket.id == "n"
    assert pick(W1, [waiting[1]], streak=0, cap=0).ticket.id == "p"


def test_priority_and_normal_tickets_interleave_at_the_cap() -> None:
    waiting = [ticket(f"p{i}", minute=i, seq=i, priority=True) for i in range(1, 6)]
    waiting += [ticket(f"n{i}", minute=i, seq=10 + i) for i in range(1, 4)]
    streak, order = 0, []
    while waiting:
        choice = pick(W1, waiting, streak=streak, cap=2)
        order.append(choice.ticket.id)
        streak = next_priority_streak(streak, choice)
        waiting = [c for c in waiting if c.id != choice.ticket.id]
    assert order == ["p1", "p2", "n1", "p3", "p4", "n2", "p5", "n3"]


def test_next_priority_streak_grows_on_priority_and_resets_on_a_normal_call() -> None:
    prio = Choice(ticket("p", priority=True), None, "")
    normal = Choice(ticket("n"), None, "")
    assert next_priority_streak(0, prio) == 1
    assert next_priority_streak(3, prio) == 4
    assert next_priority_streak(3, normal) == 0


@pytest.mark.parametrize("priority", [True, False])
def test_transferred_tickets_leave_the_priority_streak_as_it_was(priority: bool) -> None:
    sent = Choice(ticket("t", priority=priority, target="w1"), None, "")
    assert next_priority_streak(2, sent) == 2


# --- call next: A/B cover (AB岗) ----------------------------------------------------------


def test_partner_serves_away_counters_service_on_its_behalf() -> None:
    away = desk("w2", ("social", "water"), AWAY, partner="w1")
    choice = pick(W1, [ticket("s", "social")], partner=away)
    assert choice.ticket.id == "s"
    assert choice.on_behalf_of == "w2"


def test_a_covering_counter_serves_a_shared_service_for_itself() -> None:
    w1 = desk("w1", ("id-card", "social"), partner="w2")
    away = desk("w2", ("social",), AWAY, partner="w1")
    assert pick(w1, [ticket("s", "social")], partner=away).on_behalf_of is None


def test_a_covering_counter_draws_from_both_queues_in_issue_order() -> None:
    away = desk("w2", ("social", "water"), AWAY, partner="w1")
    waiting = [ticket("a", "id-card", minute=3), ticket("w", "water", minute=1), ticket("s", "social", minute=2)]
    order = []
    while waiting:
        choice = pick(W1, waiting, partner=away)
        order.append((choice.ticket.id, choice.on_behalf_of))
        waiting = [c for c in waiting if c.id != choice.ticket.id]
    assert order == [("w", "w2"), ("s", "w2"), ("a", None)]


def test_a_covering_counter_calls_tickets_transferred_to_its_away_partner_on_its_behalf() -> None:
    away = desk("w2", ("social",), AWAY, partner="w1")
    waiting = [ticket("a", "id-card", minute=0), ticket("sent", "id-card", minute=5, target="w2")]
    choice = pick(W1, waiting, partner=away)
    assert choice.ticket.id == "sent" and choice.on_behalf_of == "w2"
    assert choice.reason == "transferred to this counter"


def test_tickets_transferred_to_the_covering_counter_itself_are_its_own() -> None:
    away = desk("w2", ("social",), AWAY, partner="w1")
    choice = pick(W1, [ticket("sent", "social", target="w1")], partner=away)
    assert choice.on_behalf_of is None


@pytest.mark.parametrize("state", [OPEN, CLOSED])
def test_a_partner_that_is_not_away_is_not_covered(state: CounterState) -> None:
    partner = desk("w2", ("social",), state, partner="w1")
    assert call_next(W1, partner, [ticket("s", "social"), ticket("t", "social", target="w2")], 0, 2) is None


def test_only_the_configured_partner_is_covered() -> None:
    stranger = desk("w4", ("social",), AWAY, partner="w3")
    assert call_next(W1, stranger, [ticket("s", "social")], 0, 2) is None


def test_priority_of_the_away_partners_queue_counts_for_the_coverer() -> None:
    away = desk("w2", ("social",), AWAY, partner="w1")
    waiting = [ticket("a", "id-card", minute=0), ticket("p", "social", minute=3, priority=True)]
    choice = pick(W1, waiting, partner=away)
    assert (choice.ticket.id, choice.on_behalf_of) == ("p", "w2")


# --- call next: explanations ------------------------------------------------------------------


def test_the_engine_says_why_it_chose_a_ticket() -> None:
    assert pick(W1, [ticket("a")]).reason == "oldest waiting ticket"
    assert pick(W1, [ticket("p", priority=True)]).reason == "priority ticket (老弱病残孕)"
    assert pick(W1, [ticket("t", target="w1")]).reason == "transferred to this counter"


def test_the_engine_says_when_a_normal_ticket_beat_waiting_priority_by_the_cap() -> None:
    waiting = [ticket("n", minute=0, seq=1), ticket("p", minute=1, seq=2, priority=True)]
    assert pick(W1, waiting, streak=2, cap=2).reason == "oldest waiting ticket (after 2 priority calls in a row)"


# --- covered counters, away and back ----------------------------------------------------------


def test_a_desk_covers_itself_and_its_away_partner() -> None:
    assert covered_counters(W1, None) == ("w1",)
    assert covered_counters(W1, desk("w2", ("social",), OPEN, partner="w1")) == ("w1",)
    assert covered_counters(W1, desk("w2", ("social",), CLOSED, partner="w1")) == ("w1",)
    assert covered_counters(W1, desk("w2", ("social",), AWAY, partner="w1")) == ("w1", "w2")
    assert covered_counters(W1, desk("w4", ("social",), AWAY, partner="w3")) == ("w1",)


def test_an_open_counter_may_go_away_when_its_partner_is_open() -> None:
    check_away(W1, desk("w2", ("social",), OPEN, partner="w1"))


@pytest.mark.parametrize("partner_state", [CLOSED, AWAY])
def test_away_without_an_open_partner_is_refused_with_no_cover(partner_state: CounterState) -> None:
    with pytest.raises(HallError) as err:
        check_away(W1, desk("w2", ("social",), partner_state, partner="w1"))
    assert err.value.code == "no_cover" and err.value.status == 409


def test_away_without_any_partner_is_refused_with_no_cover() -> None:
    with pytest.raises(HallError) as err:
        check_away(desk("w9", ("id-card",)), None)
    assert err.value.code == "no_cover"


@pytest.mark.parametrize("state", [CLOSED, AWAY])
def test_only_an_open_counter_can_go_away(state: CounterState) -> None:
    with pytest.raises(HallError) as err:
        check_away(desk("w1", ("id-card",), state, partner="w2"), desk("w2", ("social",), OPEN, partner="w1"))
    assert err.value.code == "counter_not_open"


def test_an_away_counter_can_come_back() -> None:
    check_back(desk("w1", ("id-card",), AWAY, partner="w2"))


@pytest.mark.parametrize("state", [OPEN, CLOSED])
def test_a_counter_that_is_not_away_cannot_come_back(state: CounterState) -> None:
    with pytest.raises(HallError) as err:
        check_back(desk("w1", ("id-card",), state))
    assert err.value.code == "counter_not_away" and err.value.status == 409


# --- the hall-wide view: uncovered windows, served services -------------------------------------


def test_an_away_counter_with_an_open_partner_is_covered() -> None:
    desks = [desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), OPEN, "w1")]
    assert uncovered_counters(desks) == set()


@pytest.mark.parametrize("partner_state", [CLOSED, AWAY])
def test_an_away_counter_whose_partner_is_not_open_is_uncovered(partner_state: CounterState) -> None:
    desks = [desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), partner_state, "w1")]
    expected = {"w1", "w2"} if partner_state is AWAY else {"w1"}
    assert uncovered_counters(desks) == expected


def test_an_away_counter_without_a_known_partner_is_uncovered() -> None:
    assert uncovered_counters([desk("w5", ("id-card",), AWAY)]) == {"w5"}
    assert uncovered_counters([desk("w1", ("id-card",), AWAY, "w2")]) == {"w1"}


def test_open_and_closed_counters_are_never_uncovered() -> None:
    desks = [desk("w1", ("id-card",), OPEN, "w2"), desk("w2", ("social",), CLOSED, "w1")]
    assert uncovered_counters(desks) == set()


def test_served_services_are_those_of_open_counters_and_the_away_partners_they_cover() -> None:
    desks = [
        desk("w1", ("id-card",), OPEN, "w2"),
        desk("w2", ("social", "water"), AWAY, "w1"),
        desk("w3", ("tax",), CLOSED, "w4"),
        desk("w4", ("marriage",), AWAY, "w3"),
    ]
    assert served_services(desks) == {"id-card", "social", "water"}


def test_nothing_is_served_when_every_counter_is_closed() -> None:
    assert served_services([desk("w1", ("id-card",), CLOSED, "w2"), desk("w2", ("social",), CLOSED, "w1")]) == set()


# --- which actions the held ticket allows ---------------------------------------------------------

ALLOWED = {
    "recall": {TicketStatus.CALLED},
    "start": {TicketStatus.CALLED},
    "finish": {TicketStatus.CALLED, TicketStatus.SERVING},
    "no_show": {TicketStatus.CALLED},
    "transfer": {TicketStatus.CALLED, TicketStatus.SERVING},
    "park": {TicketStatus.CALLED, TicketStatus.SERVING},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("status", list(TicketStatus))
def test_each_counter_action_accepts_only_the_held_ticket_statuses_it_is_meant_for(
    action: str, status: TicketStatus
) -> None:
    if status in ALLOWED[action]:
        check_action(action, status)
        return
    with pytest.raises(HallError) as err:
        check_action(action, status)
    assert err.value.code == "wrong_status" and err.value.status == 409
    assert status.value in err.value.message


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_a_counter_action_without_a_held_ticket_is_refused(action: str) -> None:
    with pytest.raises(HallError) as err:
        check_action(action, None)
    assert err.value.code == "no_ticket"


def test_a_refused_action_names_the_action_in_plain_words() -> None:
    with pytest.raises(HallError) as err:
        check_action("no_show", TicketStatus.SERVING)
    assert err.value.message == "cannot no-show a ticket that is serving"


# --- served_now: one rule for every page, the slip and the uncovered figure -----------------------


def test_a_service_is_served_now_by_an_open_counter_or_one_covering_an_away_partner() -> None:
    desks = {d.id: d for d in (desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), OPEN, "w1"))}
    assert served_now(desks, "id-card") and served_now(desks, "social")
    desks["w2"] = desk("w2", ("social",), CLOSED, "w1")
    assert not served_now(desks, "id-card") and not served_now(desks, "social")
    assert not served_now({}, "id-card")


def test_a_counters_own_queue_is_served_while_it_is_open_or_covered() -> None:
    w1, w2 = desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), OPEN, "w1")
    assert served_now({"w1": w1, "w2": w2}, "", "w1")
    assert not served_now({"w1": w1, "w2": desk("w2", ("social",), CLOSED, "w1")}, "", "w1")
    assert not served_now({"w1": w1}, "", "w9")


def test_a_counter_covering_its_away_partner_cannot_close() -> None:
    covering = desk("w2", ("social",), OPEN, "w1")
    with pytest.raises(HallError) as refused:
        check_close(covering, desk("w1", ("id-card",), AWAY, "w2"))
    assert (refused.value.code, refused.value.status) == ("covering", 409)
    check_close(covering, desk("w1", ("id-card",), CLOSED, "w2"))
    check_close(desk("w1", ("id-card",), AWAY, "w2"), covering)  # the away one may close: it is not covering


def test_a_ticket_goes_only_to_a_counter_someone_serves() -> None:
    check_transfer_to(desk("w3", ("id-card",), OPEN), None)
    check_transfer_to(desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), OPEN, "w1"))
    for target, partner in [
        (desk("w3", ("id-card",), CLOSED), None),
        (desk("w1", ("id-card",), AWAY, "w2"), desk("w2", ("social",), CLOSED, "w1")),
    ]:
        with pytest.raises(HallError) as refused:
            check_transfer_to(target, partner)
        assert refused.value.code == "counter_not_open"


# --- PROTOCOL v1.2: named calls, parking, supervisors' corrections ---------------------------------


W3 = desk("w3", ("id-card", "social"), partner="w4")


def refusal(fn: object, *args: object) -> tuple[str, int]:
    with pytest.raises(HallError) as err:
        fn(*args)  # type: ignore[operator]
    return err.value.code, err.value.status


def test_a_named_call_takes_a_waiting_ticket_of_this_counters_queue_whatever_its_place() -> None:
    later = ticket("b", minute=9, seq=2)
    choice = named_call(W1, None, later, TicketStatus.WAITING, False)
    assert choice.ticket == later and choice.on_behalf_of is None and "指呼" in choice.reason


@pytest.mark.parametrize("status", [s for s in TicketStatus if s is not TicketStatus.WAITING])
def test_a_named_call_of_a_ticket_that_is_not_waiting_is_409_not_waiting(status: TicketStatus) -> None:
    assert refusal(named_call, W1, None, ticket("a"), status, True) == ("not_waiting", 409)


def test_a_named_call_of_another_services_ticket_is_403_unless_a_supervisor_calls() -> None:
    social = ticket("a", service="social")
    assert refusal(named_call, W1, None, social, TicketStatus.WAITING, False) == ("forbidden", 403)
    assert named_call(W1, None, social, TicketStatus.WAITING, True).ticket == social
    sent_elsewhere = ticket("b", target="w3")
    assert refusal(named_call, W1, None, sent_elsewhere, TicketStatus.WAITING, False) == ("forbidden", 403)
    assert named_call(W1, None, ticket("c", service="social", target="w1"), TicketStatus.WAITING, False)


def test_a_named_call_covers_the_away_partners_queue_on_its_behalf() -> None:
    away = desk("w2", ("social", "water"), AWAY, partner="w1")
    assert named_call(W1, away, ticket("a", service="water"), TicketStatus.WAITING, False).on_behalf_of == "w2"
    assert named_call(W1, away, ticket("b", target="w2"), TicketStatus.WAITING, False).on_behalf_of == "w2"
    assert named_call(W1, away, ticket("c"), TicketStatus.WAITING, False).on_behalf_of is None
    open_partner = desk("w2", ("social", "water"), OPEN, partner="w1")
    assert refusal(named_call, W1, open_partner, ticket("d", service="water"), TicketStatus.WAITING, False)[1] == 403


@pytest.mark.parametrize("state", [CLOSED, AWAY])
def test_a_counter_that_is_not_open_makes_no_named_call(state: CounterState) -> None:
    closed = desk("w1", ("id-card",), state)
    assert refusal(named_call, closed, None, ticket("a"), TicketStatus.WAITING, True) == ("counter_not_open", 409)


def test_the_recall_limit() -> None:
    check_recall(2, 3)
    assert refusal(check_recall, 3, 3) == ("recall_limit", 409)


def parked(tid: str, kind: ParkKind, counter: str = "w1", service: str = "id-card", minute: float = 0) -> Parked:
    return Parked(tid, service, kind, counter, T0 + timedelta(minutes=minute), 1)


def test_fetch_documents_comes_back_to_any_counter_of_its_service_the_others_to_the_counter_that_parked() -> None:
    fetch = parked("a", ParkKind.FETCH_DOCUMENTS)
    assert may_resume(W1, None, fetch) and may_resume(W3, None, fetch)
    assert not may_resume(W2, None, fetch)
    for kind in (ParkKind.KEEP_DOCUMENTS, ParkKind.WAIT_STEP):
        kept = parked("b", kind)
        assert may_resume(W1, None, kept) and not may_resume(W3, None, kept)
        # the away counter's partner covers its parked tickets too
        assert may_resume(W2, desk("w1", ("id-card",), AWAY, partner="w2"), kept)


def test_resume_refusals() -> None:
    p = parked("a", ParkKind.WAIT_STEP)
    assert refusal(check_resume, W3, None, p, TicketStatus.PARKED, False) == ("forbidden", 403)
    check_resume(W3, None, p, TicketStatus.PARKED, True)  # a supervisor resumes it anywhere
    assert refusal(check_resume, W1, None, None, TicketStatus.CALLED, False) == ("not_parked", 409)
    closed = desk("w1", ("id-card",), CLOSED)
    assert refusal(check_resume, closed, None, p, TicketStatus.PARKED, False) == ("counter_not_open", 409)


def test_cancel_and_reactivate_take_only_their_statuses() -> None:
    for status in TicketStatus:
        if status in (TicketStatus.WAITING, TicketStatus.PARKED):
            check_cancel(status)
        else:
            assert refusal(check_cancel, status) == ("wrong_status", 409)
    for status in ("no_show", "cancelled", "expired"):
        check_reactivate(status, "2026-03-02", "2026-03-02")
        assert refusal(check_reactivate, status, "2026-03-01", "2026-03-02") == ("not_today", 409)
    for status in ("waiting", "called", "serving", "done", "parked", "closed_out"):
        assert refusal(check_reactivate, status, "2026-03-02", "2026-03-02") == ("wrong_status", 409)


parked_tickets = st.lists(
    st.tuples(
        st.sampled_from(list(ParkKind)),
        st.sampled_from(["w1", "w2", "w3"]),
        st.sampled_from(["id-card", "social", "water"]),
        st.integers(0, 600),
    ),
    max_size=12,
)


@given(parked_tickets)
def test_parked_tickets_are_never_lost_and_fetch_documents_keeps_its_place(
    raw: list[tuple[ParkKind, str, str, int]],
) -> None:
    """Every parked ticket can be resumed by the counter that parked it; a fetch_documents ticket by every
    counter of its service; each counter lists what it may resume once, in the original order of issue."""
    tickets = [parked(f"t{i}", kind, c, svc, minute) for i, (kind, c, svc, minute) in enumerate(raw)]
    desks = [W1, W2, W3]
    lists = {d.id: parked_for(d, None, tickets) for d in desks}
    for t in tickets:
        assert t in lists[t.counter]  # never lost: the counter that parked it always sees it
        if t.kind is ParkKind.FETCH_DOCUMENTS:
            assert all(t in lists[d.id] for d in desks if t.service in d.counter.services)
    for listed in lists.values():
        assert len({p.id for p in listed}) == len(listed)  # never twice
        keys = [(p.order_at, p.seq) for p in listed]
        assert keys == sorted(keys)  # ahead of every ticket issued after it
