"""Scale-out: several server processes on one PostgreSQL database and one Redis, as deploy/ runs them.

test_concurrency.py already races two processes over call-next and sends a call from one process to a display
on the other; this module adds what a city's deployment also relies on: a third process, limits that hold
across processes, and a process killed with its clients moving to a survivor.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from support.app import AppHall
from support.checks import check_database
from support.env import REDIS_URL
from support.proxy import Proxy
from support.server import Server, random_channel, redis_port, redis_queue, two_through
from support.sockets import Listener

from server.mq import EVERYONE
from server.ratelimit import Limits

LIMIT = 6  # tickets a minute from one address


def three(start: Callable[..., Server], folder: Path, public_url: str | None = None) -> tuple[Server, Server, Server]:
    """Three processes on one PostgreSQL database, one data folder and a Redis channel of their own.

    `public_url`: the balancer's address, the same in every process (pages and sockets are same-origin with it).
    """

    def edit(text: str) -> str:
        return re.sub(r'public_url = ".*"', f'public_url = "{public_url}"', text) if public_url else text

    options = {"extra_server": redis_queue(random_channel()), "data_dir": folder, "edit": edit}
    limits = f"tickets_per_minute = {LIMIT}"
    first = start("postgres", limits=limits, **options)
    rest = [start("postgres", limits=limits, database_url=first.database, **options) for _ in range(2)]
    return first, rest[0], rest[1]


@pytest.fixture
def trio(start_server: Callable[..., Server], tmp_path: Path) -> tuple[Server, Server, Server]:
    return three(start_server, tmp_path)


def test_a_ticket_limit_holds_across_processes_and_not_across_systems(
    trio: tuple[Server, Server, Server], start_server: Callable[..., Server]
) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(9) as pool:
        answers = list(
            pool.map(lambda i: trio[i % 3].post("/api/v1/halls/town/tickets", {"service": "id-card"}), range(30))
        )
    elapsed = time.monotonic() - started
    issued = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    # The bucket refills at LIMIT a minute: a slow machine may earn a token or two while the requests run.
    opened = [line for s in trio for line in s.log().splitlines() if "rate limits not enforced" in line]
    assert not opened, opened  # Redis answered throughout: no request was let through unlimited
    assert LIMIT <= len(issued) <= LIMIT + int(elapsed * LIMIT / 60), (len(issued), elapsed)
    assert all(r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" for r in refused)
    assert len({r.json()["number"] for r in issued}) == len(issued)
    # Another hall system on the same Redis (another channel) counts on its own: its first ticket is issued.
    stranger = start_server(
        "sqlite", extra_server=redis_queue(random_channel()), limits=f"tickets_per_minute = {LIMIT}"
    )
    assert stranger.post("/api/v1/halls/town/tickets", {"service": "id-card"}).status_code == 201


def test_three_processes_serve_one_hall_and_every_display_hears_every_call(
    trio: tuple[Server, Server, Server], listen: Callable[..., Listener]
) -> None:
    a, b, c = trio
    displays = [listen(s.url, "/display", "hall=town") for s in trio]
    for d in displays:
        d.wait_for("snapshot")
    kiosk = {s: s.kiosk_token("k1") for s in trio}  # verified kiosks: each has its own limit
    tickets = [s.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, token=kiosk[s]).json()
               for s in (a, b, c)]  # fmt: skip
    a.act("w1", "open")
    c.act("w3", "open")
    called = [b.act("w1", "call-next").json()["ticket"]["id"], c.act("w3", "call-next").json()["ticket"]["id"]]
    for d in displays:
        for ticket_id in called:
            d.wait_for("call", lambda m, t=ticket_id: m["ticket"] == t)
        d.wait_for("waiting", lambda w: w["id-card"] == 1)
    assert sorted(called) == sorted(t["id"] for t in tickets[:2])


def test_a_killed_process_leaves_the_others_serving_and_its_screens_resync_on_a_survivor(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    # The balancer (nginx in deploy/): the display reaches process A through it, and after A dies the balancer
    # sends the reconnecting display to a survivor, as nginx does when an upstream stops answering.
    balancer = Proxy(0)
    a, b, c = three(start_server, tmp_path, f"http://127.0.0.1:{balancer.port}")
    balancer.target_port = a.port
    display = Listener(f"http://127.0.0.1:{balancer.port}", "/display", "hall=town", reconnect=True)
    try:
        display.wait_for("snapshot")
        before = b.issue("id-card")
        display.wait_for("waiting", lambda w: w["id-card"] == 1)
        a.stop(kill=True)  # kill -9
        balancer.sever()  # nginx marks A down: its clients' connections fail until they land on a survivor
        # The others serve at once: issue through B, call through C.
        after = b.issue("id-card")
        assert c.act("w1", "open").status_code == 200
        assert c.act("w1", "call-next").json()["ticket"]["id"] == before["id"]
        balancer.target_port = b.port
        balancer.restore()
        # The display reconnects by itself through the balancer, now to B, and resyncs from a fresh snapshot.
        snap = display.wait_for("snapshot", lambda s: bool(s["calls"]), timeout=30)
        assert snap["calls"][0]["number"] == before["number"] and snap["waiting"]["id-card"] == 1
        # Live again: a call made through C reaches it on B.
        assert c.act("w1", "finish", {"outcome": "completed"}).status_code == 200
        assert c.act("w1", "call-next").json()["ticket"]["id"] == after["id"]
        assert display.wait_for("call", lambda m: m["ticket"] == after["id"])["counter_number"] == 1
        assert check_database(b.database) == {"done": 1, "called": 1}
    finally:
        display.close()
        balancer.close()


def test_limits_count_in_redis_per_prefix_and_fail_open_when_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    shared = Limits(REDIS_URL, random_channel())
    one, other = shared.make("tickets", 3), shared.make("tickets", 3)  # two processes' limiters, one store
    assert [one.allow("addr:x") or other.allow("addr:x") for _ in range(3)] == [True] * 3
    assert not one.allow("addr:x") and not other.allow("addr:x")
    one.give_back("addr:x")  # a replayed tap: its token comes back, for every process
    assert other.allow("addr:x") and not one.allow("addr:x")
    for _ in range(5):
        other.give_back("addr:x")  # never past a full bucket
    assert [one.allow("addr:x") for _ in range(4)] == [True, True, True, False]
    assert one.allow("addr:y"), "each key has its own bucket"
    assert Limits(REDIS_URL, random_channel()).make("tickets", 3).allow("addr:x"), "another channel, another count"
    assert Limits(None, "hallq").make("tickets", 1).allow("addr:x")  # no Redis: in this process
    down = Limits("redis://127.0.0.1:1/0", "hallq").make("tickets", 1)
    with caplog.at_level("WARNING", logger="hallq"):
        assert all(down.allow("addr:x") for _ in range(5)), "a Redis outage must not stop tickets"
    warnings = [r.getMessage() for r in caplog.records if "rate limits not enforced" in r.getMessage()]
    assert len(warnings) == 1, warnings


def test_a_residents_page_on_one_process_sees_its_place_move_when_another_process_calls(
    trio: tuple[Server, Server, Server], listen: Callable[..., Listener]
) -> None:
    """Each process works out the places of the pages connected to it only; a call made through another
    process reaches them by the hall's announcement (server/bus.py), as a `ticket` body, not only as a `queue` move."""
    a, b, c = trio
    issued = [a.issue("id-card") for _ in range(4)]
    token = {t["number"]: t["track_url"].rsplit("/", 1)[1] for t in issued}
    on_b = listen(b.url, "/track", f"token={token['A004']}")
    on_c = listen(c.url, "/track", f"token={token['A003']}")
    assert on_b.wait_for("ticket")["ahead"] == 3 and on_c.wait_for("ticket")["ahead"] == 2
    assert a.act("w1", "open").status_code == 200
    assert a.act("w1", "call-next").json()["ticket"]["number"] == "A001"
    assert a.act("w1", "finish", {"outcome": "completed"}).status_code == 200
    assert a.act("w1", "call-next").json()["ticket"]["number"] == "A002"
    # Both pages end at their place as their own process reads it, with the window open (served_now).
    moved_b = on_b.wait_for("ticket", lambda body: body["ahead"] == 1, timeout=15)
    moved_c = on_c.wait_for("ticket", lambda body: body["ahead"] == 0, timeout=15)
    assert moved_b["served_now"] and moved_c["served_now"]
    assert b.get(f"/api/v1/track/{token['A004']}").json()["ahead"] == 1
    assert c.get(f"/api/v1/track/{token['A003']}").json()["ahead"] == 0


def test_a_residents_page_gets_its_own_tickets_body_when_another_process_calls_it(
    start_server: Callable[..., Server], tmp_path: Path, listen: Callable[..., Listener]
) -> None:
    """A ticket's body is built only by the process its page is connected to: the call made through A reaches
    the page on B as B's own body (the changed ticket rides the hall announcement, server/bus.py), once."""
    options = {"extra_server": redis_queue(random_channel()), "data_dir": tmp_path}
    a = start_server("postgres", **options)
    b = start_server("postgres", database_url=a.database, **options)
    t = a.issue("id-card")
    page = listen(b.url, "/track", "token=" + t["track_url"].rsplit("/", 1)[1])  # on B, the ticket of A
    assert page.wait_for("ticket")["status"] == "waiting"
    assert a.act("w1", "open").status_code == 200
    assert a.act("w1", "call-next").json()["ticket"]["id"] == t["id"]
    called = page.wait_for("ticket", lambda body: body["status"] == "called", timeout=15)
    token = t["track_url"].rsplit("/", 1)[1]
    assert called["counter"] == "1号窗口" and called == b.get(f"/api/v1/track/{token}").json()
    time.sleep(1)  # anything sent twice (by A through Redis, and by B) would have arrived by now
    assert [e["status"] for e in page.events["ticket"]].count("called") == 1


class Channel:
    """A subscriber on a hall system's Redis channel: the Socket.IO events its processes publish, in order."""

    def __init__(self, channel: str) -> None:
        self.pubsub = Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.pubsub.get_message(timeout=1)  # the subscription is confirmed before anything is published

    def events(self, settle_s: float = 0.3) -> list[tuple[str, Any, str]]:
        """(event, data, host id) of every emit published so far, after `settle_s` without a new one."""
        out = []
        while (m := self.pubsub.get_message(timeout=settle_s)) is not None:
            body = json.loads(m["data"])
            if body.get("method") == "emit":
                out.append((body["event"], body["data"][0], body["host_id"]))
        return out

    def close(self) -> None:
        self.pubsub.close()


def two_processes(make_app_hall: Callable[..., AppHall], tmp_path: Path) -> tuple[AppHall, AppHall, Channel]:
    """Two apps on one PostgreSQL database and one Redis channel, as two server processes are (in-process: the
    Socket.IO test client refuses a message queue, so what they send is read off the channel)."""
    channel = random_channel()
    one = make_app_hall("postgres", extra_server=redis_queue(channel), shared=True)
    (tmp_path / "two").mkdir()
    two = AppHall.create(tmp_path / "two", one.database, extra_server=redis_queue(channel), shared=True)
    return one, two, Channel(channel)


def test_counts_sent_by_two_processes_go_out_in_the_order_they_were_read(
    make_app_hall: Callable[..., AppHall], tmp_path: Path
) -> None:
    """Each process counts the waiting tickets behind its own calls and batches, and every screen gets what each
    sends. A read numbered later (it saw every commit an earlier one saw) must not be overwritten by an earlier
    read whose send comes last, from whichever process: the numbering and the check are shared (in Redis), not
    each process's own. What is sent goes to every process's screens, the sender's own included (no process
    has its host id), so all get one order."""
    one, two, channel = two_processes(make_app_hall, tmp_path)
    try:
        first, second = one.hallq.publisher, two.hallq.publisher
        earlier, later = first._number("town"), second._number("town")
        assert second._send_counts("town", later, {"id-card": 2}) == "ordered"
        assert first._send_counts("town", earlier, {"id-card": 7}) == "ordered"  # read first, sent last: stale
        first._send_counts("town", first._number("town"), {"id-card": 3})
        sent = channel.events()
        assert {host for _, _, host in sent} == {EVERYONE}
        assert [(e, d) for e, d, _ in sent] == [("waiting", {"id-card": n}) for n in (2, 2, 2, 2, 3, 3, 3, 3)]
    finally:
        channel.close()
        two.close()


def test_counts_lost_with_redis_data_or_sent_while_it_failed_are_sent_again_in_order(
    make_app_hall: Callable[..., AppHall], tmp_path: Path
) -> None:
    """Redis lost its data (a restart): a read numbered before, sent after, is dropped (its number would outrank
    the new numbering's) and the hall is counted again. The ordered client failed: the process sends on its own,
    never an older read after a newer one it sent in order, and counts again once Redis answers, so every
    screen ends on the database's counts."""
    one, two, channel = two_processes(make_app_hall, tmp_path)
    try:
        first, second = one.hallq.publisher, two.hallq.publisher
        zeros = {"id-card": 0, "social": 0, "water": 0, "closed": 0}  # what the database holds: nobody waits
        stale = [second._number("town") for _ in range(3)][-1]
        Redis.from_url(REDIS_URL).delete(f"{two.ctx.config.settings.message_channel}:counts:town")
        fresh = first._number("town")
        assert stale.shared > fresh.shared and stale.epoch != fresh.epoch
        assert first._send_counts("town", fresh, {"id-card": 5}) == "ordered"
        assert second._send_counts("town", stale, {"id-card": 9}) == "lost"
        sent = channel.events(settle_s=1.0)
        assert [(d, host) for _, d, host in sent] == [({"id-card": 5}, EVERYONE)] * 4 + [(zeros, EVERYONE)] * 4
        older, newer = first._number("town"), first._number("town")
        assert first._send_counts("town", newer, {"id-card": 2}) == "ordered"
        first._ordered._ordered_down_until = time.monotonic() + 0.5  # as after a timeout: no Redis for a while
        emitted: list[tuple[Any, ...]] = []  # without the queue, counts go to this process's screens only
        first._emit = lambda *message, local=False: emitted.append((*message, local))
        assert first._send_counts("town", older, {"id-card": 7}) == "unordered"  # older than what went out: held
        assert first._send_counts("town", first._number("town"), {"id-card": 1}) == "unordered"
        assert [(data, local) for _, data, _, _, local in emitted] == [({"id-card": 1}, True)] * 4
        sent = channel.events(settle_s=1.5)
        assert [(d, host) for _, d, host in sent] == [({"id-card": 2}, EVERYONE)] * 4 + [(zeros, EVERYONE)] * 4
    finally:
        channel.close()
        two.close()


def test_a_call_and_its_counts_go_to_the_screens_of_every_process_through_the_queue(
    make_app_hall: Callable[..., AppHall], tmp_path: Path
) -> None:
    """With several processes, a call and the counts behind it are published for every process's screens, the
    calling process's own too: all screens hear them in one order, the call first, its counts right behind."""
    one, two, channel = two_processes(make_app_hall, tmp_path)
    try:
        one.issue("id-card")
        one.issue("id-card")
        two.act("w1", "open")
        two.settle()
        channel.events()
        called = two.act("w1", "call-next").json()["ticket"]["number"]
        two.settle()  # the worker's batch has gone: it would have sent the counts again by now
        sent = [(e, d, host) for e, d, host in channel.events() if e in ("call", "waiting")]
        assert [(e, host) for e, _, host in sent[:5]] == [("call", EVERYONE)] + [("waiting", EVERYONE)] * 4, sent
        assert sent[0][1]["number"] == called and sent[1][1]["id-card"] == 1
        assert len(sent) == 5  # the worker does not send the counts again
    finally:
        channel.close()
        two.close()


class StallingProxy(Proxy):
    """A proxy that can stop carrying bytes while keeping every connection open: a Redis that stopped answering
    (paused, or behind a network that drops packets), not one that is gone."""

    def __init__(self, target_port: int) -> None:
        self.flowing = threading.Event()
        self.flowing.set()
        super().__init__(target_port)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:  # type: ignore[override]
        try:
            while data := src.recv(65536):
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass


def test_a_redis_that_stops_answering_delays_a_call_but_never_hangs_it(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    """Redis accepts connections and answers nothing: the clerk's call-next is still answered (its events wait
    a bounded time on the queue, then go without it), and once Redis answers again the screens are right."""
    proxy = StallingProxy(redis_port())
    try:
        a, b = two_through(start_server, tmp_path, proxy.port)
        display = b.listen("/display", "hall=town")
        display.wait_for("snapshot")
        tickets = [a.issue("id-card") for _ in range(3)]
        assert a.act("w1", "open").status_code == 200
        display.wait_for("waiting", lambda w: w["id-card"] == 3)
        proxy.flowing.clear()
        began = time.monotonic()
        called = a.act("w1", "call-next")
        assert called.status_code == 200 and called.json()["ticket"]["id"] == tickets[0]["id"], called.text
        assert time.monotonic() - began < 15
        proxy.flowing.set()
        display.wait_for("waiting", lambda w: w["id-card"] == 2, timeout=30)
    finally:
        proxy.flowing.set()
        proxy.close()


def test_a_redis_that_refuses_scripts_gets_the_counts_unordered_not_lost(
    make_app_hall: Callable[..., AppHall], tmp_path: Path
) -> None:
    """Redis refuses Lua scripts (an ACL without scripting, as some managed Redis services have): that is no
    outage to wait out. Each process sends calls and counts as before ordered counts, through the queue to every
    process, rather than to its own screens only and then retrying for ever."""
    admin = Redis.from_url(REDIS_URL)
    user = "hallq-noscript-" + random_channel()[-8:]
    admin.execute_command("ACL", "SETUSER", user, "on", "nopass", "~*", "&*", "+@all", "-@scripting")
    try:
        channel = random_channel()
        url = REDIS_URL.replace("redis://", f"redis://{user}:x@", 1)
        queue = f'message_queue = "{url}"\nmessage_channel = "{channel}"'
        app = make_app_hall("postgres", extra_server=queue, shared=True)
        listen = Channel(channel)
        try:
            publisher = app.hallq.publisher
            assert publisher._send_counts("town", publisher._number("town"), {"id-card": 3}) == "ordered"
            publisher._send_calls([("call", {"number": "A001"}, "/display", "hall:town")])
            sent = listen.events()
            assert [(e, d) for e, d, _ in sent] == [("waiting", {"id-card": 3})] * 4 + [("call", {"number": "A001"})]
            assert EVERYONE not in {host for _, _, host in sent}  # python-socketio's own emits, from this process
            assert publisher._ordered is None and not publisher._recounting
        finally:
            listen.close()
    finally:
        admin.execute_command("ACL", "DELUSER", user)
