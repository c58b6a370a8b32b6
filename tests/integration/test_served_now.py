"""PROTOCOL v1.1 `served_now` and honest waits: one rule for /services, /track, the issue answer and the pages."""

from __future__ import annotations

import json
import re

import pytest
from support.app import AppHall
from support.env import ROOT


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's and Socket.IO's test clients (support/app.py)."""
    return app_hall


NOT_SERVED_ZH = "暂无窗口办理此业务，请咨询服务台"
# The English words are the track page's to choose: take them from its catalogue.
_TRACK = json.loads((ROOT / "server" / "strings" / "track.json").read_text(encoding="utf-8"))
NOT_SERVED_EN = _TRACK["en"]["not_served"]
assert _TRACK["zh-CN"]["not_served"] == NOT_SERVED_ZH


def _service(hall: AppHall, service: str) -> dict:
    return next(s for s in hall.get("/api/v1/halls/town/services").json() if s["id"] == service)


def _page_body(hall: AppHall, ticket: dict, query: str = "") -> str:
    """The resident's page as shown: its body, not the strings catalogue rendered into its head."""
    r = hall.get("/t/" + ticket["track_url"].rsplit("/", 1)[1] + query)
    assert r.status_code == 200
    return r.text.split("<body", 1)[1]


def _track(hall: AppHall, ticket: dict) -> dict:
    token = ticket["track_url"].rsplit("/", 1)[1]
    r = hall.get(f"/api/v1/track/{token}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _says_not_served(page: str) -> bool:
    """The page shows its not-served line (the element stays in the page, hidden, for the live script)."""
    found = re.search(r'<p[^>]*id="track-not-served"[^>]*>', page)
    return found is not None and " hidden" not in found.group(0)


def _says_before_opening(page: str) -> bool:
    found = re.search(r'<p[^>]*id="track-before"[^>]*>', page)
    return found is not None and " hidden" not in found.group(0)


def test_before_the_first_window_opens_tickets_wait_their_turn_and_nobody_is_sent_to_the_desk(
    hall: AppHall,
) -> None:
    ticket = hall.issue("id-card")  # a fresh day: no window has opened yet
    assert ticket["served_now"] is False  # v1.1 stays as written: nobody serves the queue now
    assert (ticket["before_opening"], ticket["windows_open_at"]) == (True, None)  # the test hall is "always" open
    assert _track(hall, ticket)["before_opening"] is True
    assert _service(hall, "id-card")["before_opening"] is True
    page = _page_body(hall, ticket)
    assert _says_before_opening(page) and not _says_not_served(page)
    assert _TRACK["zh-CN"]["before_opening_any"] in page and NOT_SERVED_ZH not in page.split('id="track-not-served"')[0]
    assert _says_before_opening(_page_body(hall, ticket, "?lang=en"))
    hall.act("w4", "open")  # the day's first window (water only) opens, and closes again
    hall.act("w4", "close")
    track = _track(hall, ticket)
    assert (track["served_now"], track["before_opening"], track["windows_open_at"]) == (False, False, None)
    assert _service(hall, "id-card")["before_opening"] is False
    page = _page_body(hall, ticket)
    assert _says_not_served(page) and not _says_before_opening(page)
    later = hall.issue("id-card")
    assert (later["served_now"], later["before_opening"]) == (False, False)


def test_a_queue_nobody_serves_is_not_served_now_everywhere(hall: AppHall) -> None:
    hall.act("w4", "open")  # the day has begun (water's window opened and closed): "ask the desk" applies
    hall.act("w4", "close")
    ticket = hall.issue("id-card")
    assert (ticket["served_now"], ticket["ahead"]) == (False, 0)
    assert _track(hall, ticket)["served_now"] is False
    assert _service(hall, "id-card")["served_now"] is False
    page = _page_body(hall, ticket)
    assert NOT_SERVED_ZH in page and _says_not_served(page) and "即将" not in page
    english = _page_body(hall, ticket, "?lang=en")
    assert NOT_SERVED_EN in english and _says_not_served(english)
    hall.act("w3", "open")  # w3 serves id-card too
    assert _track(hall, ticket)["served_now"] is True
    assert _service(hall, "id-card")["served_now"] is True
    assert not _says_not_served(_page_body(hall, ticket))


def test_an_away_counters_queue_is_served_while_its_partner_covers(hall: AppHall) -> None:
    hall.act("w1", "open")
    hall.act("w2", "open")
    assert hall.act("w1", "away").status_code == 200
    ticket = hall.issue("id-card")  # only w1 (away, covered by w2) and w3 (closed) serve it
    assert ticket["served_now"] is True and _service(hall, "id-card")["served_now"] is True
    assert hall.act("w1", "back").status_code == 200
    assert hall.act("w1", "close").status_code == 200
    assert _track(hall, ticket)["served_now"] is False and _service(hall, "id-card")["served_now"] is False
    assert _service(hall, "social")["served_now"] is True  # w2 is still open


def test_a_ticket_sent_to_a_counter_is_served_only_while_that_counter_is(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "transfer", {"counter": "w3"})
    sent = hall.get("/api/v1/halls/town/ledger?from=2000-01-01&to=2999-12-31", hall.admin_token()).json()[0]
    assert sent["status"] == "waiting"
    hall.act("w4", "open")
    assert hall.act("w3", "away").status_code == 200  # covered by w4: still served
    listener = hall.listen("/kiosk", "kiosk=k1")
    try:
        first = listener.wait_for("services")
        assert next(s for s in first if s["id"] == "water")["served_now"] is True  # w4 is open
        assert hall.act("w3", "back").status_code == 200
        assert hall.act("w4", "close").status_code == 200
        later = listener.wait_for(
            "services", lambda body: next(s for s in body if s["id"] == "water")["served_now"] is False
        )
        assert next(s for s in later if s["id"] == "id-card")["served_now"] is True  # w1, w3 open
    finally:
        listener.close()


def test_the_track_namespace_carries_served_now_and_follows_a_counter_opening(hall: AppHall) -> None:
    ticket = hall.issue("social")
    token = ticket["track_url"].rsplit("/", 1)[1]
    listener = hall.listen("/track", f"token={token}")
    try:
        assert listener.wait_for("ticket")["served_now"] is False
        hall.act("w2", "open")
        assert listener.wait_for("ticket", lambda body: body["served_now"] is True)["ahead"] == 0
    finally:
        listener.close()


def test_a_few_very_short_services_do_not_promise_no_wait_to_people_behind(hall: AppHall) -> None:
    """id-card's configured prior is 240 s; two services of about a second must not bring it near zero."""
    hall.act("w1", "open")
    tickets = [hall.issue("id-card") for _ in range(4)]
    for _ in range(2):
        hall.act("w1", "call-next")
        hall.act("w1", "start")
        hall.advance(1.1)
        assert hall.act("w1", "finish", {"outcome": "consulted"}).json()["ticket"]["service_s"] >= 1
    last = _track(hall, tickets[3])
    assert last["ahead"] == 1 and last["served_now"] is True
    assert last["est_wait_s"] >= 240, "one person ahead, served by one window: at least the configured prior"
    assert _service(hall, "id-card")["est_wait_s"] >= 2 * 240
