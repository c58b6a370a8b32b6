"""Publishing after commit, off the request path: every screen and resident still sees every change.

Changes are made in bursts (no waiting between them), so the publisher has batched them; what each
client ends up with must still be what the contract's reads say, and nothing a display must announce
may be dropped.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from support.server import Server
from support.sockets import Listener


def _token(ticket: dict[str, Any]) -> str:
    return str(ticket["track_url"].rsplit("/", 1)[1])


def _settles(listener: Listener, event: str, expected: Any, timeout: float = 15) -> Any:
    """The listener's latest `event` comes to equal `expected` (what a fresh read says) within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = listener.events[event][-1] if listener.events[event] else None
        if got == expected:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"last {event!r} is {got}, a fresh read says {expected}")
        time.sleep(0.05)


def test_trackers_and_displays_see_every_change_of_a_burst(hall: Server) -> None:
    issued = [hall.issue("id-card") for _ in range(8)]
    watched = {t["number"]: t for t in (issued[2], issued[5], issued[7])}
    display = Listener(hall.url, "/display", "hall=town")
    trackers = {n: Listener(hall.url, "/track", f"token={_token(t)}") for n, t in watched.items()}
    try:
        for n in watched:
            assert trackers[n].wait_for("ticket")["ahead"] == int(n[1:]) - 1
        assert hall.act("w1", "open").status_code == 200
        token = hall.counter_token("w1")
        called = []
        for _ in range(5):  # a burst: each call and finish right after the other
            r = hall.act("w1", "call-next", token=token)
            called.append(r.json()["ticket"]["number"])
            hall.act("w1", "finish", {"outcome": "completed"}, token=token)
        priority = hall.issue("id-card", priority=True)  # overtakes every normal ticket: all move back
        assert called == ["A001", "A002", "A003", "A004", "A005"]

        # The display announced every call, in order, and ends with the counts a fresh read gives.
        for number in called:
            display.wait_for("call", lambda c, n=number: c["number"] == n)
        assert [c["number"] for c in display.events["call"]] == called
        counts = {s["id"]: s["waiting"] for s in hall.get("/api/v1/halls/town/services").json()}
        _settles(display, "waiting", counts)

        # Each resident's page ends with exactly GET /track's body (the called one too), and saw
        # its people ahead only ever move the way the queue did.
        for n, t in watched.items():
            body = hall.get(f"/api/v1/track/{_token(t)}").json()
            _settles(trackers[n], "ticket", body)
        assert trackers["A003"].events["ticket"][-1]["status"] == "done"
        a8 = [b["ahead"] for b in trackers["A008"].events["ticket"]]
        assert a8[0] == 7 and a8[-1] == 3 and max(a8) <= 7, a8  # 7 ahead, 5 called, 1 priority overtook

        # The queue-level events (docs/api.md) replayed on A008's first place give its place now.
        ahead = 7
        assert "queue" not in display.events  # the call screen gets calls and counts, not places
        for move in trackers["A008"].events["queue"]:
            if move["service"] != "id-card":
                continue
            if move["change"] == "left" and ahead > move["rank"]:
                ahead -= 1
            elif move["change"] == "joined" and ahead >= move["rank"]:
                ahead += 1
        assert ahead == 3 and priority["ahead"] == 0
    finally:
        display.close()
        for listener in trackers.values():
            listener.close()


def test_concurrent_calls_at_several_counters_are_each_announced_once(hall: Server) -> None:
    for i in range(12):
        hall.issue(("id-card", "social")[i % 2])
    display = Listener(hall.url, "/display", "hall=town")
    try:
        display.wait_for("snapshot")
        for counter in ("w1", "w2"):
            assert hall.act(counter, "open").status_code == 200
        tokens = {c: hall.counter_token(c) for c in ("w1", "w2")}

        def work(counter: str) -> list[str]:
            numbers = []
            while True:
                ticket = hall.act(counter, "call-next", token=tokens[counter]).json()["ticket"]
                if ticket is None:
                    return numbers
                numbers.append(ticket["number"])
                hall.act(counter, "finish", {"outcome": "completed"}, token=tokens[counter])

        with ThreadPoolExecutor(2) as pool:
            called = [n for numbers in pool.map(work, ("w1", "w2")) for n in numbers]
        assert sorted(called) == sorted({*called}) and len(called) == 12
        deadline = time.monotonic() + 15
        while len(display.events["call"]) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(c["number"] for c in display.events["call"]) == sorted(called)
        _settles(display, "waiting", {"id-card": 0, "social": 0, "water": 0, "closed": 0})
    finally:
        display.close()
