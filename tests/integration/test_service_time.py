"""The service-time rule (docs/api.md): a call finished without start counts its service from the call."""

from __future__ import annotations

from datetime import datetime

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's and Socket.IO's test clients (support/app.py)."""
    return app_hall


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def test_a_call_finished_without_start_counts_service_from_the_call(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.advance(1.1)
    hall.act("w1", "recall")
    hall.advance(1.1)
    done = hall.act("w1", "finish", {"outcome": "completed"}).json()["ticket"]
    assert done["started_at"] == done["called_at"]
    assert done["service_s"] >= 2 and abs(done["service_s"] - _seconds(done["called_at"], done["finished_at"])) <= 1
    report = hall.get(f"/api/v1/halls/town/reports/daily?date={done['issued_at'][:10]}", hall.admin_token()).json()
    assert report["avg_service_s"] == done["service_s"]


def test_times_describe_the_latest_passage_and_service_adds_up_over_transfers(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "start")
    hall.advance(1.1)
    first = hall.act("w1", "transfer", {"counter": "w3"}).json()["ticket"]
    assert first["service_s"] >= 1
    hall.act("w3", "call-next")
    hall.advance(1.1)
    done = hall.act("w3", "finish", {"outcome": "completed"}).json()["ticket"]
    assert done["called_at"] <= done["started_at"] <= done["finished_at"], "never started before it was called"
    assert done["started_at"] == done["called_at"]  # the second passage was finished without start
    assert done["service_s"] >= first["service_s"] + 1
