"""/admin's view of outbound events: deliveries (status, tries, last answer), a re-send, and the alert on a
receiver that keeps failing (PROTOCOL v1.2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from support.app import AppHall
from support.receiver import Receiver, deliveries, hooks, recorded

from server.services import alerts


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def failed_once(make_app_hall: Callable[..., AppHall], receiver: Receiver, kind: str) -> tuple[AppHall, str]:
    """A hall whose receiver is down: its one event failed for good after its hour of retries."""
    app = make_app_hall(kind, edit=hooks(receiver.url(), events='events = ["ticket.issued"]\nretry_hours = 1\n'))
    receiver.failures = 10**6
    ticket = app.issue("id-card")
    recorded(app, lambda rows: rows[0].tries == 1)
    app.advance(3700)
    app.hallq.sender.wake()
    recorded(app, lambda rows: rows[0].status == "failed")
    return app, ticket["id"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failed_delivery_is_listed_with_its_answer_and_sent_again_on_request(
    make_app_hall: Callable[..., AppHall], receiver: Receiver, kind: str
) -> None:
    app, ticket = failed_once(make_app_hall, receiver, kind)
    admin = app.admin_token()
    [listed] = app.get("/api/v1/halls/town/deliveries", admin).json()
    assert (listed["event"], listed["target"], listed["subject"]) == ("ticket.issued", receiver.url(), ticket)
    assert (listed["status"], listed["tries"], listed["last_status"], listed["last_answer"]) == (
        "failed",
        2,
        503,
        "down",
    )
    assert app.get("/api/v1/halls/town/deliveries?status=sent", admin).json() == []
    bad = app.get("/api/v1/halls/town/deliveries?status=lost", admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_query"
    # Another hall's supervisor sees none of it and cannot re-send it.
    east = app.token("--role", "supervisor", "--hall", "east")
    assert app.get("/api/v1/halls/town/deliveries", east).status_code == 403
    assert app.post(f"/api/v1/deliveries/{listed['id']}/resend", token=east).status_code == 403
    assert app.post("/api/v1/deliveries/99999/resend", token=admin).status_code == 404
    assert app.post("/api/v1/deliveries/x'1/resend", token=admin).status_code == 404
    # The receiver is back: 重推 sends it now, once.
    receiver.failures = 0
    town = app.token("--role", "supervisor", "--hall", "town")
    again = app.post(f"/api/v1/deliveries/{listed['id']}/resend", token=town)
    assert again.status_code == 200 and again.json()["status"] == "pending"
    [row] = recorded(app, lambda rows: rows[0].status == "sent")
    assert row.tries == 3 and row.last_status == 200
    assert [b["data"]["ticket"] for b in receiver.events()] == [ticket]


def test_a_receiver_that_keeps_failing_raises_an_alert_until_it_recovers(
    make_app_hall: Callable[..., AppHall], receiver: Receiver
) -> None:
    app, _ = failed_once(make_app_hall, receiver, "sqlite")
    [alert] = [a for a in alerts.scan(app.ctx, "town", app.hallq.printer_state) if a["kind"] == "webhook_failing"]
    assert alert["detail"] == {"target": receiver.url(), "failed": 1, "retrying": 0}
    listed = app.get("/api/v1/halls/town/alerts", app.admin_token()).json()
    assert [a["kind"] for a in listed if a["kind"] == "webhook_failing"] == ["webhook_failing"]
    receiver.failures = 0
    [d] = deliveries(app)
    app.post(f"/api/v1/deliveries/{d.id}/resend", token=app.admin_token())
    recorded(app, lambda rows: rows[0].status == "sent")
    cleared = [a for a in alerts.scan(app.ctx, "town", app.hallq.printer_state) if a["kind"] == "webhook_failing"]
    assert cleared and cleared[0]["cleared_at"] is not None


def test_the_admin_page_lists_deliveries_and_sends_one_again(
    make_app_hall: Callable[..., AppHall], receiver: Receiver
) -> None:
    app, _ = failed_once(make_app_hall, receiver, "sqlite")
    app.add_user("boss", "supervisor", hall="town")
    browser = app.browser()
    form = browser.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    browser.post(
        "/login", data={"csrf": csrf.group(1), "username": "boss", "password": "correct-horse", "next": "/admin"}
    )
    page = browser.get("/admin/deliveries")
    assert page.status_code == 200
    assert "事件推送" in page.text and "ticket.issued" in page.text and receiver.url() in page.text
    assert "失败" in page.text and "重新推送" in page.text and "503 · down" in page.text
    [d] = deliveries(app)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert token
    r = browser.post(f"/api/v1/deliveries/{d.id}/resend", headers={"X-CSRF-Token": token.group(1)})
    assert r.status_code == 200
    assert "事件推送" in browser.get("/admin").text, "the console links the page"
    assert browser.get("/admin/deliveries?hall=east").status_code == 403
