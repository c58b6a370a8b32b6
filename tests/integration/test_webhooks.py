"""Outbound events reach a real HTTP receiver on 127.0.0.1, signed, in order, at least once (PROTOCOL v1.2).

The receiver (support/receiver.py) checks each signature with the ten lines docs/api.md gives integrators.
In-process apps run the sender in the background as a server does; the kill -9 and two-process tests use
real server processes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.app import AppHall
from support.env import ROOT
from support.receiver import SECRET, Answer, Receiver, deliveries, hooks, recorded, verify
from support.server import Server, clean_env, free_port, hallq

from server.services import outbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def served(app: Any, counter: str = "w1") -> tuple[dict[str, Any], str]:
    t = app.issue("id-card")
    assert app.act(counter, "call-next").json()["ticket"]["id"] == t["id"]
    assert app.act(counter, "finish", {"outcome": "completed"}).status_code == 200
    return t, t["track_url"].rsplit("/", 1)[1]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_event_reaches_the_receiver_signed_and_in_order_per_ticket(
    make_app_hall: Callable[..., AppHall], receiver: Receiver, kind: str
) -> None:
    app = make_app_hall(kind, edit=hooks(receiver.url()))
    assert app.act("w1", "open").status_code == 200
    first, token = served(app)
    assert (
        app.post(
            f"/api/v1/track/{token}/rating", {"level": 1, "comment": "电话13812345678", "tags": ["wait_long"]}
        ).status_code
        == 201
    )
    second = app.issue("id-card")
    app.act("w1", "call-next")
    app.act("w1", "recall")
    assert app.act("w1", "transfer", {"service": "social", "reason": "走错窗口"}).status_code == 200
    assert app.act("w2", "open").status_code == 200
    app.act("w2", "call-next")
    assert app.act("w2", "no-show").status_code == 200
    [case] = app.get("/api/v1/halls/town/complaints", app.admin_token()).json()
    app.post(f"/api/v1/complaints/{case['id']}/verify", {"note": "已回访"}, app.admin_token())
    expected = 14  # 12 of tickets and counters, and the complaint case opened then verified
    got = receiver.wait_for(lambda seen: len(seen) >= expected)
    assert len(got) == expected, [r.json()["event"] for r in got]
    for r in got:
        assert verify(SECRET, r.headers, r.body), "each request's signature checks with the hall's secret"
        body = r.json()
        assert set(body) == {"id", "event", "at", "hall", "data"} and body["hall"] == "town"
        assert r.headers["X-Hallq-Event"] == body["event"] and r.headers["X-Hallq-Delivery"] == body["id"]
        assert r.path == "/hooks"
    per_ticket: dict[str, list[str]] = defaultdict(list)
    for body in receiver.events():
        if "ticket" in body["data"] and body["event"] != "complaint.changed":
            per_ticket[body["data"]["ticket"]].append(body["event"])
    assert per_ticket[first["id"]] == ["ticket.issued", "ticket.called", "ticket.finished", "rating.created"]
    assert per_ticket[second["id"]] == [
        "ticket.issued", "ticket.called", "ticket.called", "ticket.transferred", "ticket.called", "ticket.no_show",
    ]  # fmt: skip
    events = Counter(b["event"] for b in receiver.events())
    assert events["counter.changed"] == 2
    assert [b["data"]["status"] for b in receiver.events() if b["event"] == "complaint.changed"] == ["open", "verified"]
    rating = next(b for b in receiver.events() if b["event"] == "rating.created")["data"]
    assert (rating["level"], rating["tags"], rating["service"]) == (1, ["wait_long"], "id-card")
    assert "13812345678" not in str(rating), "a phone number in a comment is masked"
    # Every delivery is recorded as sent, once tried.
    rows = recorded(app, lambda rows: all(d.status == "sent" for d in rows))
    assert len(rows) == expected and {(d.status, d.tries, d.last_status) for d in rows} == {("sent", 1, 200)}


def test_a_receiver_that_fails_then_recovers_gets_every_event_and_none_of_a_rolled_back_change(
    make_app_hall: Callable[..., AppHall], receiver: Receiver
) -> None:
    app = make_app_hall("sqlite", edit=hooks(receiver.url(), events='events = ["ticket.issued", "ticket.called"]\n'))
    receiver.failures = 3  # down for the first three tries
    tickets = [app.issue("id-card") for _ in range(3)]
    hall = app.ctx.hall("town")
    with pytest.raises(RuntimeError), app.ctx.db.write() as s:  # a change that rolls back after its event
        outbox.emit(s, hall, "ticket.issued", {"ticket": "ghost"}, app.clock.now(), subject="ghost")
        raise RuntimeError("rolled back")
    receiver.wait_for(lambda seen: len(seen) >= 3)
    # The three tries failed: each delivery waits its backoff (10 s, jittered), then goes again.
    rows = recorded(app, lambda rows: all(d.tries == 1 for d in rows))
    assert all(d.status == "pending" and d.last_status == 503 and d.last_answer == "down" for d in rows)
    app.advance(11)
    app.hallq.sender.wake()
    receiver.wait_for(lambda seen: len([r for r in seen if r.status == 200]) >= 3)
    delivered = [b["data"]["ticket"] for b in receiver.events()]
    assert sorted(delivered) == sorted(t["id"] for t in tickets), "each event once it recovered, none of the ghost"
    every_try = [r.json()["id"] for r in receiver.received]
    assert len(every_try) == 6 and len(set(every_try)) == 3, "the same event id on the retry"
    assert {(d.status, d.tries) for d in recorded(app, lambda rows: all(d.status == "sent" for d in rows))} == {
        ("sent", 2)
    }


def test_a_receiver_down_for_retry_hours_leaves_the_event_failed(
    make_app_hall: Callable[..., AppHall], receiver: Receiver
) -> None:
    app = make_app_hall("sqlite", edit=hooks(receiver.url(), events='events = ["ticket.issued"]\nretry_hours = 1\n'))
    receiver.failures = 1000
    app.issue("id-card")
    recorded(app, lambda rows: rows[0].tries == 1)
    for _ in range(8):  # tries with growing waits until the hour is over
        app.advance(20 * 60)
        app.hallq.sender.wake()
        tries = deliveries(app)[0].tries
        [row] = recorded(app, lambda rows, n=tries: rows[0].tries > n or rows[0].status == "failed")  # type: ignore[misc]
        if row.status == "failed":
            break
    [row] = deliveries(app)
    assert row.status == "failed" and row.tries >= 2 and row.last_status == 503


def test_a_slow_receiver_or_a_huge_answer_holds_neither_the_hall_nor_the_other_receivers(
    make_app_hall: Callable[..., AppHall], receiver: Receiver
) -> None:
    receiver.answers["/slow"] = Answer(200, delay_s=13)
    receiver.answers["/huge"] = Answer(200, body=b"x" * (10 * 1024 * 1024))
    app = make_app_hall(
        "sqlite",
        edit=hooks(
            receiver.url("/slow"), receiver.url("/huge"), receiver.url("/ok"), events='events = ["ticket.issued"]\n'
        ),
    )
    started = time.monotonic()
    for _ in range(3):
        app.issue("id-card")
    assert time.monotonic() - started < 2, "issuing never waits for a receiver"
    receiver.wait_for(lambda seen: len([r for r in seen if r.path == "/ok"]) == 3, timeout=5)
    receiver.wait_for(lambda seen: len([r for r in seen if r.path == "/huge"]) == 3, timeout=5)
    assert time.monotonic() - started < 8, "the fast receivers did not wait for the slow one"
    rows = recorded(app, lambda rows: all(d.status == "sent" for d in rows if not d.target.endswith("/slow")))
    assert all(len(d.last_answer or "") <= 300 for d in rows)
    # The slow one: 10 s of silence is a failed try, retried later.
    rows = recorded(app, lambda rows: all(d.tries == 1 for d in rows if d.target.endswith("/slow")))
    slow = [d for d in rows if d.target.endswith("/slow")]
    assert len(slow) == 3 and all(
        d.status == "pending" and d.last_status is None and "timed out" in (d.last_answer or "") for d in slow
    )


def _server_hooks(receiver: Receiver) -> Callable[[str], str]:
    return hooks(receiver.url(), events='events = ["ticket.issued"]\n')


def test_events_queued_when_the_server_is_killed_go_out_after_restart(
    start_server: Callable[..., Server], receiver: Receiver, tmp_path: Path
) -> None:
    server = start_server("sqlite", data_dir=tmp_path, edit=_server_hooks(receiver))
    receiver.failures = 10**6  # down while the events are made
    issued = [server.issue("id-card")["id"] for _ in range(4)]
    receiver.wait_for(lambda seen: len(seen) >= 1)
    server.stop(kill=True)  # kill -9 with the events queued
    receiver.failures = 0
    server.start()
    got = receiver.wait_for(lambda seen: len({r.json()["id"] for r in seen if r.status == 200}) >= 4, timeout=40)
    assert sorted({r.json()["data"]["ticket"] for r in got if r.status == 200}) == sorted(issued)
    assert all(verify(SECRET, r.headers, r.body) for r in got)


def test_two_processes_send_each_event_once(
    start_server: Callable[..., Server], receiver: Receiver, tmp_path: Path
) -> None:
    edit = _server_hooks(receiver)
    a = start_server("postgres", data_dir=tmp_path, edit=edit)
    b = start_server("postgres", data_dir=tmp_path, edit=edit, database_url=a.database)
    issued = [(a if i % 2 else b).issue("id-card")["id"] for i in range(20)]
    got = receiver.wait_for(lambda seen: len(seen) >= 20, timeout=30)
    time.sleep(1.5)  # anything sent twice would arrive by now
    ids = [r.json()["data"]["ticket"] for r in receiver.received]
    assert sorted(ids) == sorted(issued), "each event sent by one process, once"
    assert len(got) >= 20


def test_the_demo_sends_every_event_to_the_webhook_it_is_given(receiver: Receiver, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    refused = hallq("demo", "--port", str(port), "--data", str(tmp_path / "d"), "--webhook", url + "/hooks",
                    "--webhook-secret", SECRET)  # fmt: skip
    assert (
        refused.returncode == 2
        and "--webhook: " in refused.stderr
        and "points at this server itself" in (refused.stderr)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", str(tmp_path / "d"),
         "--webhook", receiver.url(), "--webhook-secret", SECRET],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the demo did not start"
            try:
                if requests.get(url + "/api/v1/health", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        service = requests.get(url + "/api/v1/halls/town/services", timeout=5).json()[0]["id"]
        ticket = requests.post(url + "/api/v1/halls/town/tickets", json={"service": service}, timeout=5).json()
        [got] = receiver.wait_for(lambda seen: len(seen) >= 1, timeout=30)
        assert verify(SECRET, got.headers, got.body)
        assert got.json()["event"] == "ticket.issued" and got.json()["data"]["ticket"] == ticket["id"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "webhook:" in out and "Traceback" not in out
