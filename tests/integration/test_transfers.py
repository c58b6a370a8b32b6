"""HALL_RULES 4 (首问负责制): a transfer goes only where someone serves, and the ledger keeps the chain of clerks."""

from __future__ import annotations

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's and Socket.IO's test clients (support/app.py)."""
    return app_hall


def _ledger(hall: AppHall, day: str) -> list[dict]:
    r = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token())
    assert r.status_code == 200, r.text
    return list(r.json())


def test_transfer_to_a_closed_uncovered_counter_is_refused_and_the_ticket_stays(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    held = hall.act("w1", "call-next").json()["ticket"]
    r = hall.act("w1", "transfer", {"counter": "w3"})  # w3 closed, its partner w4 closed
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_not_open"
    state = hall.get("/api/v1/counters/w1", hall.counter_token("w1")).json()
    assert state["ticket"]["id"] == held["id"] and state["ticket"]["status"] == "called"
    hall.act("w4", "open")
    hall.act("w3", "open")
    assert hall.act("w3", "away").status_code == 200  # w3 away, covered by its open partner w4
    assert hall.act("w1", "transfer", {"counter": "w3"}).status_code == 200
    called = hall.act("w4", "call-next").json()["ticket"]
    assert called["id"] == held["id"] and called["on_behalf_of"] == "w3"


def test_transfer_answer_shows_the_ticket_waiting_and_the_ledger_keeps_the_chain(hall: AppHall) -> None:
    issued = hall.issue("id-card")
    admin = hall.admin_token()
    for counter in ("w1", "w2", "w3"):
        hall.act(counter, "open")
    hall.act("w1", "call-next")
    hall.act("w1", "start")
    r = hall.post("/api/v1/counters/w1/transfer", {"service": "social", "reason": "社保材料"}, token=admin)
    assert r.status_code == 200, r.text
    moved = r.json()["ticket"]
    assert (moved["status"], moved["served_by"], moved["on_behalf_of"]) == ("waiting", None, None)
    assert moved["service"] == "social" and moved["issued_at"] == issued["issued_at"]
    assert hall.act("w2", "call-next").json()["ticket"]["id"] == issued["id"]
    assert hall.act("w2", "transfer", {"counter": "w3"}).json()["ticket"]["served_by"] is None
    assert hall.act("w3", "call-next").json()["ticket"]["id"] == issued["id"]
    done = hall.act("w3", "finish", {"outcome": "completed"}).json()["ticket"]
    assert done["served_by"] == "w3"
    [row] = _ledger(hall, issued["issued_at"][:10])
    assert row["owner"] == "w1", "the first clerk stays the owner of the matter"
    assert (row["counter"], row["transfers"]) == ("w3", 2)
    chain = [(h["counter"], h["to_service"], h["to_counter"], h["reason"]) for h in row["handoffs"]]
    assert chain == [("w1", "social", None, "社保材料"), ("w2", None, "w3", None)]
    assert row["handoffs"][0]["clerk"] is not None, "an admin acting at a counter is named in the ledger"
    csv = hall.get(f"/api/v1/halls/town/ledger?from={row['day']}&to={row['day']}&format=csv", admin).text
    assert "w1→social；w2→w3" in csv


def test_transfer_body_accepts_a_reason_and_refuses_a_wrong_one(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    bad = hall.act("w1", "transfer", {"service": "social", "reason": 5})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_body"
    long = hall.act("w1", "transfer", {"service": "social", "reason": "x" * 201})
    assert long.status_code == 422
    assert hall.act("w1", "transfer", {"service": "social", "reason": None}).status_code == 200
