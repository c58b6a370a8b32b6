"""What only a real server shows: eventlet and gevent serving HTTP and websockets, cookies over the wire.

The contract itself is tested in-process (app_hall); these few checks keep the real stack honest, in each
async mode (docs/scaling.md).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from support.server import Server, hallq

from server.cli import STOP_GRACE_S

pytestmark = pytest.mark.async_modes


def test_screens_over_websockets_get_their_snapshot_and_every_change(hall: Server) -> None:
    display = hall.listen("/display", "hall=town")
    assert display.wait_for("snapshot")["calls"] == []
    t = hall.issue("id-card")
    track = hall.listen("/track", "token=" + t["track_url"].rsplit("/", 1)[1])
    assert track.wait_for("ticket")["status"] == "waiting"
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert display.wait_for("call", lambda c: c["ticket"] == t["id"])["counter_number"] == 1
    assert track.wait_for("ticket", lambda b: b["status"] == "called")["counter"] == "1号窗口"
    counter = hall.listen("/counter", "counter=w1", auth={"token": hall.counter_token("w1")})
    assert counter.wait_for("counter")["ticket"]["id"] == t["id"]
    assert hall.refused("/display", "hall=nowhere")
    assert hall.refused("/counter", "counter=w1", auth={"token": hall.counter_token("w2")})


def test_a_login_over_http_sets_a_guarded_session_cookie(hall: Server) -> None:
    done = hallq(
        "user",
        "add",
        "clerk9",
        "--role",
        "clerk",
        "--hall",
        "town",
        "--config",
        str(hall.config),
        stdin="correct-horse\n",
    )
    assert done.returncode == 0, done.stderr
    with requests.Session() as s:
        page = s.get(hall.url + "/login", timeout=30)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = s.post(
            hall.url + "/login",
            data={"csrf": csrf.group(1), "username": "clerk9", "password": "correct-horse", "next": "/counter"},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 302
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert s.get(hall.url + "/counter", timeout=30).status_code == 200


def test_sigterm_in_the_middle_of_traffic_stops_the_server_and_keeps_every_answered_ticket(
    start_server: Callable[..., Server],
) -> None:
    """A service manager's stop arrives in whichever greenlet runs (a request, a job): it used to end
    just that greenlet and the server went on serving. Now it stops, screens connected and tickets being
    issued, within the grace time, and every ticket it answered is in the database afterwards."""
    server = start_server()
    displays = [server.listen("/display", "hall=town") for _ in range(3)]
    for display in displays:
        display.wait_for("snapshot")
    answered: list[dict[str, Any]] = []
    stop = threading.Event()

    def traffic() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                try:
                    r = http.post(f"{server.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=10)
                except requests.RequestException:
                    return  # the server went away
                if r.status_code == 201:
                    answered.append(r.json())

    clients = [threading.Thread(target=traffic) for _ in range(4)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 30
    while len(answered) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.proc is not None
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=STOP_GRACE_S + 5)
    finally:
        stop.set()
        for c in clients:
            c.join(30)
    assert code == 0 and time.monotonic() - started < STOP_GRACE_S, server.log()[-3000:]
    assert "hallq stopped." in server.log()
    server.restart()
    for t in answered:  # each answered ticket survived the stop
        assert server.get(f"/api/v1/track/{t['track_url'].rsplit('/', 1)[1]}").json()["number"] == t["number"]


def test_sigterm_stops_the_server_cleanly(start_server: Callable[..., Server]) -> None:
    """A service manager's stop: exit 0 and one line, nothing reported as an error (the hub's included),
    at once: the stop once waited for the hub's next timer, about 5 s on an idle server (and a test suite
    stopping hundreds of servers waited with it)."""
    server = start_server("sqlite")
    assert server.proc is not None
    asked = time.monotonic()
    server.stop()  # SIGTERM, then wait
    assert time.monotonic() - asked < 3
    assert server.proc.returncode == 0, server.log()[-2000:]
    tail = server.log().rsplit("hallq serving", 1)[1]
    assert tail.strip().splitlines()[1:] == ["hallq stopped."], tail
