"""HALL_RULES 7 (AB岗, 不得空岗): a window covering its away partner stays open until the partner is back."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's and Socket.IO's test clients (support/app.py)."""
    return app_hall


def test_a_counter_covering_its_away_partner_cannot_close(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w2", "open")
    assert hall.act("w1", "away", {"reason": "午餐"}).status_code == 200
    r = hall.act("w2", "close")
    assert r.status_code == 409 and r.json()["error"]["code"] == "covering"
    counters = {c["id"]: c["state"] for c in hall.get("/api/v1/halls/town/counters").json()}
    assert (counters["w1"], counters["w2"]) == ("away", "open")
    assert hall.act("w2", "call-next").json()["ticket"]["on_behalf_of"] == "w1"  # still covering
    assert hall.act("w2", "finish", {"outcome": "completed"}).status_code == 200
    assert hall.act("w1", "back").status_code == 200
    assert hall.act("w2", "close").json()["counter"]["state"] == "closed"


def test_the_ledger_records_the_profile_a_counter_opened_with(hall: AppHall) -> None:
    """What cover.uncovered needs to replay a day after the config changed: the profile at the time."""
    hall.act("w3", "open")
    engine = create_engine(hall.database)
    try:
        with engine.connect() as conn:
            detail = conn.execute(text("SELECT detail FROM ledger WHERE kind = 'counter_opened'")).scalar_one()
    finally:
        engine.dispose()
    if isinstance(detail, str):  # SQLite hands JSON back as text
        detail = json.loads(detail)
    assert detail["services"] == ["id-card", "social"] and detail["partner"] == "w4"
