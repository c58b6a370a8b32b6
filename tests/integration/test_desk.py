"""The clerk at the counter: sign-in and takeover (考勤), who the ledger records, the desk view, notices."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import create_engine, text
from support.server import Server

from server.api.shapes.answers import Desk, Notice


def _user(hall: Server, name: str, role: str = "clerk") -> None:
    hall.add_user(name, role, "pass-word-1", hall="town")


class Clerk:
    """A logged-in browser session, using the CSRF token its pages carry."""

    def __init__(self, hall: Server, name: str) -> None:
        _user(hall, name)
        self.hall, self.s = hall, requests.Session()
        page = self.s.get(hall.url + "/login", timeout=10).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        r = self.s.post(
            hall.url + "/login", data={"csrf": csrf, "username": name, "password": "pass-word-1"}, timeout=10
        )
        assert r.status_code == 200, r.text
        self.csrf = self.token()

    def token(self) -> str:
        page = self.s.get(self.hall.url + "/counter?choose=1", timeout=10).text
        return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    def post(self, path: str, body: object = None) -> requests.Response:
        return self.s.post(self.hall.url + path, json=body, headers={"X-CSRF-Token": self.csrf}, timeout=10)

    def act(self, counter: str, action: str, body: object = None) -> requests.Response:
        return self.post(f"/api/v1/counters/{counter}/{action}", body)

    def desk(self, counter: str) -> dict:
        r = self.s.get(f"{self.hall.url}/api/v1/counters/{counter}/desk", timeout=10)
        assert r.status_code == 200, r.text
        Desk.model_validate(r.json())  # exactly the documented shape, nothing more
        return dict(r.json())


def _ledger(hall: Server, day: str) -> list[dict]:
    r = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}", hall.admin_token())
    assert r.status_code == 200, r.text
    return list(r.json())


def _events(hall: Server, kind: str) -> list[tuple[str | None, str | None]]:
    """(counter, clerk) of the ledger's lines of one kind (sign-in and sign-out have no API of their own)."""
    engine = create_engine(hall.database)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT counter_id, clerk FROM ledger WHERE kind = :k ORDER BY id"), {"k": kind})
            return [(r[0], r[1]) for r in found]
    finally:
        engine.dispose()


def test_a_signed_in_clerk_is_recorded_for_actions_by_the_counters_own_token(hall: Server) -> None:
    anna = Clerk(hall, "anna")
    assert anna.act("w1", "sign-in").status_code == 200
    hall.issue("id-card")
    assert hall.act("w1", "open").status_code == 200  # the call button: a token, no person
    called = hall.act("w1", "call-next").json()["ticket"]
    hall.act("w1", "finish", {"outcome": "completed"})
    row = next(r for r in _ledger(hall, called["issued_at"][:10]) if r["id"] == called["id"])
    assert row["clerk"] == "anna"
    assert ("w1", "anna") in _events(hall, "signed_in")


def test_a_second_clerk_is_told_who_is_signed_in_and_may_take_over(hall: Server) -> None:
    anna, ben = Clerk(hall, "anna2"), Clerk(hall, "ben2")
    assert anna.act("w1", "sign-in").status_code == 200
    refused = ben.act("w1", "sign-in")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "counter_taken"
    assert "anna2" in refused.json()["error"]["message"]
    assert ben.desk("w1")["counter"]["clerk"] == "anna2"
    assert ben.act("w1", "sign-in", {"takeover": True}).status_code == 200
    assert anna.desk("w1")["counter"]["clerk"] == "ben2"
    assert ("w1", "anna2") in _events(hall, "signed_out") and ("w1", "ben2") in _events(hall, "signed_in")
    # the chooser's form says who is there too
    page = anna.s.post(hall.url + "/counter/w1/sign-in", data={"csrf": anna.csrf}, timeout=10)
    assert page.status_code == 409 and "ben2" in page.text


def test_a_counter_token_cannot_sign_a_person_in(hall: Server) -> None:
    r = hall.act("w1", "sign-in")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_logging_out_signs_the_clerk_out(hall: Server) -> None:
    cara = Clerk(hall, "cara")
    cara.act("w3", "sign-in")
    r = cara.s.post(hall.url + "/logout", data={"csrf": cara.csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 302
    assert ("w3", "cara") in _events(hall, "signed_out")
    assert hall.get("/api/v1/counters/w3/desk", hall.admin_token()).json()["counter"]["clerk"] is None


def test_the_counter_page_goes_straight_to_the_clerks_counter_with_its_csrf_token(hall: Server) -> None:
    dan = Clerk(hall, "dan")
    r = dan.s.post(hall.url + "/counter/w2/sign-in", data={"csrf": dan.csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/counter/w2")
    page = dan.s.get(hall.url + "/counter", timeout=10)
    assert page.url.endswith("/counter/w2") and 'name="csrf-token"' in page.text and "desk-state" in page.text
    assert dan.act("w2", "open").status_code == 200  # the page's own token works for API writes


def test_the_desk_lists_the_queue_in_call_order_without_personal_data_and_todays_figures(hall: Server) -> None:
    eve = Clerk(hall, "eve")
    eve.act("w1", "sign-in")
    a = hall.issue("id-card")
    b = hall.issue("id-card", priority=True)
    d = eve.desk("w1")
    assert [w["number"] for w in d["waiting"]] == [b["number"], a["number"]]
    assert set(d["waiting"][0]) == {
        "id",  # for a named call (指呼, PROTOCOL v1.2): the ticket's id, not its track token
        "number",
        "service",
        "priority",
        "issued_at",
        "wait_s",
        "transferred",
        "to_this_counter",
        "on_behalf_of",
    }
    assert d["waiting_total"] == 2 and d["ticket"] is None
    eve.act("w1", "open")
    eve.act("w1", "call-next")
    eve.act("w1", "start")
    d = eve.desk("w1")
    assert d["ticket"]["number"] == b["number"] and d["ticket"]["status"] == "serving" and d["ticket"]["serving_since"]
    assert d["ticket"]["materials"] == ["户口簿", "近期照片"]
    eve.act("w1", "finish", {"outcome": "completed"})
    eve.act("w1", "call-next")
    eve.act("w1", "no-show")
    today = eve.desk("w1")["today"]
    assert today["clerk"] == "eve" and today["served"] == 1 and today["no_show"] == 1


def test_a_transferred_ticket_shows_where_it_came_from_and_why_and_keeps_its_owner(hall: Server) -> None:
    fay = Clerk(hall, "fay")
    fay.act("w1", "sign-in")
    issued = hall.issue("id-card")
    fay.act("w1", "open")
    hall.act("w3", "open")
    fay.act("w1", "call-next")
    r = fay.act("w1", "transfer", {"counter": "w3", "reason": "需要社保窗口核对"})
    assert r.status_code == 200, r.text
    called = hall.act("w3", "call-next").json()["ticket"]
    assert called["id"] == issued["id"] and called["issued_at"] == issued["issued_at"]
    held = hall.get("/api/v1/counters/w3/desk", hall.counter_token("w3")).json()["ticket"]
    assert held["origin"]["counter"] == "w1" and held["origin"]["clerk"] == "fay"
    assert held["origin"]["reason"] == "需要社保窗口核对" and held["owner"] == "w1"


def test_incomplete_writes_a_notice_whose_code_links_the_return_visit_with_priority(hall: Server) -> None:
    gus = Clerk(hall, "gus")
    gus.act("w1", "sign-in")
    first = hall.issue("id-card")
    gus.act("w1", "open")
    gus.act("w1", "call-next")
    done = gus.act("w1", "finish", {"outcome": "incomplete", "missing": ["户口簿"], "note": "原件"})
    assert done.status_code == 200, done.text
    notice = done.json()["notice"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", notice["code"]) and notice["missing"] == ["户口簿"]
    shown = hall.get(f"/api/v1/notices/{notice['code'].lower().replace('-', '')}").json()
    Notice.model_validate(shown)
    assert shown["missing"] == ["户口簿"] and shown["ticket_number"] == first["number"] and shown["used"] is False
    assert shown["service"] == "id-card" and shown["note"] == "原件"
    assert hall.get("/api/v1/notices/AAAAA-AAAAA").status_code == 404
    # The resident's own page says the matter is not finished, what to bring and the code to come back with.
    page = requests.get(first["track_url"], timeout=10).text
    assert "材料不全，本次未能办结" in page and "<li>户口簿</li>" in page and notice["code"] in page
    assert "已办结" not in page.split('id="track-done"')[1].split("</p>")[0]

    hall.issue("id-card")  # someone already waiting
    back = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": notice["code"]})
    assert back.status_code == 201, back.text
    assert back.json()["priority"] is True and back.json()["repeat_of"] == first["id"]
    again = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": notice["code"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "notice_used"
    assert hall.get(f"/api/v1/notices/{notice['code']}").json()["used"] is True
    called = gus.act("w1", "call-next").json()["ticket"]
    assert called["id"] == back.json()["id"]  # the return visit goes first
    held = gus.desk("w1")["ticket"]
    assert held["repeat_of"]["number"] == first["number"] and held["repeat_of"]["missing"] == ["户口簿"]
    unknown = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": "nope"})
    assert unknown.status_code == 404


def test_a_rejected_matter_shows_the_resident_its_reason(hall: Server) -> None:
    ticket = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    done = hall.act("w1", "finish", {"outcome": "rejected", "note": "不属于本中心受理范围，请到县公安局办理"})
    assert done.status_code == 200, done.text
    page = requests.get(ticket["track_url"], timeout=10).text
    assert "不予受理" in page and "原因：不属于本中心受理范围，请到县公安局办理" in page


def test_away_without_an_open_partner_is_refused_and_the_partner_sees_its_cover(hall: Server) -> None:
    hank = Clerk(hall, "hank")
    hank.act("w1", "sign-in")
    hank.act("w1", "open")
    r = hank.act("w1", "away", {"reason": "午休"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_cover"
    hall.act("w2", "open")
    assert hank.act("w1", "away", {"reason": "午休"}).status_code == 200
    partner = hall.get("/api/v1/counters/w2/desk", hall.counter_token("w2")).json()
    assert partner["covering"] is True and partner["partner"]["away_reason"] == "午休"
    assert hank.desk("w1")["counter"]["away_reason"] == "午休"
    hank.act("w1", "back")
    assert hall.get("/api/v1/counters/w2/desk", hall.counter_token("w2")).json()["covering"] is False


def test_the_counter_pages_refuse_unknown_or_foreign_counters_and_strangers(hall: Server) -> None:
    ivy = Clerk(hall, "ivy")
    assert ivy.s.get(hall.url + "/counter/nowhere", timeout=10).status_code == 404
    assert ivy.s.post(hall.url + "/counter/nowhere/sign-in", data={"csrf": ivy.csrf}, timeout=10).status_code == 404
    assert ivy.s.get(hall.url + "/counter/e1", timeout=10).status_code == 403  # another hall's counter
    stranger = requests.get(hall.url + "/counter/w1", allow_redirects=False, timeout=10)
    assert stranger.status_code == 302 and stranger.headers["Location"].startswith("/login?next=/counter/w1")
    forged = ivy.s.post(hall.url + "/counter/w1/sign-in", data={"csrf": "forged"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 302 and ivy.desk("w1")["counter"]["clerk"] is None


def test_one_notice_code_given_at_two_kiosks_at_once_makes_one_return_visit(hall: Server) -> None:
    jin = Clerk(hall, "jin")
    jin.act("w1", "sign-in")
    hall.issue("id-card")
    jin.act("w1", "open")
    jin.act("w1", "call-next")
    code = jin.act("w1", "finish", {"outcome": "incomplete", "missing": ["户口簿"]}).json()["notice"]["code"]
    barrier = threading.Barrier(4)

    def take() -> int:
        barrier.wait()
        return hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": code}).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = sorted(pool.map(lambda _: take(), range(4)))
    # One return visit; the others are refused (or, on a machine too busy to wait for the lock, told to retry).
    assert answers.count(201) == 1 and set(answers) <= {201, 409, 503}, answers
    again = hall.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": code})
    assert again.status_code == 409 and again.json()["error"]["code"] == "notice_used"
