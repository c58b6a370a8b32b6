"""PROTOCOL.md: taking tickets and the resident's tracking."""

from __future__ import annotations

from datetime import datetime

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's test client (support/app.py)."""
    return app_hall


def test_issuing_returns_the_contract_fields(hall: AppHall) -> None:
    r = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "priority": False})
    assert r.status_code == 201
    t = r.json()
    assert {"id", "number", "service", "status", "ahead", "est_wait_s", "issued_at", "track_url"} <= set(t)
    assert t["number"] == "A001" and t["service"] == "id-card" and t["status"] == "waiting"
    assert t["ahead"] == 0 and t["est_wait_s"] == 0
    assert datetime.fromisoformat(t["issued_at"]).utcoffset() is not None
    assert t["track_url"].startswith(hall.url + "/t/")


def test_numbers_count_up_per_service_and_people_ahead_grow(hall: AppHall) -> None:
    a1, a2, b1 = hall.issue("id-card"), hall.issue("id-card"), hall.issue("social")
    assert (a1["number"], a2["number"], b1["number"]) == ("A001", "A002", "B001")
    assert a2["ahead"] == 1 and a2["est_wait_s"] == 240
    assert b1["ahead"] == 0


def test_track_url_is_unguessable_and_opens_the_residents_page(hall: AppHall) -> None:
    t = hall.issue("id-card")
    token = t["track_url"].rsplit("/", 1)[1]
    assert len(token) >= 22  # ≥ 128 bits of URL-safe base64
    page = hall.get(t["track_url"].removeprefix(hall.url))
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "A001" in page.text


def test_track_reports_place_and_status(hall: AppHall) -> None:
    hall.issue("id-card")
    t = hall.issue("id-card")
    token = t["track_url"].rsplit("/", 1)[1]
    body = hall.get(f"/api/v1/track/{token}").json()
    assert body["number"] == "A002" and body["status"] == "waiting"
    assert body["ahead"] == 1 and body["est_wait_s"] == 240
    assert body["counter"] is None and body["can_rate"] is False
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    body = hall.get(f"/api/v1/track/{token}").json()
    assert body["ahead"] == 0
    hall.act("w1", "finish", {"outcome": "completed"})
    hall.act("w1", "call-next")
    body = hall.get(f"/api/v1/track/{token}").json()
    assert body["status"] == "called" and body["counter"] == "1号窗口"


def test_unknown_track_token_is_404(hall: AppHall) -> None:
    assert hall.get("/api/v1/track/" + "x" * 32).status_code == 404
    assert hall.get("/api/v1/track/short").status_code == 404
    assert hall.get("/t/" + "y" * 32).status_code == 404


def test_priority_ticket_goes_ahead_of_normal_ones(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.issue("id-card")
    p = hall.issue("id-card", priority=True)
    assert p["ahead"] == 0
    hall.act("w1", "open")
    called = hall.act("w1", "call-next").json()["ticket"]
    assert called["number"] == p["number"] and called["priority"] is True


def test_unknown_hall_or_service_is_404(hall: AppHall) -> None:
    assert hall.post("/api/v1/halls/nowhere/tickets", {"service": "id-card"}).status_code == 404
    r = hall.post("/api/v1/halls/town/tickets", {"service": "nothing"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # PROTOCOL.md v1.1: naming a kiosk without its credential is 403; nobody holds an unknown kiosk's
    r = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "no-such-kiosk"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_closed_service_is_409_service_closed(hall: AppHall) -> None:
    r = hall.post("/api/v1/halls/town/tickets", {"service": "closed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_closed"


def test_daily_limit_is_409_and_loses_no_number(hall: AppHall) -> None:
    numbers = [hall.issue("water")["number"] for _ in range(3)]
    assert numbers == ["C001", "C002", "C003"]
    r = hall.post("/api/v1/halls/town/tickets", {"service": "water"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "daily_limit"
    services = {s["id"]: s for s in hall.get("/api/v1/halls/town/services").json()}
    assert services["water"]["waiting"] == 3


def test_bad_ticket_bodies_are_422(hall: AppHall) -> None:
    for body in ({}, {"service": 5}, {"service": "id-card", "priority": "yes"}, {"service": "id-card", "x": 1}):
        r = hall.post("/api/v1/halls/town/tickets", body)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"]
    r = hall.post("/api/v1/halls/town/tickets", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"


def test_a_kiosk_ticket_names_its_kiosk_and_is_issued(hall: AppHall) -> None:
    r = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, hall.kiosk_token())
    assert r.status_code == 201 and r.json()["number"] == "A001"
