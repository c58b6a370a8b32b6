"""Races: two server processes claiming the same tickets, many greenlets writing at once, kill -9.

The tests on real servers run in eventlet and in gevent (docs/scaling.md).
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support.checks import check_database
from support.databases import database
from support.env import ROOT
from support.server import Server, random_channel, redis_queue
from support.sockets import Listener

pytestmark = pytest.mark.async_modes


@pytest.fixture(params=["sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, start_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Server]:
    """Two server processes on one database, one data folder (one secret key) and one Redis channel of their own."""
    queue = redis_queue(random_channel())
    first = start_server(request.param, extra_server=queue, data_dir=tmp_path)
    second = start_server(request.param, extra_server=queue, database_url=first.database, data_dir=tmp_path)
    return first, second


def test_two_processes_never_call_a_ticket_twice_nor_lose_one(pair: tuple[Server, Server]) -> None:
    a, b = pair
    admin = a.admin_token()
    with ThreadPoolExecutor(16) as pool:
        issued = list(pool.map(lambda i: (a, b)[i % 2].issue(("id-card", "social")[i % 3 == 0]), range(240)))
    numbers = [t["number"] for t in issued]
    assert len(set(numbers)) == len(numbers), "a number was given twice"
    for counter in ("w1", "w2", "w3"):
        assert a.post(f"/api/v1/counters/{counter}/open", token=admin).status_code == 200
    called: list[str] = []
    lock = threading.Lock()

    def work(counter: str, seed: int) -> None:
        rng = random.Random(seed)
        while True:
            server = rng.choice((a, b))  # both processes serve the same counter, racing each other
            r = server.post(f"/api/v1/counters/{counter}/call-next", token=admin)
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "ticket_in_progress"
            else:
                assert r.status_code == 200, r.text
                if r.json()["ticket"] is None:
                    held = server.get(f"/api/v1/counters/{counter}", admin).json()["ticket"]
                    if held is None:
                        return
                else:
                    with lock:
                        called.append(r.json()["ticket"]["id"])
            done = rng.choice((a, b)).post(f"/api/v1/counters/{counter}/finish", {"outcome": "completed"}, token=admin)
            assert done.status_code in (200, 409), done.text

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda args: work(*args), [("w1", 1), ("w1", 2), ("w2", 3), ("w2", 4), ("w3", 5), ("w3", 6)]))
    assert len(called) == len(set(called)) == len(issued), "every ticket called exactly once"
    statuses = check_database(a.database)
    assert statuses == {"done": len(issued)}


def test_a_call_reaches_displays_on_every_process_of_its_channel_and_no_other(
    pair: tuple[Server, Server], start_server: Callable[..., Server], listen: Callable[..., Listener]
) -> None:
    a, b = pair
    # Another hall system on the same Redis, with a hall of the same id: only its channel sets it apart.
    stranger = start_server("sqlite", extra_server=redis_queue(random_channel()))
    display = listen(a.url, "/display", "hall=town")
    other = listen(stranger.url, "/display", "hall=town")
    display.wait_for("snapshot")
    other.wait_for("snapshot")
    t = b.issue("id-card")
    b.act("w1", "open")
    b.act("w1", "call-next")
    assert display.wait_for("call", lambda c: c["ticket"] == t["id"])["counter_number"] == 1
    assert display.wait_for("waiting", lambda w: w["id-card"] == 0) is not None
    # Redis hands a subscriber its messages in publishing order: had the stranger heard the pair's
    # channel, the call would have reached its display before its own, later, waiting count.
    stranger.issue("water")
    other.wait_for("waiting", lambda w: w["water"] == 1)
    assert other.events["call"] == [], "a call crossed to another channel"


def test_many_concurrent_requests_to_one_green_server(hall: Server) -> None:
    """Hundreds of greenlets writing at once: none stalls, fails with 'database is locked' or repeats a number."""
    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(lambda _: hall.post("/api/v1/halls/town/tickets", {"service": "id-card"}), range(400)))
    assert [r.status_code for r in results] == [201] * 400
    assert sorted(r.json()["number"] for r in results) == [f"A{i:03d}" for i in range(1, 401)]
    assert "database is locked" not in hall.log()
    check_database(hall.database)


GREENLETS = """
import eventlet
eventlet.monkey_patch()
import dataclasses, sys
from server.clock import SystemClock
from server.config import load_config
from server.services import counters, halls, tickets
from server.services.context import Context
from server.store.db import Database

config = load_config(sys.argv[1], data_dir=sys.argv[2])
config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, database=sys.argv[3]))
ctx = Context(config, Database(config.settings.database), SystemClock())
ctx.db.migrate()
halls.seed_counters(ctx)
for c in ("w1", "w3"):
    counters.open_counter(ctx, c, "t")
errors = []

def issue(i):
    try:
        tickets.issue_ticket(ctx, "town", "id-card")
        eventlet.sleep(0)
    except Exception as e:
        errors.append(repr(e))

def serve(counter):
    for _ in range(100):
        try:
            result, _ = counters.call_next(ctx, counter, "t")
            eventlet.sleep(0)
            if result.ticket is not None:
                counters.finish(ctx, counter, "t", "completed", None, None)
        except Exception as e:
            errors.append(repr(e))

pool = eventlet.GreenPool(500)
for i in range(300):
    pool.spawn(issue, i)
for c in ("w1", "w3"):
    pool.spawn(serve, c)
pool.waitall()
print("errors", len(errors), errors[:3])
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_hundreds_of_greenlets_share_one_process_safely(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        done = subprocess.run(
            [
                sys.executable,
                "-W",
                "ignore::DeprecationWarning",
                "-c",
                GREENLETS,
                str(ROOT / "tests/data/test_hall.toml"),
                str(tmp_path),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "errors 0 []" in done.stdout, done.stdout + done.stderr[-2000:]
        statuses = check_database(url)
        assert sum(statuses.values()) == 300


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_kill_9_in_the_middle_of_traffic_loses_nothing_committed(
    kind: str, start_server: Callable[..., Server]
) -> None:
    hall = start_server(kind)  # its own: a killed server is never handed to another test
    admin = hall.admin_token()
    hall.post("/api/v1/counters/w1/open", token=admin)
    hall.post("/api/v1/counters/w3/open", token=admin)
    stop = threading.Event()
    issued: list[str] = []

    def traffic(counter: str) -> None:
        while not stop.is_set():
            try:
                r = hall.post("/api/v1/halls/town/tickets", {"service": "id-card"})
                if r.status_code == 201:
                    issued.append(r.json()["number"])
                hall.post(f"/api/v1/counters/{counter}/call-next", token=admin)
                hall.post(f"/api/v1/counters/{counter}/start", token=admin)
                hall.post(f"/api/v1/counters/{counter}/finish", {"outcome": "completed"}, token=admin)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=traffic, args=(c,)) for c in ("w1", "w3", "w1", "w3")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    try:
        while len(issued) < 40:
            assert time.monotonic() < deadline and any(t.is_alive() for t in threads), f"traffic stalled: {issued}"
            time.sleep(0.05)
        hall.stop(kill=True)  # SIGKILL, mid-transaction for all we know
    finally:
        stop.set()
        for t in threads:
            t.join()
    check_database(hall.database)
    hall.start()
    check_database(hall.database)
    after = hall.issue("id-card")["number"]
    assert after not in issued, "a number was reused after the crash"
    for counter in ("w1", "w3"):  # the clerks carry on from what the database says
        held = hall.get(f"/api/v1/counters/{counter}", admin).json()["ticket"]
        if held is not None:
            assert hall.post(f"/api/v1/counters/{counter}/finish", {"outcome": "completed"}, token=admin).ok


def test_two_processes_issue_one_ticket_per_idempotency_key(pair: tuple[Server, Server]) -> None:
    """A kiosk's retried tap reaching both processes at once: one ticket, the same answer everywhere."""
    a, b = pair
    token = a.kiosk_token()
    keys = [f"tap-{i:04d}-0123456789abcdef" for i in range(12)]

    def tap(i: int) -> requests.Response:
        server = (a, b)[i % 2]
        return server.post(
            "/api/v1/halls/town/tickets",
            {"service": "id-card", "kiosk": "k1"},
            token,
            headers={"Idempotency-Key": keys[i // 4]},  # every key sent four times, two to each process
        )

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(tap, range(len(keys) * 4)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers if r.status_code != 201]
    for k in range(len(keys)):
        bodies = [r.json() for r in answers[k * 4 : k * 4 + 4]]
        tokens = {body["track_url"].rsplit("/", 1)[1] for body in bodies}  # each process has its own public_url
        assert len({body["id"] for body in bodies}) == 1 and len(tokens) == 1
    assert len({r.json()["id"] for r in answers}) == len(keys)
    assert check_database(a.database) == {"waiting": len(keys)}
