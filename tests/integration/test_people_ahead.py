"""`ahead` is the forecast's order: the people called before a ticket at the windows that serve it (issue 20).

On the test hall w2 serves social (B) and water (C); w4 (water) and w3 (id-card, social) stay closed. With
B001 waiting first, w2 calls it before C001: C001 has nobody ahead in its own queue, yet one person will be
called before it at its only window. The issue answer, the track body, /services (the kiosk's tiles), the
resident's page and the printed slip all say 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.inproc import Hall, hall_app
from support.server import Server

from printers.decode import decode
from printers.virtual import VirtualPrinter

D = "2026-03-02"
TOWN = "/api/v1/halls/town"


@pytest.fixture(params=["sqlite", "postgres"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    with hall_app(tmp_path, f"{D} 08:00", kind=request.param) as h:
        yield h


def _track(h: Hall, ticket: dict) -> dict:
    return h.json(f"/api/v1/track/{ticket['track_url'].rsplit('/', 1)[1]}")


def _services(h: Hall) -> dict[str, dict]:
    return {s["id"]: s for s in h.json(f"{TOWN}/services")}


def test_a_ticket_of_another_service_called_first_at_the_same_window_is_ahead(hall: Hall) -> None:
    hall.act("w2", "open", f"{D} 08:55")
    b1 = hall.issue("social", f"{D} 09:00")
    assert b1["ahead"] == 0
    assert _services(hall)["water"]["ahead"] == 1  # the kiosk's tile: B001 goes first at w2
    c1 = hall.issue("water", f"{D} 09:01")
    assert c1["ahead"] == 1  # the issue answer (the slip prints this figure)
    assert _track(hall, c1)["ahead"] == 1
    page = hall.client.get(c1["track_url"][c1["track_url"].index("/t/") :]).get_data(as_text=True)
    assert '<span id="track-ahead">1</span>' in page
    assert _services(hall)["water"]["ahead"] == 2
    assert _track(hall, b1)["ahead"] == 0  # nobody is called before B001
    # A ticket of a service w2 does not serve is not counted: id-card waits for w1 or w3 (both closed).
    a1 = hall.issue("id-card", f"{D} 09:02")
    assert _track(hall, a1)["ahead"] == 0 and _track(hall, c1)["ahead"] == 1
    # Once B001 is called, C001 is next.
    assert hall.act("w2", "call-next", f"{D} 09:03")["ticket"]["number"] == "B001"
    assert _track(hall, c1)["ahead"] == 0
    assert _services(hall)["water"]["ahead"] == 1


def test_a_window_that_serves_the_queue_but_calls_elsewhere_first_counts_only_its_calls_before(hall: Hall) -> None:
    # Two windows serve social: w2 (social, water) and w3 (id-card, social). Both free, four tickets:
    # the forecast calls A001 at w3 and C001 at w2 at once, then B001 and B002 as they free up.
    hall.act("w2", "open", f"{D} 08:55")
    hall.act("w3", "open", f"{D} 08:55")
    a1 = hall.issue("id-card", f"{D} 09:00")
    c1 = hall.issue("water", f"{D} 09:00")
    b1 = hall.issue("social", f"{D} 09:01")
    b2 = hall.issue("social", f"{D} 09:02")
    assert (_track(hall, a1)["ahead"], _track(hall, c1)["ahead"]) == (0, 0)
    # B001: A001 (at w3) and C001 (at w2) are called before it at its windows; B002 also has B001.
    assert _track(hall, b1)["ahead"] == 2
    assert _track(hall, b2)["ahead"] == 3
    # Own queue first, always: the figure is never below the ticket's place in its own queue.
    assert _track(hall, b2)["ahead"] >= 1


def test_the_slip_and_the_kiosk_say_the_same_people_ahead(printing_hall: tuple[Server, VirtualPrinter]) -> None:
    server, printer = printing_hall
    assert server.act("w2", "open").status_code == 200
    assert server.post(f"{TOWN}/tickets", {"service": "social"}).status_code == 201
    tile = {s["id"]: s for s in server.get(f"{TOWN}/services").json()}["water"]
    r = server.post(f"{TOWN}/tickets", {"service": "water", "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201
    ticket = r.json()
    assert tile["ahead"] == ticket["ahead"] == 1
    [printed] = printer.wait_printed(1, timeout=10)
    text = decode(printed.read_bytes()).text
    assert "前面还有 1 人" in text and "前面没有人" not in text
