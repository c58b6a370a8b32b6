"""server.engine.appointments and the appointment rule of call-next (PROTOCOL v1.2), pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import appointments as ap
from server.engine.calendar import Calendar
from server.engine.errors import HallError
from server.engine.estimate import forecast
from server.engine.identity import check_id_number, check_name, check_phone, mask_id, mask_name, mask_phone, person_hash
from server.engine.model import Counter, CounterState
from server.engine.rules import APPOINTMENT_DUE, Candidate, Desk, call_next, next_priority_streak

SH = ZoneInfo("Asia/Shanghai")
RULES = ap.Booking()
# 2026: 10-01..10-07 holiday (国庆), 10-10 (a Saturday) a make-up working day (调休)
CAL = Calendar(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    workdays=frozenset({date(2026, 10, 10)}),
)


def at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH).astimezone(UTC)


# -- slots and the window ----------------------------------------------------------------------------------


def test_slots_of_a_day_follow_the_periods_in_slot_steps() -> None:
    slots = ap.day_slots(RULES, CAL, SH, date(2026, 12, 8))
    assert len(slots) == 12 + 14
    assert slots[0].start == at(2026, 12, 8, 9) and slots[0].end == at(2026, 12, 8, 9, 15)
    assert slots[11].end == at(2026, 12, 8, 12) and slots[12].start == at(2026, 12, 8, 13, 30)
    assert ap.day_slots(RULES, CAL, SH, date(2026, 12, 12)) == ()  # Saturday
    assert ap.day_slots(RULES, CAL, SH, date(2026, 10, 2)) == ()  # a holiday
    assert len(ap.day_slots(RULES, CAL, SH, date(2026, 10, 10))) == 26  # 调休: a working Saturday


def test_a_weekly_schedule_only_on_its_days() -> None:
    tue_thu = ap.Booking(days=frozenset({1, 3}))
    assert ap.day_slots(tue_thu, CAL, SH, date(2026, 12, 7)) == ()
    assert ap.day_slots(tue_thu, CAL, SH, date(2026, 12, 8)) != ()


def test_the_window_counts_working_days_over_holidays() -> None:
    # Wednesday 09-30: the next working day is 10-08 (holiday until 10-07), then 10-09, 10-10 (调休), 10-12, 10-13
    assert ap.window(RULES, CAL, SH, at(2026, 9, 30)) == (date(2026, 10, 8), date(2026, 10, 13))
    demo = ap.Booking(always=True, min_lead_days=0, max_days=0)
    assert ap.window(demo, CAL, SH, at(2026, 10, 3)) == (date(2026, 10, 3), date(2026, 10, 3))
    later = ap.bookable(demo, CAL, SH, date(2026, 10, 3), date(2026, 10, 3), at(2026, 10, 3, 23, 20))
    assert [s.start for s in later] == [at(2026, 10, 3, 23, 30), at(2026, 10, 3, 23, 45)]


def test_check_slot_refuses_off_slot_past_and_out_of_window_starts() -> None:
    now = at(2026, 12, 7)
    assert ap.check_slot(RULES, CAL, SH, at(2026, 12, 8, 9), now).end == at(2026, 12, 8, 9, 15)
    for start, code in (
        (at(2026, 12, 8, 9, 5), "invalid_slot"),
        (at(2026, 12, 8, 12, 0), "invalid_slot"),
        (at(2026, 12, 7, 15), "outside_window"),
        (at(2026, 12, 4, 9), "outside_window"),
        (at(2026, 12, 15, 9), "outside_window"),
    ):
        with pytest.raises(HallError) as e:
            ap.check_slot(RULES, CAL, SH, start, now)
        assert e.value.code == code
    with pytest.raises(HallError) as e:
        ap.bookable(RULES, CAL, SH, date(2026, 12, 1), date(2027, 1, 1), now)
    assert e.value.code == "invalid_query" and e.value.status == 422


# -- limits, the no-show rule, check-in ------------------------------------------------------------------


def test_limits_per_day_week_and_month() -> None:
    start = at(2026, 12, 9, 9)
    ap.check_limits(RULES, SH, start, [at(2026, 12, 8, 9)])
    for booked in ([at(2026, 12, 9, 15)], [at(2026, 12, 7, 9), at(2026, 12, 11, 9)]):
        with pytest.raises(HallError) as e:
            ap.check_limits(RULES, SH, start, booked)
        assert e.value.code == "booking_limit" and e.value.status == 409
    month = [at(2026, 12, d, 9) for d in (1, 2, 15, 16, 22, 23)]
    with pytest.raises(HallError):
        ap.check_limits(RULES, SH, at(2026, 12, 29, 9), month)


def test_two_misses_within_90_days_block_for_90_days() -> None:
    first, second = at(2026, 1, 5), at(2026, 3, 1)
    assert ap.block_after(RULES, [first]) is None
    assert ap.block_after(RULES, [first, second]) == second + timedelta(days=90)
    assert ap.block_after(RULES, [first, first + timedelta(days=91)]) is None  # too far apart
    with pytest.raises(HallError) as e:
        ap.check_blocked(second + timedelta(days=90), second, SH)
    assert e.value.code == "blocked" and e.value.extra["until"] == "2026-05-30T10:00:00+08:00"
    ap.check_blocked(second, second + timedelta(seconds=1), SH)  # over


def test_check_in_window_and_cancel_limit() -> None:
    start = at(2026, 12, 8, 9)
    with pytest.raises(HallError) as e:
        ap.check_check_in(RULES, start, start - timedelta(minutes=31), SH)
    assert e.value.code == "too_early" and e.value.extra["opens_at"] == "2026-12-08T08:30:00+08:00"
    ap.check_check_in(RULES, start, start - timedelta(minutes=30), SH)
    ap.check_check_in(RULES, start, start + timedelta(minutes=15), SH)
    with pytest.raises(HallError) as e:
        ap.check_check_in(RULES, start, start + timedelta(minutes=15, seconds=1), SH)
    assert e.value.code == "appointment_expired"
    ap.check_cancel(RULES, start, start - timedelta(hours=2))
    with pytest.raises(HallError) as e:
        ap.check_cancel(RULES, start, start - timedelta(minutes=119))
    assert e.value.code == "too_late_to_cancel"
    assert ap.on_time(start, start - timedelta(minutes=5), start + timedelta(minutes=10))
    assert not ap.on_time(start, start - timedelta(minutes=5), start + timedelta(minutes=11))
    assert ap.on_time(start, start + timedelta(minutes=12), start + timedelta(minutes=20))


def test_identity_checks_and_masks() -> None:
    assert check_id_number(" 11010519491231002x ") == "11010519491231002X"
    for bad in ("110105194912310021", "1101051949123100", "", 12):
        with pytest.raises(HallError) as e:
            check_id_number(bad)
        assert e.value.code == "invalid_id_number" and e.value.status == 422
    assert check_phone("+86 138-1234-5678") == "13812345678"
    for bad in ("1381234", "+1 650 253 0000", "abc", "1" * 30):
        with pytest.raises(HallError) as e:
            check_phone(bad)
        assert e.value.code == "invalid_phone"
    assert check_name("  张  三 ") == "张 三" and check_name("阿卜杜拉·买买提") == "阿卜杜拉·买买提"
    for bad in ("", "\ufffd", "12345", "·-·"):  # U+FFFD: what a body's NUL and lone surrogate were cleaned to
        with pytest.raises(HallError) as e:
            check_name(bad)
        assert e.value.code == "invalid_name", bad
    assert mask_name("欧阳娜娜") == "欧***" and mask_phone("13812345678") == "138****5678" and mask_name("") == ""
    assert mask_id("11010519491231002X") == "110***********002X"  # not the region: only the birth date hidden
    assert mask_id("11010519491231002X", keep=6) == "110105********002X"
    assert person_hash(b"k1", "id", "x") != person_hash(b"k2", "id", "x") != person_hash(b"k1", "phone", "x")
    assert ap.normal_code("abcd-efgh") == "ABCDEFGH" and ap.normal_code("ABCDEFG0") is None


# -- call-next: the appointment rule -----------------------------------------------------------------------

T0 = at(2026, 12, 8, 9)
W = Desk(Counter("w9", 9, "9号窗口", ("passport", "id-card")), CounterState.OPEN)


def walk_in(tid: str, minute: float, service: str = "passport", priority: bool = False) -> Candidate:
    return Candidate(tid, service, priority, T0 + timedelta(minutes=minute), 1)


def booked(tid: str, start_minute: float, checked_in_minute: float) -> Candidate:
    return Candidate(tid, "passport", False, T0 + timedelta(minutes=checked_in_minute), 1, None,
                     T0 + timedelta(minutes=start_minute))  # fmt: skip


def test_an_appointment_from_its_start_goes_before_older_walk_ins() -> None:
    waiting = [walk_in("a", -30), walk_in("b", -20), booked("p", 0, -10)]
    early = call_next(W, None, waiting, 0, 2, T0 - timedelta(minutes=1))
    assert early is not None and early.ticket.id == "a"
    due = call_next(W, None, waiting, 0, 2, T0)
    assert due is not None and due.ticket.id == "p" and due.reason == APPOINTMENT_DUE
    alone = call_next(W, None, [booked("p", 30, -10)], 0, 2, T0)
    assert alone is not None and alone.ticket.id == "p"  # before its start: only when nothing else waits
    with_priority = call_next(W, None, [*waiting, walk_in("old", -5, priority=True)], 0, 2, T0)
    assert with_priority is not None and with_priority.ticket.id == "old"  # the priority rule stays first


def test_the_forecast_knows_an_appointment_goes_first_at_its_start() -> None:
    waiting = [walk_in("a", -30), walk_in("b", -20), booked("p", 10, -10)]
    est = forecast({"w9": W}, waiting, {}, {}, {"passport": 600}, 2, now=T0)
    assert est == {"a": 0, "p": 600, "b": 1200}  # at 10 min the appointment's start has come


candidates = st.lists(
    st.tuples(
        st.integers(-60, 60),
        st.integers(-60, 60),
        st.booleans(),
        st.booleans(),
        st.sampled_from(["passport", "id-card"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(spec=candidates, now_minute=st.integers(-60, 120), step=st.integers(0, 20))
def test_no_ticket_starves_and_due_appointments_go_before_walk_ins(
    spec: list[tuple[int, int, bool, bool, str]], now_minute: int, step: int
) -> None:
    waiting = []
    for i, (issued, start, is_booked, priority, service) in enumerate(spec):
        if is_booked:
            waiting.append(Candidate(f"t{i}", "passport", False, T0 + timedelta(minutes=issued), i, None,
                                     T0 + timedelta(minutes=start)))  # fmt: skip
        else:
            waiting.append(Candidate(f"t{i}", service, priority, T0 + timedelta(minutes=issued), i))
    now = T0 + timedelta(minutes=now_minute)
    streak, called = 0, []
    while waiting:
        choice = call_next(W, None, waiting, streak, 2, now)
        assert choice is not None, "a ticket waits but nothing is called"
        picked = choice.ticket
        normal = [c for c in waiting if not c.priority]
        due = [c for c in normal if c.appointment_at is not None and c.appointment_at <= now]
        if not picked.priority and due:
            assert picked in due, "a walk-in went before an appointment whose start has come"
            assert picked.appointment_at == min(c.appointment_at for c in due if c.appointment_at)
        if picked.appointment_at is not None and picked.appointment_at > now:
            assert all(c.appointment_at is not None for c in normal), "an early appointment went before a walk-in"
        streak = next_priority_streak(streak, choice)
        waiting.remove(picked)
        called.append(picked.id)
        now += timedelta(minutes=step)
    assert len(called) == len(spec)


def test_the_config_defaults_are_the_published_rules() -> None:
    assert (RULES.slot_min, RULES.min_lead_days, RULES.max_days, RULES.cancel_limit_min) == (15, 1, 5, 120)
    assert (RULES.early_min, RULES.late_min, RULES.per_day, RULES.per_week, RULES.per_month) == (30, 15, 1, 2, 6)
    assert (RULES.no_show_limit, RULES.no_show_window_days, RULES.block_days) == (2, 90, 90)
    assert RULES.periods == ((time(9), time(12)), (time(13, 30), time(17)))
