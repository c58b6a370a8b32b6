"""Staff logins with sessions and CSRF, token revocation, rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from support.server import Server, hallq


def _login(hall: Server, username: str, password: str) -> requests.Session:
    s = requests.Session()
    page = s.get(hall.url + "/login", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = s.post(
        hall.url + "/login",
        data={"csrf": csrf, "username": username, "password": password, "next": "/counter"},
        allow_redirects=False,
        timeout=10,
    )
    s.headers["X-Test-Login-Status"] = str(r.status_code)
    return s


def _add_user(hall: Server, name: str, role: str, password: str = "correct-horse", *extra: str) -> None:
    done = hallq("user", "add", name, "--role", role, *extra, "--config", str(hall.config), stdin=password + "\n")
    assert done.returncode == 0, done.stderr


def test_a_clerk_logs_in_and_works_a_counter_with_the_csrf_header(hall: Server) -> None:
    _add_user(hall, "clerk1", "clerk", "correct-horse", "--hall", "town")
    s = _login(hall, "clerk1", "correct-horse")
    assert s.headers["X-Test-Login-Status"] == "302"
    cookie = s.cookies.get("session")
    assert cookie
    no_csrf = s.post(hall.url + "/api/v1/counters/w1/open", timeout=10)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    page = s.get(hall.url + "/login", timeout=10)  # any page renders the session's token
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    ok = s.post(hall.url + "/api/v1/counters/w1/open", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert ok.status_code == 200 and ok.json()["counter"]["state"] == "open"
    other_hall = s.post(hall.url + "/api/v1/counters/e1/open", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert other_hall.status_code == 403
    assert s.get(hall.url + "/counter", timeout=10).status_code == 200


def test_a_wrong_password_does_not_log_in(hall: Server) -> None:
    _add_user(hall, "clerk2", "clerk", "correct-horse", "--hall", "town")
    s = _login(hall, "clerk2", "wrong-horse")
    assert s.headers["X-Test-Login-Status"] == "401"
    assert s.post(hall.url + "/api/v1/counters/w1/open", timeout=10).status_code == 401
    nobody = _login(hall, "nobody", "whatever-pass")
    assert nobody.headers["X-Test-Login-Status"] == "401"


def test_login_without_the_form_token_is_refused(hall: Server) -> None:
    _add_user(hall, "clerk3", "clerk", "correct-horse", "--hall", "town")
    r = requests.post(
        hall.url + "/login", data={"username": "clerk3", "password": "correct-horse"}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 400


def test_counter_page_sends_strangers_to_login(hall: Server) -> None:
    r = requests.get(hall.url + "/counter", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_revoked_token_stops_working(hall: Server) -> None:
    token = hallq("token", "create", "--counter", "w3", "--config", str(hall.config)).stdout.strip().splitlines()[-1]
    assert hall.post("/api/v1/counters/w3/open", token=token).status_code == 200
    token_id = token.split(".")[0].removeprefix("hq_")
    done = hallq("token", "revoke", token_id, "--config", str(hall.config))
    assert done.returncode == 0, done.stderr
    assert hall.post("/api/v1/counters/w3/close", token=token).status_code == 401


@pytest.fixture
def strict(start_server: Callable[..., Server]) -> Server:
    """A server with the default (low) rate limits."""
    return start_server(
        limits="tickets_per_minute = 5\nratings_per_minute = 2",
        edit=lambda text: text.replace("ratings_per_minute = 100000\n", ""),
    )


def test_issuing_too_fast_from_one_address_is_429(strict: Server) -> None:
    codes = [strict.post("/api/v1/halls/town/tickets", {"service": "id-card"}).status_code for _ in range(8)]
    assert codes[:5] == [201] * 5
    assert 429 in codes[5:]
    r = strict.post("/api/v1/halls/town/tickets", {"service": "id-card"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


def test_rating_too_fast_is_429(strict: Server) -> None:
    codes = [strict.post("/api/v1/track/" + "q" * 32 + "/rating", {"level": 5}).status_code for _ in range(2)]
    assert codes == [404, 404]  # unknown tokens are answered before the limiter counts
    token = strict.post("/api/v1/halls/town/tickets", {"service": "id-card"}).json()["track_url"].rsplit("/", 1)[1]
    codes = [strict.post(f"/api/v1/track/{token}/rating", {"level": 5}).status_code for _ in range(4)]
    assert codes[:2] == [409, 409] and 429 in codes[2:]


def test_behind_a_trusted_proxy_each_resident_has_their_own_limit(start_server: Callable[..., Server]) -> None:
    server = start_server(extra_server="proxy_hops = 1", limits="tickets_per_minute = 2")

    def issue(addr: str) -> int:
        r = server.post("/api/v1/halls/town/tickets", {"service": "id-card"}, headers={"X-Forwarded-For": addr})
        return r.status_code

    assert [issue("198.51.100.7") for _ in range(3)] == [201, 201, 429]
    assert issue("198.51.100.8") == 201, "another resident behind the same proxy is not limited"
