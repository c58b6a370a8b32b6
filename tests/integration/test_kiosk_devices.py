"""Only a kiosk prints on its printer (PROTOCOL.md amendment v1.1), and a double tap gives one ticket."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from support.server import Server, hallq

TICKETS = "/api/v1/halls/town/tickets"
KIOSK_BODY = {"service": "id-card", "kiosk": "k1"}


def _waiting(server: Server, service: str = "id-card") -> int:
    services = {s["id"]: s for s in server.get("/api/v1/halls/town/services").json()}
    return int(services[service]["waiting"])


def _enrollment_url(server: Server, kiosk: str = "k1", **body: Any) -> str:
    r = server.post(f"/api/v1/kiosks/{kiosk}/enrollments", body or None, server.admin_token())
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def _enrolled(server: Server, kiosk: str = "k1") -> requests.Session:
    """A browser that opened the kiosk's enrollment link."""
    browser = requests.Session()
    landed = browser.get(_enrollment_url(server, kiosk), timeout=10)
    assert landed.status_code == 200 and landed.url == f"{server.url}/kiosk/{kiosk}"
    return browser


def test_naming_a_kiosk_without_its_credential_is_403_and_issues_nothing(hall: Server) -> None:
    strangers: list[dict[str, str]] = [
        {},
        {"Authorization": f"Bearer {hall.admin_token()}"},
        {"Authorization": f"Bearer {hall.counter_token('w1')}"},
        {"Authorization": f"Bearer {hall.kiosk_token('k2')}"},  # another kiosk's token
        {"Authorization": "Bearer hq_000000000000.not-a-real-secret-at-all"},
        {"Cookie": "hq_kiosk=kd_000000000000.forged-device-secret-xxxx"},
    ]
    for headers in strangers:
        r = hall.post(TICKETS, KIOSK_BODY, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    for headers in ({}, {"Authorization": f"Bearer {hall.kiosk_token()}"}):  # a kiosk that does not exist
        r = hall.post(TICKETS, {**KIOSK_BODY, "kiosk": "nokiosk"}, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), r.text
    assert _waiting(hall) == 0, "nothing was issued"
    r = hall.post(TICKETS, KIOSK_BODY, hall.kiosk_token())
    assert r.status_code == 201 and r.json()["number"] == "A001", "the refusals used up no number"
    assert hall.post(TICKETS, {"service": "id-card"}).status_code == 201, "without a kiosk no credential is needed"


def test_a_kiosk_token_works_no_counter(hall: Server) -> None:
    r = hall.post("/api/v1/counters/w1/open", token=hall.kiosk_token())
    assert r.status_code == 403


def test_an_enrollment_link_enrolls_one_browser_with_an_httponly_cookie(hall: Server) -> None:
    url = _enrollment_url(hall)
    browser = requests.Session()
    first = browser.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 303 and first.headers["Location"].endswith("/kiosk/k1")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("hq_kiosk=kd_")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        assert attribute in cookie, cookie
    assert browser.post(hall.url + TICKETS, json=KIOSK_BODY, timeout=10).status_code == 201
    again = browser.get(url, allow_redirects=False, timeout=10)
    assert again.status_code == 303, "the enrolled browser opening its link again just lands on its page"
    other = requests.get(url, timeout=10)
    assert other.status_code == 403 and "<html" in other.text, "the link is used up: a second browser is refused"
    assert requests.post(hall.url + TICKETS, json=KIOSK_BODY, timeout=10).status_code == 403


def test_a_device_cookie_is_for_its_own_kiosk_only_and_revocable(hall: Server) -> None:
    browser = _enrolled(hall, "k1")
    r = browser.post(hall.url + "/api/v1/halls/east/tickets", json={"service": "id-card", "kiosk": "k2"}, timeout=10)
    assert r.status_code == 403
    # its own credential naming it in another hall: that hall has no such kiosk (docs/api.md)
    r = browser.post(hall.url + "/api/v1/halls/east/tickets", json={"service": "id-card", "kiosk": "k1"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert browser.post(hall.url + TICKETS, json=KIOSK_BODY, timeout=10).status_code == 201
    done = hallq("kiosk", "revoke", "k1", "--config", str(hall.config))
    assert done.returncode == 0 and "revoked 1" in done.stdout, done.stdout + done.stderr
    assert browser.post(hall.url + TICKETS, json=KIOSK_BODY, timeout=10).status_code == 403


def test_enrollment_links_are_made_by_managers_and_expire(hall: Server) -> None:
    path = "/api/v1/kiosks/k1/enrollments"
    assert hall.post(path).status_code == 401
    assert hall.post(path, token=hall.counter_token("w1")).status_code == 403
    assert hall.post(path, token=hall.kiosk_token()).status_code == 403
    assert hall.post("/api/v1/kiosks/nope/enrollments", token=hall.admin_token()).status_code == 404
    bad = hall.post(path, {"valid_minutes": 0}, hall.admin_token())
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_body"
    r = hall.post(path, {"valid_minutes": 5}, hall.admin_token())
    assert r.status_code == 201 and r.json()["kiosk"] == "k1" and r.json()["expires_at"]
    forged = requests.get(f"{hall.url}/kiosk/k1/enroll?code=AAAAAAAAAAAAAAAAAAAAAAAAAAAA", timeout=10)
    assert forged.status_code == 403
    wrong_kiosk = requests.get(r.json()["url"].replace("/kiosk/k1/", "/kiosk/k2/"), timeout=10)
    assert wrong_kiosk.status_code == 403, "a code enrolls only the kiosk it was made for"


# -- idempotency: one key per tap ------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_ticket(hall: Server) -> None:
    token, key = hall.kiosk_token(), "3f2b5c1e-9a7d-4e21-b0c4-5d6e7f809a1b"
    first = hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": key})
    hall.issue("id-card")  # the queue moves on: a replay still answers exactly what the first call did
    again = hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert _waiting(hall) == 2
    other = hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": key.replace("3f", "4f")})
    assert other.json()["number"] == "A003", "a new tap is a new ticket"


def test_a_double_tap_at_once_issues_one_ticket(hall: Server) -> None:
    token, key = hall.kiosk_token(), "double-tap-0123456789abcdef"
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": key}), range(8))
        )
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert _waiting(hall) == 1


def test_an_idempotency_key_is_for_one_request_and_well_formed(hall: Server) -> None:
    token, key = hall.kiosk_token(), "reused-key-0123456789abcdef"
    assert hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": key}).status_code == 201
    for body in ({"service": "social", "kiosk": "k1"}, {**KIOSK_BODY, "priority": True}):
        r = hall.post(TICKETS, body, token, headers={"Idempotency-Key": key})
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused", r.text
    for bad in ("short", "x" * 65, "spaces are not allowed here", "中文中文中文中文中文中文中文中文"):
        r = hall.post(TICKETS, KIOSK_BODY, token, headers={"Idempotency-Key": bad.encode().decode("latin-1")})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_idempotency_key"
    anonymous = hall.post(TICKETS, {"service": "id-card"}, headers={"Idempotency-Key": key})
    assert anonymous.status_code == 201 and anonymous.json()["number"] == "A002", "keys are per kiosk"
    assert _waiting(hall) == 2


# -- rate limits key on the verified kiosk ---------------------------------------------------------------


@pytest.fixture
def limited(start_server: Callable[..., Server]) -> Server:
    return start_server(limits="tickets_per_minute = 2")


def test_rate_limits_count_the_verified_kiosk_not_strangers_naming_it(limited: Server) -> None:
    token = limited.kiosk_token()
    for _ in range(5):
        assert limited.post(TICKETS, KIOSK_BODY).status_code == 403  # spends nothing of k1's bucket
    assert [limited.post(TICKETS, KIOSK_BODY, token).status_code for _ in range(3)] == [201, 201, 429]
    assert limited.post(TICKETS, {"service": "id-card"}).status_code == 201, "this address has its own bucket"


def test_services_carry_the_kiosk_group_and_when_a_closed_one_opens(hall: Server) -> None:
    services = {s["id"]: s for s in hall.get("/api/v1/halls/town/services").json()}
    assert {s["group"] for s in services.values()} == {"admin", "life"}
    assert services["water"]["group"] == "life" and services["id-card"]["group"] == "admin"
    assert services["id-card"]["opens_at"] is None, "open now"
    assert services["closed"]["open"] is False and services["closed"]["opens_at"] is None, "disabled: no date"
