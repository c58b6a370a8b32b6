"""Staff sessions that really end, the clerk who may act at a counter, login throttling and `next=`.

In-process (support/app.py): the app's clock is a TestClock, so idle timeouts and backoffs pass at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.app import AppHall, Browser, Reply, csrf_of
from support.server import hallq

PASSWORD = "correct-horse"


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def _try_login(browser: Browser, username: str, password: str, nxt: str = "/counter", **kw: Any) -> Reply:
    csrf = csrf_of(browser.get("/login").text)
    form = {"csrf": csrf, "username": username, "password": password, "next": nxt}
    return browser.post("/login", data=form, allow_redirects=False, **kw)


class Staff:
    """A logged-in browser that sends its session's CSRF token with API writes."""

    def __init__(self, hall: AppHall, name: str, role: str = "clerk") -> None:
        hall.add_user(name, role, PASSWORD, "town")
        self.hall, self.name, self.browser = hall, name, hall.browser()
        r = _try_login(self.browser, name, PASSWORD)
        assert r.status_code == 302, r.text
        self.csrf = csrf_of(self.browser.get("/login").text)

    def act(self, counter: str, action: str, body: object = None) -> Reply:
        kw = {"json": body} if body is not None else {}
        return self.browser.post(f"/api/v1/counters/{counter}/{action}", headers={"X-CSRF-Token": self.csrf}, **kw)

    def logout(self) -> Reply:
        return self.browser.post("/logout", data={"csrf": self.csrf}, allow_redirects=False)

    def copy(self) -> Browser:
        """Another browser holding a copy of this one's cookie (kept, stolen, or a second tab)."""
        other = self.hall.browser()
        value = self.browser.cookie("session")
        assert value
        other.client.set_cookie("session", value)
        return other


def _ledger(hall: AppHall) -> list[dict[str, Any]]:
    day = hall.ctx.hall("town").day_of(hall.ctx.clock.now())
    r = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token())
    assert r.status_code == 200, r.text
    return list(r.json())


# --- who may act at a counter ------------------------------------------------------------------------


def test_a_clerk_acts_only_at_the_counter_they_are_signed_in_at(hall: AppHall) -> None:
    anna, ben = Staff(hall, "anna"), Staff(hall, "ben")
    assert anna.act("w1", "sign-in").status_code == 200
    assert ben.act("w2", "sign-in").status_code == 200
    hall.issue("id-card")
    assert anna.act("w1", "open").status_code == 200
    for action, body in [("call-next", None), ("open", None), ("close", None), ("away", {"reason": "会议"})]:
        r = ben.act("w1", action, body)  # ben is signed in at w2, not w1
        assert r.status_code == 403, (action, r.text)
        assert r.json()["error"]["code"] == "not_signed_in"
    nobody = Staff(hall, "cara")  # logged in, signed in nowhere
    assert nobody.act("w1", "call-next").status_code == 403
    called = anna.act("w1", "call-next").json()["ticket"]
    assert called is not None
    assert ben.act("w1", "finish", {"outcome": "completed"}).status_code == 403
    assert anna.act("w1", "finish", {"outcome": "completed"}).status_code == 200
    row = next(r for r in _ledger(hall) if r["id"] == called["id"])
    assert row["clerk"] == "anna", "the ledger names the clerk who really served"


def test_a_takeover_is_explicit_recorded_and_then_the_new_clerk_acts(hall: AppHall) -> None:
    anna, ben = Staff(hall, "anna2"), Staff(hall, "ben2")
    anna.act("w1", "sign-in")
    anna.act("w1", "open")
    assert ben.act("w1", "sign-in").status_code == 409  # not in passing
    assert ben.act("w1", "sign-in", {"takeover": True}).status_code == 200
    hall.issue("id-card")
    called = ben.act("w1", "call-next")
    assert called.status_code == 200, called.text
    assert anna.act("w1", "recall").status_code == 403, "the clerk taken over from no longer acts there"
    ben.act("w1", "finish", {"outcome": "completed"})
    row = next(r for r in _ledger(hall) if r["id"] == called.json()["ticket"]["id"])
    assert row["clerk"] == "ben2"
    from sqlalchemy import select

    from server.store.models import LedgerRow

    with hall.ctx.db.read() as s:
        lines = [(r.kind, r.clerk, r.detail) for r in s.scalars(select(LedgerRow).where(LedgerRow.counter_id == "w1"))]
    assert ("signed_out", "anna2", {"taken_over_by": "ben2"}) in lines
    assert ("signed_in", "ben2", {"took_over_from": "anna2"}) in lines


def test_counter_tokens_and_admins_act_as_the_contract_says_and_reads_stay_open(hall: AppHall) -> None:
    anna, ben = Staff(hall, "anna3"), Staff(hall, "ben3")
    anna.act("w1", "sign-in")
    assert hall.act("w1", "open").status_code == 200  # the counter's own token (a call button)
    assert hall.post("/api/v1/counters/w1/close", token=hall.admin_token()).status_code == 200
    boss = Staff(hall, "boss", "admin")
    assert boss.act("w1", "open").status_code == 200  # an admin's session acts anywhere, named as itself
    assert ben.browser.get("/api/v1/counters/w1/desk").status_code == 200  # looking is not acting
    assert ben.browser.get("/api/v1/counters/w1").status_code == 200


# --- sessions that end ---------------------------------------------------------------------------------


def test_a_cookie_kept_after_logout_is_worth_nothing(hall: AppHall) -> None:
    dan = Staff(hall, "dan")
    kept = dan.copy()
    assert kept.get("/api/v1/counters/w1/desk").status_code == 200
    assert dan.logout().status_code == 302
    assert kept.get("/api/v1/counters/w1/desk").status_code == 401
    page = kept.get("/counter", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    admin_page = kept.get("/admin", allow_redirects=False)
    assert admin_page.status_code == 302 and admin_page.headers["Location"].startswith("/login")


def test_a_new_password_and_disabling_end_every_session(hall: AppHall) -> None:
    eve = Staff(hall, "eve")
    hall.add_user("eve", "clerk", "another-horse", "town")  # `hallq user add` again: a password change
    assert eve.browser.get("/api/v1/counters/w1/desk").status_code == 401
    fay = Staff(hall, "fay")
    fay.act("w2", "sign-in")
    done = hallq("user", "disable", "fay", "--config", str(hall.config))
    assert done.returncode == 0 and done.stdout.strip() == "user fay disabled", done
    assert fay.browser.get("/api/v1/counters/w2/desk").status_code == 401
    assert _try_login(hall.browser(), "fay", PASSWORD).status_code == 401
    assert hall.get("/api/v1/counters/w2/desk", hall.admin_token()).json()["counter"]["clerk"] is None
    done = hallq("user", "enable", "fay", "--config", str(hall.config))
    assert done.returncode == 0, done
    assert fay.browser.get("/api/v1/counters/w2/desk").status_code == 401, "the old session stays ended"
    assert _try_login(hall.browser(), "fay", PASSWORD).status_code == 302


def test_a_session_left_idle_ends_and_one_in_use_lives_on(make_app_hall: Callable[..., AppHall]) -> None:
    short = make_app_hall(extra_server="session_idle_minutes = 30")
    busy, idle = Staff(short, "gus"), Staff(short, "hal")
    for _ in range(3):
        short.advance(20 * 60)  # 60 minutes in all: busy works every 20 minutes
        assert busy.browser.get("/api/v1/counters/w1/desk").status_code == 200
    assert idle.browser.get("/api/v1/counters/w1/desk").status_code == 401
    default = make_app_hall()
    ivy = Staff(default, "ivy")
    default.advance(7.9 * 3600)
    assert ivy.browser.get("/api/v1/counters/w1/desk").status_code == 200
    default.advance(8.1 * 3600)
    assert ivy.browser.get("/api/v1/counters/w1/desk").status_code == 401


def test_the_session_cookie_keeps_its_flags(hall: AppHall) -> None:
    browser = hall.browser()
    hall.add_user("jo", "clerk", PASSWORD, "town")
    r = _try_login(browser, "jo", PASSWORD)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- live connections end with their credential -------------------------------------------------------


def test_logging_out_disconnects_the_sessions_live_pages_at_once(hall: AppHall) -> None:
    kim = Staff(hall, "kim", "supervisor")
    page = hall.listen("/counter", "counter=w1", browser=kim.browser)
    console = hall.listen("/admin", "hall=town", browser=kim.browser)
    assert page.connected and console.connected
    kim.logout()
    assert not page.connected and not console.connected
    assert hall.refused("/counter", "counter=w1", auth=None)


def test_a_token_revoked_on_the_command_line_disconnects_its_sockets(hall: AppHall) -> None:
    from server.auth import create_token

    token, other = create_token(hall.ctx, "admin"), create_token(hall.ctx, "admin")
    watching = hall.listen("/admin", "hall=town", auth={"token": token})
    staying = hall.listen("/admin", "hall=town", auth={"token": other})
    assert watching.connected
    token_id = token.split(".")[0].removeprefix("hq_")
    done = hallq("token", "revoke", token_id, "--config", str(hall.config))
    assert done.returncode == 0, done
    deadline = time.monotonic() + 10  # no message queue here: this process's sweep finds it (every 2 s)
    while watching.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not watching.connected
    assert staying.connected, "only the revoked token's connections end"


def test_a_socket_swept_while_still_connecting_is_still_cut_when_its_token_ends(
    hall: AppHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Socket.IO counts a connection as connecting (not connected) until its connect handler returns, and the
    handler is where it is noted: a sweep in that moment must not forget it, or its revocation never ends it."""
    from server.auth import create_token, revoke_token

    token = create_token(hall.ctx, "admin")
    watching = hall.listen("/admin", "hall=town", auth={"token": token})
    assert watching.connected
    live = hall.hallq.live
    manager = live.socketio.server.manager
    with monkeypatch.context() as m:
        m.setattr(manager, "is_connected", lambda sid, namespace: False)  # as inside its connect handler
        assert live.sweep() == 0  # its token is still good: nothing to cut
    assert revoke_token(hall.ctx, token.split(".")[0].removeprefix("hq_"))
    live.sweep()
    deadline = time.monotonic() + 5
    while watching.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not watching.connected


# --- throttling ------------------------------------------------------------------------------------------


class StoppedClock:
    """Time that passes only when the test says (advance): backoffs of a second do not run out mid-test."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fresh(make_app_hall: Callable[..., AppHall]) -> AppHall:
    """An app of its own (the shared one's login throttle must not carry these failures into other tests),
    on a clock that stands still between the test's own steps."""
    return make_app_hall(clock=StoppedClock())


def test_wrong_passwords_slow_down_with_a_page_and_the_right_one_gets_in_after_the_backoff(fresh: AppHall) -> None:
    hall = fresh
    hall.add_user("lee", "clerk", PASSWORD, "town")
    browser = hall.browser()
    waits = []
    for _ in range(40):
        r = _try_login(browser, "lee", "wrong-horse")
        if r.status_code == 429:
            found = re.search(r"请在 (\d+) 秒后再试", r.text)
            assert found, r.text
            waits.append(int(found.group(1)))
            hall.advance(int(found.group(1)))  # wait it out, as a patient attacker would
        else:
            assert r.status_code == 401
    assert waits[:4] == [1, 2, 4, 8] and max(waits) == 300 and waits[-1] == 300, waits  # doubling, capped
    assert _try_login(browser, "lee", "wrong-horse").status_code in (401, 429)  # locked now, either way
    locked = _try_login(browser, "lee", PASSWORD)
    assert locked.status_code == 429, "while locked no password is even checked"
    assert locked.headers["Content-Type"].startswith("text/html")
    assert '<html lang="zh-CN"' in locked.text and "登录尝试过多" in locked.text and 'name="password"' in locked.text
    english = _try_login(browser, "lee", PASSWORD, nxt="/counter")
    assert english.status_code == 429
    en = browser.post(
        "/login?lang=en",
        data={"csrf": csrf_of(browser.get("/login?lang=en").text), "username": "lee", "password": PASSWORD},
        allow_redirects=False,
    )
    assert en.status_code == 429 and "Too many login attempts" in en.text
    for _ in range(50):  # hammering a locked account does not make its lock any longer
        assert _try_login(browser, "lee", "wrong-horse").status_code == 429
    hall.advance(300)
    assert _try_login(browser, "lee", PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_slowed_too(fresh: AppHall) -> None:
    hall = fresh
    hall.add_user("mo", "clerk", PASSWORD, "town")
    browser = hall.browser()
    statuses = [_try_login(browser, f"guess{i}", "wrong-horse").status_code for i in range(20)]
    assert statuses == [401] * 20, "20 free failures per address (clerks may share one)"
    assert _try_login(browser, "guess20", "wrong-horse").status_code == 401  # the 21st: locked for 1 s
    locked = _try_login(browser, "mo", PASSWORD)
    assert locked.status_code == 429 and "请在 1 秒后再试" in locked.text, "another account from that address"
    other = hall.browser()
    r = _try_login(other, "mo", PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert r.status_code == 302, "another address is not locked out by this one"


# --- next= --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nxt",
    [
        "//evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\n/evil.example",
        "/counter\r\nSet-Cookie: x=1",
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "/\x00x",
        "/ /evil.example",
        "evil.example",
        "/\u3000/evil.example",
        "/" + "a" * 3000,
    ],
)
def test_next_after_login_goes_only_to_this_sites_paths(hall: AppHall, nxt: str) -> None:
    hall.add_user("ned", "clerk", PASSWORD, "town")
    r = _try_login(hall.browser(), "ned", PASSWORD, nxt=nxt)
    assert r.status_code == 302 and r.headers["Location"] == "/counter"
    page = hall.browser().get("/login", query_string={"next": nxt})
    assert page.status_code == 200 and 'name="next" value="/counter"' in page.text


def test_next_keeps_a_path_of_this_site(hall: AppHall) -> None:
    hall.add_user("ola", "clerk", PASSWORD, "town")
    r = _try_login(hall.browser(), "ola", PASSWORD, nxt="/counter/w2?lang=en")
    assert r.status_code == 302 and r.headers["Location"] == "/counter/w2?lang=en"


# --- the public window state ----------------------------------------------------------------------------------


def test_the_public_window_state_says_staffed_not_who(hall: AppHall) -> None:
    pat = Staff(hall, "pat.secret")
    pat.act("w1", "sign-in")
    pat.act("w1", "open")
    r = hall.get("/display/counter/w1/state")
    assert r.status_code == 200 and r.json()["staffed"] is True
    assert "pat.secret" not in r.text and "clerk" not in r.json()
    page = hall.get("/display/counter/w1")
    assert "pat.secret" not in page.text and "工作人员在岗" in page.text
    assert hall.get("/display/counter/w2/state").json()["staffed"] is False


# --- the commands -------------------------------------------------------------------------------------------


def test_user_and_token_lists_say_what_there_is_and_never_a_secret(tmp_path: Path) -> None:
    data = ["--data", str(tmp_path)]
    made = hallq("token", "create", "--counter", "w1", "--label", "call button 1", *data)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    kiosk = hallq("token", "create", "--kiosk", "k1", *data).stdout.strip().splitlines()[-1]
    token_id = token.split(".")[0].removeprefix("hq_")
    assert hallq("token", "revoke", kiosk.split(".")[0].removeprefix("hq_"), *data).returncode == 0
    clerk = ("user", "add", "qin", "--role", "clerk", "--hall", "town")  # the demo has two halls
    assert hallq(*clerk, *data, stdin="pass-word-1\n").returncode == 0
    assert hallq("user", "add", "ren", "--role", "admin", *data, stdin="pass-word-2\n").returncode == 0
    assert hallq("user", "disable", "ren", *data).returncode == 0

    tokens = hallq("token", "list", *data)
    assert tokens.returncode == 0, tokens.stderr
    lines = tokens.stdout.strip().splitlines()
    assert lines[0].split() == ["id", "role", "hall", "for", "label", "created", "revoked"]
    mine = next(line for line in lines if line.startswith(token_id))
    assert "counter" in mine and "w1" in mine and "call button 1" in mine and mine.split()[-1] == "-"
    revoked = next(line for line in lines if line.startswith(kiosk.split(".")[0].removeprefix("hq_")))
    assert revoked.split()[-1] != "-", "a revoked token says when"
    for secret in (token, kiosk):
        assert secret.split(".")[1] not in tokens.stdout
    from server.auth import _sha

    assert _sha(token.split(".")[1]) not in tokens.stdout

    users = hallq("user", "list", *data)
    assert users.returncode == 0, users.stderr
    rows = {line.split()[0]: line.split() for line in users.stdout.strip().splitlines()[1:]}
    assert rows["qin"][1:4] == ["clerk", "town", "enabled"] and rows["ren"][3] == "disabled"
    assert "argon2" not in users.stdout and "pass-word" not in users.stdout


def test_the_user_commands_answer_help_and_one_line_errors(tmp_path: Path) -> None:
    for words in (["user", "disable"], ["user", "enable"], ["user", "list"], ["token", "list"]):
        helped = hallq(*words, "--help")
        assert helped.returncode == 0 and "--config" in helped.stdout and "--data" in helped.stdout, words
    assert hallq("token", "create", "--counter", "w1", "--data", str(tmp_path)).returncode == 0  # makes the folder
    for words in (["user", "disable", "nobody"], ["user", "enable", "nobody"], ["user", "disable"]):
        bad = hallq(*words, "--data", str(tmp_path))
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, (words, bad.stderr)
        assert "Traceback" not in bad.stderr
    missing = hallq("user", "list", "--data", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no data folder" in missing.stderr
