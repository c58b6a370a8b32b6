"""The managers' matters (办件) and the matters' bad input, on SQLite and PostgreSQL: /admin/matters and its
API filter by status, service, owner (a clerk or a window) and overdue, export what they show as CSV and
XLSX; a step backwards, by someone else's hand, at an unknown case or with an oversized note is a clear
4xx that writes nothing (no matter, no ledger line, no outbound event, no case number taken)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterable
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from support.app import AppHall

from server.store.models import LedgerRow, MatterRow, NumberSeqRow, OutboxRow

ID_NUMBER = "11010519491231002X"
WEBHOOK = """
[[hall.webhook]]
url = "http://127.0.0.1:9/hooks"
secret = "a-secret-of-twenty-chars"
events = ["matter.changed"]
"""


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def accept(hall: AppHall, counter: str = "w2", service: str = "social") -> dict[str, Any]:
    issued = hall.issue(service)
    assert hall.act(counter, "open").status_code == 200
    assert hall.act(counter, "call-next").json()["ticket"]["id"] == issued["id"]
    r = hall.act(counter, "finish", {"outcome": "accepted"})
    assert r.status_code == 200, r.text
    return dict(r.json()["ticket"]["matter"])


def open_matter(hall: AppHall, token: str, service: str = "social", **extra: Any) -> dict[str, Any]:
    body = {"service": service, "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER}}
    r = hall.post("/api/v1/halls/town/matters", {**body, "proxy": True, **extra}, token)
    assert r.status_code == 201, r.text
    return dict(r.json())


def step(hall: AppHall, matter: str, status: str, token: str, note: str | None = None) -> Any:
    return hall.post(f"/api/v1/matters/{matter}/progress", {"status": status, "note": note}, token)


def login(hall: AppHall, username: str) -> tuple[Any, str]:
    """A browser that filled in the login form, and its CSRF token for writes."""
    browser = hall.browser()
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/login").text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "username": username, "password": "correct-horse"}
    assert browser.post("/login", data=form, allow_redirects=False).status_code == 302
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/counter/matters").text)
    assert meta is not None
    return browser, meta.group(1)


def numbers(rows: Iterable[dict[str, Any]]) -> list[str]:
    return [r["number"] for r in rows]


def by_due(matters: list[dict[str, Any]]) -> list[str]:
    """Case numbers as the listing orders them: due soonest first."""
    return [m["number"] for m in sorted(matters, key=lambda m: (m["due_at"], m["number"]))]


def page_numbers(text: str) -> list[str]:
    return re.findall(r'<tr data-number="([^"]+)"', text)


def test_the_filters_and_exports_show_the_same_matters(hall: AppHall) -> None:
    sup = hall.token("--role", "supervisor", "--hall", "town")
    hall.add_user("li.na", "clerk", hall="town")
    hall.add_user("zhang.wei", "supervisor", hall="town")
    w2, w3 = hall.counter_token("w2"), hall.counter_token("w3")
    a = accept(hall)  # stays accepted: overdue later
    b = accept(hall)
    assert step(hall, b["id"], "in_progress", w2).status_code == 200  # in progress: overdue later
    c = open_matter(hall, w3)  # 全程代办 handed to li.na: overdue later
    handed = hall.post(f"/api/v1/matters/{c['id']}/owner", {"owner": "li.na", "reason": "代理责任人"}, sup)
    assert handed.status_code == 200, handed.text
    d = open_matter(hall, w2, service="water", proxy=False, home_visit=True)  # ready in time
    assert step(hall, d["id"], "result_ready", w2).status_code == 200
    hall.advance(12 * 24 * 3600)  # past five working days whatever the weekday
    e = accept(hall)  # fresh
    api = "/api/v1/halls/town/matters"

    def listed(query: str) -> list[str]:
        r = hall.get(f"{api}?{query}", sup)
        assert r.status_code == 200, r.text
        return numbers(r.json())

    late = sorted([a, b, c], key=lambda m: (m["due_at"], m["number"]))
    assert listed("overdue=true") == numbers(late)
    assert listed("") == by_due([a, b, c, d, e])
    assert listed("overdue=false") == [d["number"], e["number"]]
    assert listed("status=in_progress") == [b["number"]]
    assert listed("status=accepted&overdue=true") == numbers(x for x in late if x is not b)
    assert listed("service=water") == [d["number"]]
    assert listed("owner=li.na") == [c["number"]]
    assert listed("owner=w2") == by_due([a, b, d, e])  # the window's: a counter token's matters name no clerk
    assert listed("owner=w3") == [c["number"]]  # handed to li.na, still scored against the window that opened it
    for bad in ("owner=nobody", "service=passport", "status=lost", "overdue=maybe", "format=pdf", "from=2026-13-01"):
        r = hall.get(f"{api}?{bad}", sup)
        assert r.status_code == 422 and r.json()["error"]["code"] in ("invalid_query",), (bad, r.text)

    accepted = {m["number"]: m["accepted_at"][:10] for m in hall.get(api, sup).json()}
    first_day, last_day = accepted[a["number"]], accepted[e["number"]]
    assert listed(f"from={last_day}") == [e["number"]]
    browser, _ = login(hall, "zhang.wei")
    for query, expected in (
        (f"from={last_day}", [e["number"]]),  # the page's day filters are the API's from/to
        (f"from={first_day}&to={first_day}", by_due([a, b, c, d])),
        ("overdue=true", numbers(late)),
        ("status=in_progress", [b["number"]]),
        ("service=water", [d["number"]]),
        ("owner=li.na", [c["number"]]),
        ("status=accepted&overdue=true", numbers(x for x in late if x is not b)),
    ):
        page = browser.get(f"/admin/matters?{query}").text
        assert page_numbers(page) == expected, query
        # the page's export links carry its filters: the CSV and the workbook hold the rows the page shows
        found = re.findall(r'href="(/api/v1/halls/town/matters\?format=(csv|xlsx)[^"]*)"', page)
        links = {kind: html.unescape(href) for href, kind in found}
        assert set(links) == {"csv", "xlsx"}, query
        got = browser.get(links["csv"])
        assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(got.text.lstrip("\ufeff"))))
        assert rows[0][:6] == ["办件编号", "事项", "状态", "类型", "代理责任人", "责任窗口"]
        assert [r[0] for r in rows[1:]] == expected, query
        book = browser.get(links["xlsx"])
        assert book.status_code == 200 and book.content[:2] == b"PK"
        sheet = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True).active
        cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert cells[0] == rows[0] and [r[0] for r in cells[1:]] == expected, query
        assert [r[9] for r in cells[1:]] == [r[9] for r in rows[1:]]  # 是否超期
    page = browser.get("/admin/matters?owner=nobody").text
    assert 'id="mx-problem"' in page and page_numbers(page) == []

    # the workbook's cells: names, kinds, words and local times a clerk reads, not ids
    book = hall.get(f"{api}?format=xlsx&owner=li.na", sup)
    (row,) = list(openpyxl.load_workbook(io.BytesIO(book.content), read_only=True).active.iter_rows(values_only=True))[
        1:
    ]
    assert row[:6] == (c["number"], "社保医保", "已受理", "全程代办", "li.na", "3号窗口")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", str(row[6])) and row[9] == "是" and row[10] == "王**"


def written(hall: AppHall) -> tuple[Any, ...]:
    """Everything a matter's step writes: the matters, the ledger, the outbox, the case numbers."""
    with hall.ctx.db.read() as s:
        matters = s.execute(
            select(MatterRow.id, MatterRow.status, MatterRow.owner, MatterRow.owner_counter, MatterRow.reason,
                   MatterRow.result_ready_at, MatterRow.closed_at).order_by(MatterRow.id)
        ).all()  # fmt: skip
        return (
            tuple(matters),
            s.scalar(select(func.count()).select_from(LedgerRow)),
            s.scalar(select(func.count()).select_from(OutboxRow)),
            tuple(s.execute(select(NumberSeqRow.service_id, NumberSeqRow.last).order_by(NumberSeqRow.service_id))),
        )


def with_webhook(text: str) -> str:
    """The hall "town" sends matter.changed to a receiver (so a refused step would show as an outbox row)."""
    anchor = '\n[[hall]]\nid = "east"'
    return text.replace(anchor, WEBHOOK + anchor)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_bad_steps_are_clear_4xx_and_write_nothing(make_app_hall: Callable[..., AppHall], kind: str) -> None:
    hall = make_app_hall(kind, edit=with_webhook)
    hall.add_user("li.na", "clerk", hall="town")
    hall.add_user("wang.fang", "clerk", hall="town")
    sup = hall.token("--role", "supervisor", "--hall", "town")
    w2 = hall.counter_token("w2")
    moving = accept(hall)
    assert step(hall, moving["id"], "in_progress", w2).status_code == 200
    assert step(hall, moving["id"], "sent_up", w2).status_code == 200
    closed = accept(hall)
    assert step(hall, closed["id"], "rejected", w2, note="材料不符合要求").status_code == 200
    picked = accept(hall)
    for status in ("result_ready", "picked_up"):
        assert step(hall, picked["id"], status, w2).status_code == 200
    owned = open_matter(hall, w2)
    assert (
        hall.post(f"/api/v1/matters/{owned['id']}/owner", {"owner": "li.na", "reason": "代办"}, sup).status_code == 200
    )
    other, other_csrf = login(hall, "wang.fang")
    mine, mine_csrf = login(hall, "li.na")
    before = written(hall)
    assert before[2] >= 9, "each step so far queued its matter.changed"

    def refused(r: Any, status: int, code: str) -> None:
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code, r.text
        assert written(hall) == before, "nothing written"

    for wanted in ("in_progress", "accepted", "sent_up"):  # backwards, to the start, standing still
        refused(step(hall, moving["id"], wanted, w2), 409, "bad_transition")
    for wanted in ("in_progress", "result_ready", "rejected"):  # a closed matter moves no more
        refused(step(hall, closed["id"], wanted, w2, note="再议"), 409, "bad_transition")
        refused(step(hall, picked["id"], wanted, sup, note="再议"), 409, "bad_transition")
    refused(step(hall, moving["id"], "done", w2), 422, "invalid_body")  # no such status
    refused(step(hall, moving["id"], "rejected", w2), 422, "invalid_body")  # a rejection needs its reason

    # someone else's matter: another window, another clerk, another hall's supervisor
    refused(step(hall, moving["id"], "result_ready", hall.counter_token("w3")), 403, "forbidden")
    path = f"/api/v1/matters/{owned['id']}/progress"
    r = other.post(path, json={"status": "in_progress"}, headers={"X-CSRF-Token": other_csrf})
    refused(r, 403, "forbidden")
    east = hall.token("--role", "supervisor", "--hall", "east")
    refused(step(hall, owned["id"], "in_progress", east), 403, "forbidden")
    refused(hall.post(path, {"status": "in_progress"}), 401, "unauthorized")

    # unknown matters and case numbers
    refused(step(hall, "0123456789abcdef", "in_progress", sup), 404, "not_found")
    refused(step(hall, "x" * 33, "in_progress", sup), 404, "not_found")
    for case in ("BJ2099999999", "no-such-case", "http://127.0.0.1:5999/t/" + "a" * 32):
        refused(hall.post("/api/v1/halls/town/pickups", {"case": case}), 404, "not_found")
    refused(hall.post("/api/v1/halls/town/pickups", {"case": moving["number"]}), 409, "not_ready")
    refused(hall.post("/api/v1/halls/east/pickups", {"case": picked["number"]}), 404, "not_found")  # another hall's

    # oversized or empty text
    refused(step(hall, moving["id"], "result_ready", w2, note="长" * 1001), 422, "invalid_body")
    big = {"service": "social", "applicant": {"name": "张" * 33, "phone": "13812345678", "id_number": ID_NUMBER}}
    refused(hall.post("/api/v1/halls/town/matters", big, w2), 422, "invalid_body")
    noted = {**big, "applicant": {**big["applicant"], "name": "张三"}, "note": "注" * 1001}
    refused(hall.post("/api/v1/halls/town/matters", noted, w2), 422, "invalid_body")
    blank = {**big, "applicant": {**big["applicant"], "name": "   "}}
    refused(hall.post("/api/v1/halls/town/matters", blank, w2), 422, "invalid_body")
    refused(hall.post("/api/v1/halls/town/pickups", {"case": "B" * 301}), 422, "invalid_body")
    hand = f"/api/v1/matters/{moving['id']}/owner"
    refused(hall.post(hand, {"counter": "w3", "reason": "理" * 201}, sup), 422, "invalid_body")
    refused(hall.post(hand, {"owner": "nobody", "reason": "调岗"}, sup), 422, "invalid_body")
    refused(hall.post(f"/api/v1/matters/{closed['id']}/owner", {"counter": "w3", "reason": "调岗"}, sup), 409,
            "bad_transition")  # fmt: skip
    headers = {"Authorization": f"Bearer {sup}", "Content-Type": "application/json"}
    refused(hall.send("POST", path, b"{not json", headers), 400, "malformed_json")

    # and the owner's own step still goes through
    r = mine.post(path, json={"status": "in_progress", "note": "已联系申请人"}, headers={"X-CSRF-Token": mine_csrf})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert written(hall) != before


def test_a_case_number_with_the_halls_lowercase_id_is_found_as_the_kiosk_types_it(
    make_app_hall: Callable[..., AppHall],
) -> None:
    def numbered(text: str) -> str:  # the kiosk's keypad has A–Z, digits and "-" only
        return text.replace('id = "town"\n', 'id = "town"\nmatter_number = "{hall}-{year}-{seq:5}"\n', 1)

    hall = make_app_hall("sqlite", edit=numbered)
    moving = accept(hall)
    assert moving["number"].startswith("town-")
    assert step(hall, moving["id"], "result_ready", hall.counter_token("w2")).status_code == 200
    r = hall.post("/api/v1/halls/town/pickups", {"case": moving["number"].upper()})
    assert r.status_code == 201, r.text
    assert r.json()["matter"]["number"] == moving["number"]
