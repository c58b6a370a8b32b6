"""PROTOCOL.md: ratings, complaints, the ledger and the daily report."""

from __future__ import annotations

import csv
import io

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's test client (support/app.py)."""
    return app_hall


def _served(hall: AppHall, service: str = "id-card", counter: str = "w1") -> tuple[dict, str]:
    t = hall.issue(service)
    hall.act(counter, "open")
    hall.act(counter, "call-next")
    hall.act(counter, "start")
    hall.act(counter, "finish", {"outcome": "completed"})
    return t, t["track_url"].rsplit("/", 1)[1]


def test_rating_before_service_is_409_not_served(hall: AppHall) -> None:
    token = hall.issue("id-card")["track_url"].rsplit("/", 1)[1]
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_served"


def test_a_served_ticket_is_rated_once(hall: AppHall) -> None:
    _, token = _served(hall)
    assert hall.get(f"/api/v1/track/{token}").json()["can_rate"] is True
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 5, "comment": "很好"})
    assert r.status_code == 201 and r.json()["level"] == 5 and r.json()["id"]
    assert hall.get(f"/api/v1/track/{token}").json()["can_rate"] is False
    again = hall.post(f"/api/v1/track/{token}/rating", {"level": 4})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"


def test_bad_levels_are_422(hall: AppHall) -> None:
    _, token = _served(hall)
    for level in (0, 6, "5", 2.5, True, None):
        assert hall.post(f"/api/v1/track/{token}/rating", {"level": level}).status_code == 422, level
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 3}).status_code == 201


def test_rating_an_unknown_token_is_404(hall: AppHall) -> None:
    assert hall.post("/api/v1/track/" + "z" * 32 + "/rating", {"level": 5}).status_code == 404


def test_a_bad_rating_opens_a_complaint_with_a_deadline(hall: AppHall) -> None:
    t, token = _served(hall)
    hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": "等太久"})
    _, good = _served(hall)
    hall.post(f"/api/v1/track/{good}/rating", {"level": 4})
    r = hall.get("/api/v1/halls/town/complaints", hall.admin_token())
    assert r.status_code == 200
    cases = r.json()
    assert len(cases) == 1
    case = cases[0]
    assert case["ticket"] == t["id"] and case["number"] == t["number"]
    assert case["level"] == 1 and case["comment"] == "等太久" and case["status"] == "open"
    assert case["due_at"] > t["issued_at"]


def test_managers_only_see_complaints_ledger_and_reports(hall: AppHall) -> None:
    for path in ("/complaints", "/ledger?from=2026-01-01&to=2026-01-02", "/reports/daily?date=2026-01-01"):
        assert hall.get("/api/v1/halls/town" + path).status_code == 401
        r = hall.get("/api/v1/halls/town" + path, hall.counter_token("w1"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert hall.get("/api/v1/halls/town" + path, hall.token("--role", "supervisor")).status_code == 200
        assert (
            hall.get("/api/v1/halls/town" + path, hall.token("--role", "supervisor", "--hall", "east")).status_code
            == 403
        )


def test_the_ledger_lists_every_ticket_with_outcome_clerk_and_counter(hall: AppHall) -> None:
    t, _ = _served(hall)
    hall.issue("social")
    day = t["issued_at"][:10]
    rows = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token()).json()
    assert [r["number"] for r in rows] == ["A001", "B001"]
    first = rows[0]
    assert first["outcome"] == "completed" and first["counter"] == "w1" and "clerk" in first
    assert first["status"] == "done" and first["wait_s"] >= 0 and first["service_s"] >= 0
    assert rows[1]["outcome"] is None and rows[1]["counter"] is None


def test_the_ledger_exports_csv_with_a_bom(hall: AppHall) -> None:
    t, _ = _served(hall)
    day = t["issued_at"][:10]
    r = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}&format=csv", hall.admin_token())
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0]["number"] == "A001" and rows[0]["outcome"] == "completed" and rows[0]["counter"] == "w1"


def test_ledger_needs_valid_dates(hall: AppHall) -> None:
    admin = hall.admin_token()
    for query in (
        "",
        "?from=2026-01-01",
        "?from=x&to=2026-01-01",
        "?from=2026-01-01&to=2026-01-01&format=xml",
    ):
        r = hall.get("/api/v1/halls/town/ledger" + query, admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_query", query


def test_the_daily_report_adds_up(hall: AppHall) -> None:
    t, token = _served(hall)
    hall.post(f"/api/v1/track/{token}/rating", {"level": 2})
    hall.issue("id-card")
    hall.act("w1", "call-next")
    hall.act("w1", "no-show")
    hall.issue("social")
    day = t["issued_at"][:10]
    r = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token())
    assert r.status_code == 200
    rep = r.json()
    assert rep["date"] == day and rep["issued"] == 3 and rep["served"] == 1 and rep["no_show"] == 1
    for key in ("avg_wait_s", "p90_wait_s", "avg_service_s"):
        assert isinstance(rep[key], int)
    by_service = {s["service"]: s for s in rep["by_service"]}
    assert by_service["id-card"]["issued"] == 2 and by_service["id-card"]["served"] == 1
    social = by_service["social"]
    assert {k: social[k] for k in ("service", "issued", "served", "in_hall", "avg_wait_s")} == {
        "service": "social",
        "issued": 1,
        "served": 0,
        "in_hall": 1,
        "avg_wait_s": 0,
    }
    [w1] = rep["by_counter"]
    assert (w1["counter"], w1["served"], w1["on_behalf"], w1["no_show"]) == ("w1", 1, 0, 1)
    assert rep["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}


def test_report_date_is_required(hall: AppHall) -> None:
    r = hall.get("/api/v1/halls/town/reports/daily", hall.admin_token())
    assert r.status_code == 422


def test_an_inverted_ledger_range_is_simply_empty(hall: AppHall) -> None:
    hall.issue("id-card")
    r = hall.get("/api/v1/halls/town/ledger?from=2999-02-01&to=1999-01-01", hall.admin_token())
    assert r.status_code == 200 and r.json() == []


def test_a_transferred_ticket_counts_as_issued_where_it_was_taken_and_served_where_it_ended(hall: AppHall) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "transfer", {"service": "social"})
    hall.act("w2", "open")
    hall.act("w2", "call-next")
    hall.act("w2", "finish", {"outcome": "completed"})
    day = t["issued_at"][:10]
    rep = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token()).json()
    by_service = {s["service"]: s for s in rep["by_service"]}
    assert (by_service["id-card"]["issued"], by_service["id-card"]["served"]) == (1, 0)
    assert (by_service["social"]["issued"], by_service["social"]["served"]) == (0, 1)
    assert (by_service["id-card"]["transferred_out"], by_service["social"]["transferred_in"]) == (1, 1)
    rows = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token()).json()
    assert rows[0]["owner"] == "w1" and rows[0]["counter"] == "w2" and rows[0]["transfers"] == 1


def test_the_daily_report_counts_takeovers_time_away_and_time_uncovered(hall: AppHall) -> None:
    hall.act("w1", "open")
    hall.act("w2", "open")
    hall.act("w1", "away", {"reason": "会议"})
    refused = hall.act("w2", "close")  # 不得空岗: the cover cannot walk away from w1's queue
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "covering"
    hall.advance(1.2)
    hall.act("w1", "back")
    day = hall.issue("id-card")["issued_at"][:10]
    rep = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token()).json()
    cover = rep["cover"]
    assert cover["takeovers"] == 1 and cover["uncovered_s"] == 0
    w1 = next(c for c in cover["counters"] if c["counter"] == "w1")
    assert w1["takeovers"] == 1 and w1["away_s"] >= 1 and w1["uncovered_s"] == 0


def test_reports_for_days_at_the_edges_of_the_calendar_or_to_come_are_empty(hall: AppHall) -> None:
    for day in ("0001-01-01", "9999-12-31", "2999-06-01"):
        rep = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token()).json()
        assert rep["issued"] == 0 and rep["cover"] == {"takeovers": 0, "uncovered_s": 0, "counters": []}
