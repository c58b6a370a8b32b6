"""What only a real server shows: eventlet and gevent serving HTTP and websockets, cookies over the wire.

The contract itself is tested in-process (app_hall); these few checks keep the real stack honest, in each
async mode (docs/scaling.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from support.server import Server, hallq

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


def test_sigterm_stops_the_server_cleanly(start_server: Callable[..., Server]) -> None:
    """A service manager's stop: exit 0 with one line, in either mode (gevent's hub must not report it)."""
    server = start_server("sqlite")
    assert server.proc is not None
    server.stop()  # SIGTERM, then wait
    assert server.proc.returncode == 0, server.log()[-2000:]
    tail = server.log().rsplit("hallq serving", 1)[1]
    assert tail.strip().splitlines()[1:] == ["hallq stopped."], tail
