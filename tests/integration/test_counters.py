"""PROTOCOL.md: counter actions, the A/B cover and their authorization."""

from __future__ import annotations

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's test client (support/app.py)."""
    return app_hall


TICKET_KEYS = {
    "id",
    "number",
    "service",
    "status",
    "priority",
    "issued_at",
    "called_at",
    "started_at",
    "finished_at",
    "wait_s",
    "service_s",
    "served_by",
    "on_behalf_of",
}


def test_a_ticket_goes_through_call_start_finish(hall: AppHall) -> None:
    issued = hall.issue("id-card")
    r = hall.act("w1", "open")
    assert r.status_code == 200 and r.json() == {"counter": r.json()["counter"], "ticket": None}
    assert r.json()["counter"]["state"] == "open"
    hall.advance(1.1)
    called = hall.act("w1", "call-next").json()
    t = called["ticket"]
    assert set(t) == TICKET_KEYS
    assert t["id"] == issued["id"] and t["status"] == "called" and t["called_at"]
    assert t["served_by"] == "w1" and t["on_behalf_of"] is None and t["wait_s"] >= 1
    assert hall.act("w1", "start").json()["ticket"]["status"] == "serving"
    hall.advance(1.1)
    done = hall.act("w1", "finish", {"outcome": "completed", "note": "ok"}).json()
    assert done["ticket"]["status"] == "done" and done["ticket"]["finished_at"]
    assert done["ticket"]["service_s"] >= 1
    assert done["counter"]["state"] == "open"


def test_call_next_with_nobody_waiting_returns_null(hall: AppHall) -> None:
    hall.act("w1", "open")
    r = hall.act("w1", "call-next")
    assert r.status_code == 200 and r.json()["ticket"] is None


def test_call_next_while_holding_a_ticket_is_409_ticket_in_progress(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    r = hall.act("w1", "call-next")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_in_progress"


def test_call_next_on_a_closed_counter_is_409(hall: AppHall) -> None:
    r = hall.act("w1", "call-next")
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_not_open"


def test_recall_announces_the_held_ticket_again(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    first = hall.act("w1", "call-next").json()["ticket"]
    again = hall.act("w1", "recall")
    assert again.status_code == 200 and again.json()["ticket"]["id"] == first["id"]
    assert again.json()["ticket"]["status"] == "called"


def test_actions_without_a_held_ticket_are_409(hall: AppHall) -> None:
    hall.act("w1", "open")
    for action in ("recall", "start", "no-show"):
        r = hall.act("w1", action)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_ticket", action
    r = hall.act("w1", "finish", {"outcome": "completed"})
    assert r.status_code == 409
    r = hall.act("w1", "transfer", {"service": "social"})
    assert r.status_code == 409


def test_no_show_closes_the_ticket(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    r = hall.act("w1", "no-show")
    assert r.json()["ticket"]["status"] == "no_show"
    assert hall.act("w1", "call-next").json()["ticket"] is None


def test_finish_incomplete_records_the_missing_materials(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    r = hall.act("w1", "finish", {"outcome": "incomplete", "missing": ["户口簿", "近期照片"]})
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "done"
    day = r.json()["ticket"]["issued_at"][:10]
    ledger = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token()).json()
    assert ledger[0]["outcome"] == "incomplete" and ledger[0]["missing"] == ["户口簿", "近期照片"]


def test_finish_with_a_bad_outcome_is_422_and_keeps_the_ticket(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "finish", {"outcome": "maybe"}).status_code == 422
    assert hall.act("w1", "finish", {}).status_code == 422
    assert hall.act("w1", "finish", {"outcome": "completed", "missing": ["x"]}).status_code == 422
    assert hall.act("w1", "finish", {"outcome": "completed"}).json()["ticket"]["status"] == "done"


def test_transfer_to_a_service_keeps_the_original_issue_time_for_ordering(hall: AppHall) -> None:
    first = hall.issue("id-card")
    hall.advance(1.1)
    later = hall.issue("social")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    moved = hall.act("w1", "transfer", {"service": "social"}).json()["ticket"]
    assert moved["status"] == "waiting" and moved["service"] == "social"
    assert moved["issued_at"] == first["issued_at"]
    hall.act("w2", "open")
    called = hall.act("w2", "call-next").json()["ticket"]
    assert called["id"] == first["id"], "the transferred ticket keeps its place ahead of later ones"
    assert called["number"] == "A001"
    assert later["id"] != called["id"]


def test_transfer_to_a_named_counter_is_called_there_first(hall: AppHall) -> None:
    hall.issue("social")
    moved = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w3", "open")
    r = hall.act("w1", "transfer", {"counter": "w3"})
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "waiting"
    called = hall.act("w3", "call-next").json()["ticket"]
    assert called["id"] == moved["id"]


def test_transfer_body_must_name_one_existing_target(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "transfer", {}).status_code == 422
    assert hall.act("w1", "transfer", {"service": "social", "counter": "w3"}).status_code == 422
    assert hall.act("w1", "transfer", {"service": "nope"}).status_code == 404
    assert hall.act("w1", "transfer", {"counter": "e1"}).status_code == 404  # another hall's counter
    same = hall.act("w1", "transfer", {"counter": "w1"})
    assert same.status_code == 409 and same.json()["error"]["code"] == "same_counter"
    assert hall.act("w1", "start").json()["ticket"]["status"] == "serving"


def test_away_hands_the_queue_to_the_partner_on_its_behalf(hall: AppHall) -> None:
    card = hall.issue("id-card")  # w1's service; w2 does not serve it
    hall.act("w1", "open")
    hall.act("w2", "open")
    r = hall.act("w1", "away", {"reason": "午餐"})
    assert r.status_code == 200 and r.json()["counter"]["state"] == "away"
    called = hall.act("w2", "call-next").json()["ticket"]
    assert called["id"] == card["id"]
    assert called["served_by"] == "w2" and called["on_behalf_of"] == "w1"
    done = hall.act("w2", "finish", {"outcome": "completed"}).json()["ticket"]
    assert done["on_behalf_of"] == "w1"
    back = hall.act("w1", "back")
    assert back.status_code == 200 and back.json()["counter"]["state"] == "open"
    hall.issue("id-card")
    assert hall.act("w2", "call-next").json()["ticket"] is None, "after back, the partner stops covering"
    day = done["issued_at"][:10]
    report = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token()).json()
    w2 = next(row for row in report["by_counter"] if row["counter"] == "w2")
    assert (w2["served"], w2["on_behalf"]) == (1, 1)


def test_away_without_an_open_partner_is_409_no_cover(hall: AppHall) -> None:
    hall.act("w1", "open")
    r = hall.act("w1", "away", {"reason": "会议"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_cover"
    counters = {c["id"]: c for c in hall.get("/api/v1/halls/town/counters").json()}
    assert counters["w1"]["state"] == "open"


def test_back_when_not_away_is_409(hall: AppHall) -> None:
    hall.act("w1", "open")
    assert hall.act("w1", "back").status_code == 409


def test_no_ticket_is_called_by_two_counters(hall: AppHall) -> None:
    for _ in range(4):
        hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    a = hall.act("w1", "call-next").json()["ticket"]["id"]
    b = hall.act("w3", "call-next").json()["ticket"]["id"]
    assert a != b


def test_counter_actions_need_a_token(hall: AppHall) -> None:
    r = hall.post("/api/v1/counters/w1/open")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = hall.post("/api/v1/counters/w1/open", token="hq_000000000000.wrongwrongwrongwrongwrong")
    assert r.status_code == 401
    r = hall.post("/api/v1/counters/w1/open", token="garbage")
    assert r.status_code == 401


def test_another_counters_token_is_403(hall: AppHall) -> None:
    r = hall.post("/api/v1/counters/w1/open", token=hall.counter_token("w2"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_an_admin_token_works_any_counter(hall: AppHall) -> None:
    r = hall.post("/api/v1/counters/w1/open", token=hall.admin_token())
    assert r.status_code == 200 and r.json()["counter"]["state"] == "open"


def test_unknown_counter_is_404(hall: AppHall) -> None:
    assert hall.post("/api/v1/counters/nope/open", token=hall.admin_token()).status_code == 404


def test_close_with_a_held_ticket_is_refused(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "close").status_code == 409
    hall.act("w1", "no-show")
    assert hall.act("w1", "close").json()["counter"]["state"] == "closed"
