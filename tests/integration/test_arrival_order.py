"""HALL_RULES 1 (取号排队, 按顺序办理): within one queue, numbers are called in the order they were issued."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.server import Server


@pytest.fixture(params=["sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, start_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Server]:
    """Two server processes of one hall on one database (and one data folder: one secret key)."""
    # A small pool: the PostgreSQL server is shared, and waiting for a connection is part of the race.
    small = "db_pool_size = 3"
    first = start_server(request.param, extra_server=small, data_dir=tmp_path)
    return first, start_server(request.param, extra_server=small, database_url=first.database, data_dir=tmp_path)


def test_numbers_issued_concurrently_by_two_processes_are_called_in_issue_order(pair: tuple[Server, Server]) -> None:
    a, b = pair
    admin = a.admin_token()
    for round_ in range(2):  # twice: the order must hold every time, not by luck
        with ThreadPoolExecutor(32) as pool:
            issued = list(pool.map(lambda i: (a, b)[i % 2].issue("id-card"), range(160)))
        numbers = sorted(t["number"] for t in issued)
        assert a.post("/api/v1/counters/w1/open", token=admin).status_code == 200
        called: list[str] = []
        while True:
            r = (a, b)[len(called) % 2].post("/api/v1/counters/w1/call-next", token=admin)
            assert r.status_code == 200, r.text
            ticket = r.json()["ticket"]
            if ticket is None:
                break
            called.append(ticket["number"])
            done = a.post("/api/v1/counters/w1/finish", {"outcome": "completed"}, token=admin)
            assert done.status_code == 200, done.text
        assert a.post("/api/v1/counters/w1/close", token=admin).status_code == 200
        assert called == numbers, f"round {round_}: called out of issue order"
