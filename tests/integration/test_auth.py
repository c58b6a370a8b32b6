"""Staff logins with sessions and CSRF, token revocation, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.app import AppHall, Browser, csrf_of
from support.server import hallq


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """Logins, sessions and tokens, driven in-process through Flask's test client (support/app.py)."""
    return app_hall


def _login(hall: AppHall, username: str, password: str) -> tuple[Browser, int]:
    """A visitor who filled in the login form: (their browser, the answer's status)."""
    browser = hall.browser()
    csrf = csrf_of(browser.get("/login").text)
    form = {"csrf": csrf, "username": username, "password": password, "next": "/counter"}
    r = browser.post("/login", data=form, allow_redirects=False)
    return browser, r.status_code


def test_a_clerk_logs_in_and_works_a_counter_with_the_csrf_header(hall: AppHall) -> None:
    hall.add_user("clerk1", "clerk", "correct-horse", "town")
    s, status = _login(hall, "clerk1", "correct-horse")
    assert status == 302
    assert s.cookie("session")
    no_csrf = s.post("/api/v1/counters/w1/open")
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    csrf = csrf_of(s.get("/login").text)  # any page renders the session's token
    assert s.post("/api/v1/counters/w1/sign-in", headers={"X-CSRF-Token": csrf}).status_code == 200
    ok = s.post("/api/v1/counters/w1/open", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["counter"]["state"] == "open"
    other_hall = s.post("/api/v1/counters/e1/open", headers={"X-CSRF-Token": csrf})
    assert other_hall.status_code == 403
    assert s.get("/counter").status_code == 200


def test_a_wrong_password_does_not_log_in(hall: AppHall) -> None:
    hall.add_user("clerk2", "clerk", "correct-horse", "town")
    s, status = _login(hall, "clerk2", "wrong-horse")
    assert status == 401
    assert s.post("/api/v1/counters/w1/open").status_code == 401
    _, nobody = _login(hall, "nobody", "whatever-pass")
    assert nobody == 401


def test_login_without_the_form_token_is_refused(hall: AppHall) -> None:
    hall.add_user("clerk3", "clerk", "correct-horse", "town")
    r = hall.browser().post("/login", data={"username": "clerk3", "password": "correct-horse"})
    assert r.status_code == 400


def test_counter_page_sends_strangers_to_login(hall: AppHall) -> None:
    r = hall.get("/counter", allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_token_revoked_by_the_cli_stops_working_at_once(hall: AppHall) -> None:
    from server.auth import create_token

    token = create_token(hall.ctx, "counter", counter="w3")
    assert hall.post("/api/v1/counters/w3/open", token=token).status_code == 200
    token_id = token.split(".")[0].removeprefix("hq_")
    done = hallq("token", "revoke", token_id, "--config", str(hall.config))
    assert done.returncode == 0, done.stderr
    assert hall.post("/api/v1/counters/w3/close", token=token).status_code == 401


@pytest.fixture
def strict(make_app_hall: Callable[..., AppHall]) -> AppHall:
    """The app with the default (low) rate limits."""
    return make_app_hall(
        limits="tickets_per_minute = 5\nratings_per_minute = 2",
        edit=lambda text: text.replace("ratings_per_minute = 100000\n", ""),
    )


def test_issuing_too_fast_from_one_address_is_429(strict: AppHall) -> None:
    codes = [strict.post("/api/v1/halls/town/tickets", {"service": "id-card"}).status_code for _ in range(8)]
    assert codes[:5] == [201] * 5
    assert 429 in codes[5:]
    r = strict.post("/api/v1/halls/town/tickets", {"service": "id-card"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


def test_a_replayed_tap_is_answered_and_not_counted_against_the_limit(strict: AppHall) -> None:
    """A kiosk retrying a lost answer (the same Idempotency-Key) gets its ticket again, even at the limit, and
    the retry costs no ticket of the limit (5 a minute here). A stranger over the limit gets 429 whatever its
    key: no lookup on its behalf, so the limit still bounds what it can probe."""
    kiosk = {"Authorization": f"Bearer {strict.kiosk_token()}"}

    def tap(key: str, service: str = "id-card", **headers: str) -> Any:
        body = {"service": service, "kiosk": "k1"} if headers else {"service": service}
        return strict.post("/api/v1/halls/town/tickets", body, headers={"Idempotency-Key": key, **headers})

    first = tap("tap-0000000000000001", **kiosk)
    assert first.status_code == 201
    for _ in range(3):  # three retries of the first tap: the same ticket, nothing counted
        again = tap("tap-0000000000000001", **kiosk)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    fresh = [tap(f"tap-000000000000001{i}", **kiosk).status_code for i in range(4)]
    assert fresh == [201] * 4  # the limit's other four taps are all still there
    assert tap("tap-0000000000000099", **kiosk).status_code == 429
    late = tap("tap-0000000000000001", **kiosk)  # at the limit, a retry is still answered with its ticket
    assert late.status_code == 201 and late.json()["id"] == first.json()["id"]
    wrong = tap("tap-0000000000000001", "social", **kiosk)  # the same key for another service: not a retry
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "idempotency_key_reused"

    anonymous = tap("tap-0000000000000101")
    assert anonymous.status_code == 201  # an address has its own bucket, and replays cost it nothing either
    assert [tap("tap-0000000000000101").json()["id"] for _ in range(5)] == [anonymous.json()["id"]] * 5
    assert [tap(f"tap-000000000000011{i}").status_code for i in range(4)] == [201] * 4
    assert tap("tap-0000000000000101").status_code == 429  # over the limit, a stranger's key is not looked up


def test_rating_too_fast_is_429(strict: AppHall) -> None:
    codes = [strict.post("/api/v1/track/" + "q" * 32 + "/rating", {"level": 5}).status_code for _ in range(2)]
    assert codes == [404, 404]  # unknown tokens are answered before the limiter counts
    token = strict.post("/api/v1/halls/town/tickets", {"service": "id-card"}).json()["track_url"].rsplit("/", 1)[1]
    codes = [strict.post(f"/api/v1/track/{token}/rating", {"level": 5}).status_code for _ in range(4)]
    assert codes[:2] == [409, 409] and 429 in codes[2:]


def test_behind_a_trusted_proxy_each_resident_has_their_own_limit(make_app_hall: Callable[..., AppHall]) -> None:
    server = make_app_hall(extra_server="proxy_hops = 1", limits="tickets_per_minute = 2")

    def issue(addr: str) -> int:
        r = server.post("/api/v1/halls/town/tickets", {"service": "id-card"}, headers={"X-Forwarded-For": addr})
        return r.status_code

    assert [issue("198.51.100.7") for _ in range(3)] == [201, 201, 429]
    assert issue("198.51.100.8") == 201, "another resident behind the same proxy is not limited"


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(make_app_hall: Callable[..., AppHall]) -> None:
    """A client reaching the server's port directly cannot pick a new address per request to dodge its limit."""
    server = make_app_hall(extra_server="proxy_hops = 1", limits="tickets_per_minute = 2")

    def issue(peer: str, forwarded: str) -> int:
        r = server.post(
            "/api/v1/halls/town/tickets", {"service": "id-card"},
            headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": peer},
        )  # fmt: skip
        return r.status_code

    assert [issue("203.0.113.9", f"198.51.100.{i}") for i in range(3)] == [201, 201, 429]
    assert issue("127.0.0.1", "198.51.100.50") == 201, "nginx on the same machine (trusted_proxies) is believed"
