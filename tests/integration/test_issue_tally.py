"""SQLite's issue counts its queue only when something else changed since its last issue (services.board.Tally).

A tally that is used must be exactly what counting the queues gives: checked after every step of seeded random
days of taps (normal and priority, three services), calls, finishes, no-shows, transfers and parking, with a
second process writing to the same database in between, and a clock set back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from support.app import AppHall

from server.services import board

SERVICES = ("id-card", "social", "water")


def _counts(hall: AppHall) -> tuple[dict[str, int], dict[str, int]]:
    """The untargeted waiting tickets of each service, priority and normal, counted now."""
    priority: dict[str, int] = dict.fromkeys(SERVICES, 0)
    normal: dict[str, int] = dict.fromkeys(SERVICES, 0)
    with hall.ctx.db.read() as s:
        rows = s.execute(
            text(
                "SELECT service_id, priority, count(*) FROM tickets WHERE hall_id = 'town' AND status = 'waiting'"
                " AND target_counter IS NULL GROUP BY service_id, priority"
            )
        ).all()
    for service, is_priority, n in rows:
        (priority if is_priority else normal)[service] = n
    return priority, normal


def _live_tally(hall: AppHall) -> board.Tally | None:
    """The tally the next issue would use: the one whose line is the ledger's last."""
    tally = hall.ctx.boards.tallies.get("town")
    with hall.ctx.db.read() as s:
        head = board.ledger_head(s)
    day = hall.ctx.hall("town").day_of(hall.clock.now())
    return tally if tally is not None and tally.matches(head, day) else None


def _check(hall: AppHall) -> bool:
    tally = _live_tally(hall)
    if tally is None:
        return False
    priority, normal = _counts(hall)
    assert {k: v for k, v in tally.priority.items()} == {k: priority[k] for k in tally.priority}
    assert {k: v for k, v in tally.normal.items()} == {k: normal[k] for k in tally.normal}
    return True


def _step(hall: AppHall, other: AppHall, rng: random.Random, held: dict[str, str | None]) -> None:
    roll = rng.random()
    if roll < 0.55:
        priority = rng.random() < 0.15
        body: dict[str, Any] = {"service": rng.choice(SERVICES), "priority": priority, "kiosk": "k1"}
        r = hall.post("/api/v1/halls/town/tickets", body, hall.kiosk_token())
        assert r.status_code == 201 or r.json()["error"]["code"] == "daily_limit", r.text
    elif roll < 0.62:
        r = other.post("/api/v1/halls/town/tickets", {"service": rng.choice(SERVICES)})
        assert r.status_code == 201 or r.json()["error"]["code"] == "daily_limit", r.text  # the other process
    elif roll < 0.64:
        hall.advance(-5)  # a clock set back: a new ticket may order before the last one
    else:
        counter = rng.choice(("w1", "w2", "w3", "w4"))
        if held[counter] is None:
            r = hall.act(counter, "call-next")
            assert r.status_code == 200, r.text
            ticket = r.json()["ticket"]
            held[counter] = ticket["id"] if ticket else None
        else:
            action = rng.choice(("finish", "no-show", "transfer", "park"))
            if action == "finish":
                r = hall.act(counter, "finish", {"outcome": "completed"})
            elif action == "no-show":
                r = hall.act(counter, "no-show")
            elif action == "transfer":
                r = hall.act(counter, "transfer", {"service": rng.choice(SERVICES)})
            else:
                r = hall.act(counter, "park", {"reason": "materials"})
            if r.status_code == 200:
                held[counter] = None
            else:  # refused (e.g. nothing to transfer to): finish it instead
                assert hall.act(counter, "finish", {"outcome": "completed"}).status_code == 200
                held[counter] = None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_used_tally_is_exactly_the_queues_counted(
    make_app_hall: Callable[..., AppHall], tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    hall = make_app_hall("sqlite")
    other = AppHall.create(tmp_path_factory.mktemp("other"), hall.database)
    try:
        for counter in ("w1", "w2", "w3", "w4"):
            assert hall.act(counter, "open").status_code == 200
        rng = random.Random(seed)
        held: dict[str, str | None] = dict.fromkeys(("w1", "w2", "w3", "w4"))
        used = 0
        for _ in range(160):
            _step(hall, other, rng, held)
            used += _check(hall)
        assert used > 10  # runs of taps in a row go by the tally (and each time it was checked)
    finally:
        other.close()


def test_a_priority_tap_after_the_clock_was_set_back_counts_only_those_before_it(
    make_app_hall: Callable[..., AppHall],
) -> None:
    """A priority ticket P, then the clock set back a minute: a normal tap N and a priority tap Q order before P,
    so Q has nobody ahead; the tally left by N (which counted every priority ticket, P too) must not say 1."""
    hall = make_app_hall("sqlite")
    token = hall.kiosk_token()

    def tap(priority: bool) -> dict[str, Any]:
        body = {"service": "id-card", "priority": priority, "kiosk": "k1"}
        r = hall.post("/api/v1/halls/town/tickets", body, token)
        assert r.status_code == 201, r.text
        return dict(r.json())

    tap(True)
    hall.advance(-60)
    tap(False)
    hall.advance(5)
    q = tap(True)
    track = hall.get("/api/v1/track/" + q["track_url"].rsplit("/", 1)[1]).json()
    assert q["ahead"] == track["ahead"] == 0
