"""The figures' arithmetic: percentiles, the by-service balance, grades and deductions; closed-out clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.engine.figures import Lapse, Move, ScoreRules, TicketFacts, by_service, grade, percentile, window_scores
from server.engine.timing import replay

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def at(s: int) -> datetime:
    return T0 + timedelta(seconds=s)


def test_nearest_rank_percentiles() -> None:
    assert [percentile([300, 420, 600, 1080, 1260], p) for p in (50, 90, 100)] == [600, 1260, 1260]
    assert percentile([], 90) == 0


SERVICES = st.sampled_from(["a", "b", "c"])
STATUSES = st.sampled_from(["waiting", "called", "serving", "done", "no_show", "closed_out"])


@given(st.lists(st.tuples(SERVICES, st.lists(SERVICES, max_size=3), STATUSES), max_size=40))
def test_every_row_and_the_totals_balance(journeys: list[tuple[str, list[str], str]]) -> None:
    tickets, moves = [], []
    for first, hops, status in journeys:
        where = first
        for hop in hops:
            moves.append(Move(where, hop))
            where = hop
        tickets.append(TicketFacts(first, where, status))
    rows = by_service(tickets, moves)
    for r in rows:
        out = r["served"] + r["no_show"] + r["closed_out"] + r["transferred_out"] + r["in_hall"]
        assert r["issued"] + r["transferred_in"] == out, r
    assert sum(int(r["issued"]) for r in rows) == len(tickets)
    assert sum(int(r["transferred_in"]) for r in rows) == sum(int(r["transferred_out"]) for r in rows)


def test_grades_and_deductions_with_their_events() -> None:
    rules = ScoreRules()
    assert [grade(s, rules) for s in (100, 95, 94, 90, 89)] == ["优秀", "优秀", "合格", "合格", "不合格"]
    lapses = [Lapse("w1", "justified_complaint", (7, 9)), Lapse("w1", "uncovered_absence", (3,))]
    [w1, w2] = window_scores(["w1", "w2"], {"w1": 12}, lapses, rules)
    assert (w1["score"], w1["grade"], w1["served"]) == (93, "合格", 12)
    assert [(d["points"], d["events"]) for d in w1["deductions"]] == [(2, [3]), (5, [7, 9])]
    # w2 served nobody and had no lapse: not scored (未参与考核), no grade
    assert (w2["score"], w2["grade"], w2["scored"], w2["deductions"]) == (None, None, False, [])
    [busy] = window_scores(["w"], {"w": 3}, [], rules)
    assert (busy["score"], busy["grade"], busy["scored"]) == (100, "优秀", True)
    # a window that only marked no-shows took part; one with a lapse but nobody served is scored too
    [shows] = window_scores(["w"], {}, [], rules, handled={"w": 1})
    assert (shows["score"], shows["scored"]) == (100, True)
    [lapsed] = window_scores(["w"], {}, [Lapse("w", "uncovered_absence", (4,))], rules)
    assert (lapsed["score"], lapsed["grade"]) == (98, "优秀")
    assert window_scores(["w"], {}, [Lapse("w", "overdue_matter", (i,)) for i in range(60)], rules)[0]["score"] == 0


def test_a_closed_out_ticket_stops_its_clocks_at_closing() -> None:
    waiting = replay([("issued", at(0)), ("closed_out", at(600))])
    assert (waiting.wait_s, waiting.service_s, waiting.waiting_since) == (600, 0, None)
    serving = replay([("issued", at(0)), ("called", at(60)), ("started", at(70)), ("closed_out", at(370))])
    assert (serving.wait_s, serving.service_s, serving.called_at) == (60, 300, at(60))
