"""Printing and publishing after commit are independent: either failing leaves the other done and the ticket 201."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.app import AppHall
from support.server import HALL_TOML

from server.auth import create_token


@pytest.fixture
def agent_kiosk_hall(make_app_hall: Callable[..., AppHall], tmp_path: Path) -> AppHall:
    """The hall in-process, its kiosk k1 printed by an agent (none connects: its jobs wait, nothing is opened)."""
    toml = tmp_path / "hall.toml"
    toml.write_text(
        HALL_TOML.read_text(encoding="utf-8").replace('printer = { kind = "none" }', 'printer = { kind = "agent" }'),
        encoding="utf-8",
    )
    return make_app_hall(hall_toml=toml)


def _take(hall: AppHall) -> Any:
    token = create_token(hall.ctx, "kiosk", kiosk="k1")
    return hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, token)


def _pending(hall: AppHall) -> list[dict[str, Any]]:
    return list(hall.get("/api/v1/halls/town/print-jobs?status=pending", hall.admin_token()).json())


def test_a_failing_publisher_still_leaves_the_slip_queued_and_the_ticket_issued(
    agent_kiosk_hall: AppHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: Any) -> None:
        raise ConnectionError("message queue down")

    monkeypatch.setattr(agent_kiosk_hall.hallq.publisher, "publish", broken)

    r = _take(agent_kiosk_hall)

    assert r.status_code == 201, r.text
    assert [(j["ticket"], j["status"], j["sends"]) for j in _pending(agent_kiosk_hall)] == [
        (r.json()["id"], "pending", 0)
    ]


def test_a_failing_printer_sender_still_publishes_and_the_job_is_kept(
    agent_kiosk_hall: AppHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    display = agent_kiosk_hall.listen("/display", "hall=town")
    monkeypatch.setattr(agent_kiosk_hall.hallq.printing, "_wake", None)  # any use of it raises

    r = _take(agent_kiosk_hall)

    assert r.status_code == 201, r.text
    assert display.wait_for("waiting", lambda w: w.get("id-card") == 1)
    assert [j["ticket"] for j in _pending(agent_kiosk_hall)] == [r.json()["id"]], "the job is a row, not lost"


def test_a_kiosk_printed_by_an_agent_is_offline_until_its_agent_connects(agent_kiosk_hall: AppHall) -> None:
    assert agent_kiosk_hall.get("/api/v1/halls/town/kiosks").json()[0]["printer"]["state"] == "offline"


def test_stopping_the_printing_waits_for_its_senders(agent_kiosk_hall: AppHall) -> None:
    """An app closing stops its printer senders and only then disposes of its database: a sender still reading
    it then crashed the whole test worker (SQLite's connection closed under it; seen once in a full run)."""
    printing = agent_kiosk_hall.hallq.printing
    senders = list(printing._tasks)
    assert senders and all(t.is_alive() for t in senders)
    printing.stop()
    assert not any(t.is_alive() for t in senders)
