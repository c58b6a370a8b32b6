"""A credential that ends takes its live connections with it, in every process (two real servers, Redis).

The kiosk agent, the managers' console and the counter page hold Socket.IO connections for hours; a
revoked token, a logout or a disabled user must not leave one of them running on another process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import socketio
from support.printing import Agent, kiosk_state, kiosk_ticket, slips, wait_slips, wait_until
from support.server import Server, hallq, random_channel, redis_queue
from support.sockets import Listener

from printers.virtual import VirtualPrinter


@pytest.fixture
def pair(start_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Server]:
    """Two processes of one hall system: one PostgreSQL database, one data folder, one Redis channel;
    kiosk k1 printed by a kiosk agent."""
    options = {
        "extra_server": redis_queue(random_channel()) + "\nprinter_poll_s = 1",
        "data_dir": tmp_path / "data",
        "edit": lambda text: text.replace('printer = { kind = "none" }', 'printer = { kind = "agent" }'),
    }
    first = start_server("postgres", **options)
    return first, start_server("postgres", database_url=first.database, **options)


def _gone(client: Listener | socketio.Client, within: float) -> float:
    """Seconds until the connection was cut by the server; AssertionError after `within`."""
    started = time.monotonic()
    while client.connected if isinstance(client, socketio.Client) else client.client.connected:
        assert time.monotonic() - started < within, f"still connected after {within}s"
        time.sleep(0.02)
    return time.monotonic() - started


def _login(server: Server, name: str) -> requests.Session:
    server.add_user(name, "supervisor", "pass-word-1", "town")
    s = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', s.get(server.url + "/login", timeout=10).text)
    assert csrf
    r = s.post(server.url + "/login", data={"csrf": csrf.group(1), "username": name, "password": "pass-word-1"},
               allow_redirects=False, timeout=10)  # fmt: skip
    assert r.status_code == 302
    return s


def _page_socket(server: Server, s: requests.Session, namespace: str, query: str) -> socketio.Client:
    """A page's connection: the login cookie, as the browser sends it."""
    client = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    client.connect(f"{server.url}?{query}", namespaces=[namespace], transports=["websocket"],
                   headers={"Cookie": cookie}, wait_timeout=10)  # fmt: skip
    return client


def test_a_revoked_kiosk_agent_is_cut_off_at_once_and_prints_no_other_job(
    pair: tuple[Server, Server], printer: VirtualPrinter, tmp_path: Path
) -> None:
    a, b = pair
    agent_token = a.token("--kiosk", "k1")
    agent = Agent(a, agent_token, f"network:127.0.0.1:{printer.port}", tmp_path / "agent.log").start()
    watcher = Listener(a.url, "/admin", "hall=town", auth={"token": a.admin_token()})
    try:
        wait_until(lambda: kiosk_state(b) == "ok", "the agent reporting its printer")
        first = kiosk_ticket(b, agent_token)  # issued on the other process, printed by the agent on this one
        wait_slips(printer, [first["id"]])
        revoked_admin = b.token("--role", "admin")
        console = Listener(a.url, "/admin", "hall=town", auth={"token": revoked_admin})

        done = hallq("token", "revoke", agent_token.split(".")[0].removeprefix("hq_"), "--config", str(b.config))
        assert done.returncode == 0, done.stderr
        wait_until(lambda: kiosk_state(b) == "offline", "the revoked agent's connection cut", timeout=5)
        other_kiosk = b.token("--kiosk", "k1")  # a valid credential still issues at the kiosk
        later = [kiosk_ticket(b, other_kiosk) for _ in range(2)]
        time.sleep(4)  # two sweeps and many sender rounds: nothing may reach the revoked agent
        printed = {s.ticket for s in slips(printer)}
        assert printed == {first["id"]}, "a revoked agent printed another job"
        pending = b.get("/api/v1/halls/town/print-jobs?status=pending", b.admin_token()).json()
        assert {j["ticket"] for j in pending} == {t["id"] for t in later}, "the jobs wait for a valid agent"

        done = hallq("token", "revoke", revoked_admin.split(".")[0].removeprefix("hq_"), "--config", str(b.config))
        assert done.returncode == 0, done.stderr
        took = _gone(console, within=1.5)  # announced through Redis: not left to the 2 s sweep
        print(f"revoked admin token's console on the other process cut {took * 1000:.0f} ms after the command")
        assert watcher.client.connected, "another token's connection stays"
    finally:
        agent.stop()
        watcher.client.disconnect()


def test_logging_out_or_disabling_ends_the_pages_connections_on_every_process(pair: tuple[Server, Server]) -> None:
    a, b = pair
    sue = _login(b, "sue")
    console = _page_socket(a, sue, "/admin", "hall=town")  # the same cookie, another process
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', sue.get(b.url + "/counter?choose=1", timeout=10).text)
    assert csrf
    started = time.monotonic()
    assert (
        sue.post(b.url + "/logout", data={"csrf": csrf.group(1)}, allow_redirects=False, timeout=10).status_code == 302
    )
    took = _gone(console, within=1.5)
    print(f"logout on one process cut the console on the other {took * 1000:.0f} ms later "
          f"({(time.monotonic() - started) * 1000:.0f} ms after the logout was sent)")  # fmt: skip

    tom = _login(a, "tom")
    counter = _page_socket(b, tom, "/counter", "counter=w1")
    done = hallq("user", "disable", "tom", "--config", str(a.config))
    assert done.returncode == 0, done.stderr
    _gone(counter, within=1.5)
    assert tom.get(a.url + "/api/v1/counters/w1/desk", timeout=10).status_code == 401


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_revoked_counter_token_is_refused_by_the_very_next_action_in_every_process(
    start_server: Callable[..., Server], tmp_path: Path, kind: str
) -> None:
    """Each process verifies a counter token once and keeps it; the action's own transaction still reads
    whether it was revoked, so a revocation made elsewhere (here: by this test's process, with no message
    queue to tell anyone) refuses the very next action in both processes, and nothing is written."""
    a = start_server(kind, data_dir=tmp_path / "data")
    b = start_server(kind, database_url=a.database, data_dir=tmp_path / "data")
    token = a.counter_token("w1")
    assert a.act("w1", "open", token=token).status_code == 200
    for server in (a, b, a, b):  # each process has verified the token, and used it again since
        assert server.act("w1", "call-next", token=token).status_code == 200
    waiting = a.issue("id-card")
    from server.auth import revoke_token

    assert revoke_token(a.offline(), token.split(".")[0].removeprefix("hq_"))
    for server in (b, a):
        refused = server.act("w1", "call-next", token=token)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "unauthorized"
        assert server.act("w1", "close", token=token).status_code == 401
    desk = a.get("/api/v1/counters/w1", token=a.admin_token()).json()
    assert desk["ticket"] is None and desk["counter"]["state"] == "open"  # nothing was called, nor closed
    lines = a.get(f"/api/v1/tickets/{waiting['id']}/history", token=a.admin_token()).json()
    assert [line["kind"] for line in lines] == ["issued"]  # still waiting: no call was written
