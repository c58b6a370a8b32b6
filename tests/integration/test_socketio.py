"""PROTOCOL.md: the /display and /track namespaces (and the pages' namespaces in docs/api.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.app import AppHall, SocketClient


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """These namespaces are driven in-process (Socket.IO's test client); test_live.py runs them over websockets."""
    return app_hall


@pytest.fixture
def display(hall: AppHall) -> Iterator[SocketClient]:
    listener = hall.listen("/display", "hall=town")
    yield listener
    listener.close()


def test_display_gets_a_snapshot_on_connect(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.issue("social")
    listener = hall.listen("/display", "hall=town")
    try:
        snap = listener.wait_for("snapshot")
        assert snap["waiting"]["social"] == 1 and snap["waiting"]["id-card"] == 0
        call = snap["calls"][0]
        assert call["number"] == "A001" and call["counter"] == "w1" and call["counter_number"] == 1
        assert call["counter_name"] == "1号窗口" and call["recall"] is False
    finally:
        listener.close()


def test_display_snapshot_keeps_at_least_ten_latest_calls_newest_first(hall: AppHall) -> None:
    hall.act("w1", "open")
    for _ in range(11):
        hall.issue("id-card")
        hall.act("w1", "call-next")
        hall.act("w1", "finish", {"outcome": "completed"})
    listener = hall.listen("/display", "hall=town")
    try:
        calls = listener.wait_for("snapshot")["calls"]
        assert len(calls) >= 10
        assert calls[0]["number"] == "A011" and calls[9]["number"] == "A002"
    finally:
        listener.close()


def test_display_hears_every_call_and_recall(hall: AppHall, display: SocketClient) -> None:
    display.wait_for("snapshot")
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    call = display.wait_for("call", lambda c: not c["recall"])
    assert call == {
        "ticket": t["id"],
        "number": "A001",
        "counter": "w1",
        "counter_name": "1号窗口",
        "counter_number": 1,
        "service": "id-card",
        "recall": False,
        "at": call["at"],
    }
    hall.act("w1", "recall")
    assert display.wait_for("call", lambda c: c["recall"])["number"] == "A001"


def test_display_hears_waiting_counts_change(hall: AppHall, display: SocketClient) -> None:
    display.wait_for("snapshot")
    hall.issue("social")
    counts = display.wait_for("waiting", lambda w: w.get("social") == 1)
    assert counts["id-card"] == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_call_brings_its_waiting_counts_right_behind_it(make_app_hall: Callable[..., AppHall], kind: str) -> None:
    """The counts a call changed reach the screen with the call, not with the worker's next batch: each screen's
    socket sends both at once (one transmission a call). An issue's counts still come with the batch."""
    hall = make_app_hall(kind)  # its own app: the publisher's gap is changed below
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    for _ in range(2):
        hall.issue("id-card")
    hall.act("w1", "open")
    hall.settle()  # the worker delivered just now: its next batch waits out the gap
    hall.hallq.publisher.batch_gap_s = 2.0
    display.clear()
    assert hall.act("w1", "call-next").status_code == 200
    received = display.client.get_received("/display")  # in order, as sent, before the worker's batch
    assert [(m["name"], m["args"][0].get("id-card")) for m in received] == [("call", None), ("waiting", 1)]
    hall.act("w1", "recall")  # a recall moves no count: none is sent
    assert [m["name"] for m in display.client.get_received("/display")] == ["call"]
    hall.settle()
    assert "waiting" not in display.events  # nor does the worker send the call's counts a second time


def test_counts_read_earlier_never_overwrite_counts_read_later(make_app_hall: Callable[..., AppHall]) -> None:
    """A request counting behind its call and the worker counting a batch run at once: whichever read started
    later goes out, an older read arriving after it is dropped."""
    hall = make_app_hall()
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    publisher = hall.hallq.publisher
    earlier, later = publisher._number("town"), publisher._number("town")
    publisher._send_counts("town", later, {"id-card": 2})
    publisher._send_counts("town", earlier, {"id-card": 7})  # started earlier, finished later: stale
    publisher._send_counts("east", earlier, {"id-card": 7})  # another hall counts on its own (no screen here)
    assert display.events["waiting"] == [{"id-card": 2}]


def test_a_slow_send_of_older_counts_does_not_end_after_newer_ones(make_app_hall: Callable[..., AppHall]) -> None:
    """Sending is part of the guard: an older read whose send is slow (a publish to Redis yields) is not
    overtaken by a newer read's send that then gets overwritten."""
    hall = make_app_hall()
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    publisher = hall.hallq.publisher
    plain = publisher._emit

    def slow(event: str, data: Any, *args: Any, **kw: Any) -> None:
        if data == {"id-card": 7}:
            time.sleep(0.3)
        plain(event, data, *args, **kw)

    publisher._emit = slow
    earlier, later = publisher._number("town"), publisher._number("town")
    older = threading.Thread(target=publisher._send_counts, args=("town", earlier, {"id-card": 7}))
    older.start()
    time.sleep(0.05)  # the older send is under way
    publisher._send_counts("town", later, {"id-card": 2})
    older.join()
    assert display.events["waiting"][-1] == {"id-card": 2}


def test_a_failed_call_emit_still_leaves_the_counts_to_the_worker(make_app_hall: Callable[..., AppHall]) -> None:
    """The call is committed whatever happens to its announcement: when sending it fails, the clerk's answer is
    still the call (it was a 500: counter actions publish outside after_commit's guard), and the worker still
    gets the batch and sends the counts (nothing claims they went out behind the call)."""
    hall = make_app_hall()
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.settle()
    display.clear()
    publisher = hall.hallq.publisher
    plain = publisher._emit

    def failing(event: str, *args: Any, **kw: Any) -> None:
        if event == "call":
            raise RuntimeError("the message queue is gone")
        plain(event, *args, **kw)

    publisher._emit = failing
    assert hall.act("w1", "call-next").status_code == 200  # committed: the clerk has the ticket
    hall.settle()
    assert display.events["waiting"][-1]["id-card"] == 0  # the worker's counts


def test_display_for_an_unknown_hall_is_refused(hall: AppHall) -> None:
    assert hall.refused("/display", "hall=nowhere")


def test_track_gets_the_ticket_on_connect_and_on_every_change(hall: AppHall) -> None:
    hall.issue("id-card")
    t = hall.issue("id-card")
    token = t["track_url"].rsplit("/", 1)[1]
    track = hall.listen("/track", f"token={token}")
    try:
        first = track.wait_for("ticket")
        assert first["number"] == "A002" and first["ahead"] == 1 and first["status"] == "waiting"
        hall.act("w1", "open")
        hall.act("w1", "call-next")
        assert track.wait_for("ticket", lambda b: b["ahead"] == 0)["status"] == "waiting"
        hall.act("w1", "finish", {"outcome": "completed"})
        hall.act("w1", "call-next")
        called = track.wait_for("ticket", lambda b: b["status"] == "called")
        assert called["counter"] == "1号窗口"
        hall.act("w1", "finish", {"outcome": "completed"})
        assert track.wait_for("ticket", lambda b: b["status"] == "done")["can_rate"] is True
    finally:
        track.close()


def test_track_with_an_unknown_token_is_refused(hall: AppHall) -> None:
    assert hall.refused("/track", "token=" + "n" * 32)


def test_a_reconnecting_screen_gets_a_fresh_snapshot(hall: AppHall) -> None:
    first = hall.listen("/display", "hall=town")
    first.wait_for("snapshot")
    first.close()
    hall.issue("id-card")  # missed while disconnected
    second = hall.listen("/display", "hall=town")
    try:
        assert second.wait_for("snapshot")["waiting"]["id-card"] == 1
    finally:
        second.close()


def test_counter_namespace_needs_that_counters_credential(hall: AppHall) -> None:
    assert hall.refused("/counter", "counter=w1")
    assert hall.refused("/counter", "counter=w1", auth={"token": hall.counter_token("w2")})
    listener = hall.listen("/counter", "counter=w1", auth={"token": hall.counter_token("w1")})
    try:
        assert listener.wait_for("counter")["counter"]["id"] == "w1"
        hall.act("w1", "open")
        assert listener.wait_for("counter", lambda m: m["counter"]["state"] == "open")["ticket"] is None
        hall.issue("id-card")
        assert listener.wait_for("waiting", lambda w: w["id-card"] == 1)
    finally:
        listener.close()


def test_kiosk_namespace_sends_the_services(hall: AppHall) -> None:
    listener = hall.listen("/kiosk", "kiosk=k1")
    try:
        services = listener.wait_for("services")
        assert {s["id"] for s in services} >= {"id-card", "social"}
        assert {s["id"]: s["group"] for s in services}["water"] == "life"
        assert listener.wait_for("printer") == {"kiosk": "k1", "state": "none"}
        hall.issue("id-card")  # a ticket changes the count and the wait a kiosk shows
        listener.wait_for("services", lambda ss: {s["id"]: s["waiting"] for s in ss}["id-card"] == 1)
        listener.clear()
        hall.act("w1", "open")  # a counter opening changes the estimate too: the kiosk hears of it
        assert {s["id"]: s["waiting"] for s in listener.wait_for("services")}["id-card"] == 1
    finally:
        listener.close()
    assert hall.refused("/kiosk", "kiosk=nope")


def test_admin_namespace_is_for_managers(hall: AppHall) -> None:
    assert hall.refused("/admin", "hall=town", auth={"token": hall.counter_token("w1")})
    listener = hall.listen("/admin", "hall=town", auth={"token": hall.admin_token()})
    try:
        assert {c["id"] for c in listener.wait_for("counters")} >= {"w1", "w2"}
    finally:
        listener.close()
