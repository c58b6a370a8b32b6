"""Login throttling counts a try when it lets it through: tries sent at once are held to the same limits.

The count used to come after the password check, so tries sent together all passed a check made before any
of them had failed (60 parallel logins on PostgreSQL: 55 passwords checked). Checked on the in-memory store
and on Redis (what several processes share), and through a real server with logins sent in parallel.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from support.env import REDIS_URL, ROOT
from support.server import Server

from server.throttle import ACCOUNT, ADDRESS, LoginThrottle

NOW = 1_000_000.0


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest) -> Iterator[LoginThrottle]:
    if request.param == "memory":
        yield LoginThrottle()
        return
    client = redis.Redis.from_url(REDIS_URL)
    channel = f"test-throttle-{secrets.token_hex(4)}"
    try:
        yield LoginThrottle(client, channel)
    finally:
        for key in client.scan_iter(f"{channel}:*"):
            client.delete(key)
        client.close()


def test_tries_let_through_count_before_their_outcome_is_known(throttle: LoginThrottle) -> None:
    waits = [throttle.attempt("lee", "198.51.100.1", NOW) for _ in range(10)]
    # 5 free failures, and the 6th (which sets the first lock): nothing more until someone says how they went
    assert waits[: ACCOUNT.free + 1] == [0] * (ACCOUNT.free + 1)
    assert all(w >= 1 for w in waits[ACCOUNT.free + 1 :]), waits
    assert throttle.attempt("lee", "198.51.100.1", NOW + 1.5) == 0  # the 1 s lock has passed: one more try


def test_a_right_password_gives_its_try_back(throttle: LoginThrottle) -> None:
    for i in range(3 * ADDRESS.free):  # clerks behind one address logging in all day are never locked out
        assert throttle.attempt(f"clerk{i}", "203.0.113.5", NOW + i) == 0
        throttle.succeeded(f"clerk{i}", "203.0.113.5")
    for _ in range(ACCOUNT.free):  # and an account's failures end with its right password
        assert throttle.attempt("ann", "203.0.113.5", NOW) == 0
    throttle.succeeded("ann", "203.0.113.5")
    assert [throttle.attempt("ann", "203.0.113.5", NOW) for _ in range(ACCOUNT.free + 1)] == [0] * (ACCOUNT.free + 1)


def test_a_try_the_address_refuses_costs_the_account_nothing(throttle: LoginThrottle) -> None:
    for i in range(ADDRESS.free + 1):  # the address is locked (its 21st try sets a lock of 1 s)
        assert throttle.attempt(f"guess{i}", "192.0.2.7", NOW) == 0
    for _ in range(10):
        assert throttle.attempt("mo", "192.0.2.7", NOW) >= 1
    assert [throttle.attempt("mo", "192.0.2.8", NOW) for _ in range(ACCOUNT.free + 1)] == [0] * (ACCOUNT.free + 1)


def _login(base: str, username: str) -> int:
    with requests.Session() as http:
        page = http.get(f"{base}/login", timeout=30).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None, page[:300]
        r = http.post(
            f"{base}/login",
            data={"csrf": csrf.group(1), "username": username, "password": "not-the-password"},
            allow_redirects=False,
            timeout=60,
        )
        return r.status_code


def test_logins_sent_at_once_check_no_more_passwords_than_one_at_a_time(
    start_server: Callable[..., Server],
) -> None:
    hall = start_server("postgres")
    hall.add_user("lee", "clerk", "pass-word-1", "town")
    with ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(lambda _: _login(hall.url, "lee"), range(30)))
    assert sorted(set(codes)) == [401, 429], codes
    assert codes.count(401) == ACCOUNT.free + 1, codes  # the passwords checked: as many as one at a time


def test_a_password_is_checked_off_the_hub_while_other_requests_go_on() -> None:
    """Under eventlet the argon2 check runs in a worker thread: green threads make progress meanwhile."""
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        from eventlet import patcher
        from server.auth import off_hub
        real_time = patcher.original("time")
        ticks = []
        def other():
            while True:
                ticks.append(1)
                eventlet.sleep(0.01)
        eventlet.spawn(other)
        eventlet.sleep(0)
        off_hub(real_time.sleep, 0.5)  # holds its own thread, as argon2 holds the CPU
        print(len(ticks))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) >= 5, done.stdout  # the other green thread ran while the call held
