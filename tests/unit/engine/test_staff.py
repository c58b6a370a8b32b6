"""server.engine.staff: staff time replayed from ledger facts (issue 24)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.engine.model import Counter, CounterState, Hall, Hours, Service
from server.engine.staff import Fact, Start, staff_time

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HALL = Hall(
    id="h", name="h", name_en="h", timezone=UTC, number_width=3, max_priority_streak=2,  # type: ignore[arg-type]
    services=(Service("a", "A", "A", "A", Hours(always=True)), Service("b", "B", "B", "B", Hours(always=True))),
    counters=(Counter("w1", 1, "1", ("a",), "w2"), Counter("w2", 2, "2", ("b",), "w1")),
)  # fmt: skip


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_idle_is_split_by_whether_anyone_waits_for_the_counter() -> None:
    facts = [
        Fact(at(0), "signed_in", counter="w1", clerk="li"),
        Fact(at(0), "counter_opened", counter="w1", clerk="li", detail={"services": ["a"], "partner": "w2"}),
        Fact(at(10), "issued", ticket="t1", detail={"service": "b"}),  # not w1's: still idle with nobody waiting
        Fact(at(20), "issued", ticket="t2", detail={"service": "a"}),
        Fact(at(25), "called", ticket="t2", counter="w1", clerk="li"),
        Fact(at(27), "started", ticket="t2", counter="w1", clerk="li"),
        Fact(at(30), "parked", ticket="t2", counter="w1", clerk="li"),
        Fact(at(40), "resumed", ticket="t2", counter="w1", clerk="li"),
        Fact(at(41), "started", ticket="t2", counter="w1", clerk="li"),
        Fact(at(45), "finished", ticket="t2", counter="w1", clerk="li"),
    ]
    out = staff_time(HALL, facts, at(0), at(60)).body()
    w1 = next(r for r in out["counters"] if r["counter"] == "w1")
    assert w1["idle_empty_s"] == (20 + 10 + 15) * 60  # 0-20, 30-40 (parked: nothing waits), 45-60
    assert w1["idle_waiting_s"] == 5 * 60  # 20-25
    assert (w1["calls_started"], w1["avg_call_to_desk_s"]) == (2, 90)  # 120 s and 60 s
    assert out["clerks"] == [{"clerk": "li", **{k: v for k, v in w1.items() if k != "counter"}}]


def test_away_time_by_reason_and_a_start_state_carried_in() -> None:
    before = Start(states={"w1": CounterState.AWAY, "w2": CounterState.OPEN}, away={"w1": ("li", "午休")})
    facts = [Fact(at(30), "back", counter="w1", clerk="li"), Fact(at(40), "away", counter="w1", clerk="li",
                                                                   detail={"reason": "会议"})]  # fmt: skip
    w1 = next(r for r in staff_time(HALL, facts, at(0), at(60), before).body()["counters"] if r["counter"] == "w1")
    assert w1["away_s"] == 50 * 60 and w1["away_by_reason"] == {"会议": 20 * 60, "午休": 30 * 60}
    assert w1["open_s"] == 10 * 60
