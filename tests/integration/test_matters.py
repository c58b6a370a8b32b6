"""PROTOCOL v1.2 "Matters that outlive the visit": 承诺件 accepted at a window, 全程代办, carried forward
by their owner, followed on the resident's page, listed for the managers."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from support.app import AppHall
from support.checks import check_answer

from server.api.shapes.matters import HandOverRequest
from server.store.models import LedgerRow, MatterRow

ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643)


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def accept(hall: AppHall, counter: str = "w2", service: str = "social") -> dict[str, Any]:
    """Issue a promised service's ticket, call it at `counter` and finish it as accepted (受理)."""
    issued = hall.issue(service)
    assert hall.act(counter, "open").status_code == 200
    called = hall.act(counter, "call-next").json()["ticket"]
    assert called["id"] == issued["id"]
    r = hall.act(counter, "finish", {"outcome": "accepted", "note": "材料齐全"})
    assert r.status_code == 200, r.text
    return {"issued": issued, "ticket": r.json()["ticket"]}


def login(hall: AppHall, username: str, password: str = "correct-horse") -> Any:
    """A browser that filled in the login form."""
    browser = hall.browser()
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/login").text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "username": username, "password": password}
    assert browser.post("/login", data=form, allow_redirects=False).status_code == 302
    return browser


def supervisor(hall: AppHall) -> str:
    return hall.token("--role", "supervisor", "--hall", "town")


def step(hall: AppHall, matter: str, status: str, token: str, note: str | None = None) -> Any:
    body = {"status": status} if note is None else {"status": status, "note": note}
    return hall.post(f"/api/v1/matters/{matter}/progress", body, token)


def test_accepting_a_promised_matter_opens_it_with_number_due_date_and_owner(hall: AppHall) -> None:
    done = accept(hall)
    ticket = done["ticket"]
    assert ticket["status"] == "done"
    matter = ticket["matter"]
    assert set(matter) == {"id", "number", "due_at"}
    year = hall.clock.now().astimezone().year
    assert matter["number"].startswith(f"BJ{year}") and len(matter["number"]) == len(f"BJ{year}") + 6
    accepted_at = datetime.fromisoformat(ticket["finished_at"])
    due = datetime.fromisoformat(matter["due_at"])
    # 5 working days on the hall's calendar (Mon–Fri): at least 5 and at most 9 calendar days later
    assert timedelta(days=5) <= due - accepted_at <= timedelta(days=9)
    assert due.time() == accepted_at.time()
    listed = hall.get("/api/v1/halls/town/matters", supervisor(hall)).json()
    assert [(m["number"], m["status"], m["owner_counter"], m["overdue"]) for m in listed] == [
        (matter["number"], "accepted", "w2", False)
    ]
    with hall.ctx.db.read() as s:
        lines = select(LedgerRow).where(LedgerRow.ticket_id == ticket["id"]).order_by(LedgerRow.id)
        kinds = [x.kind for x in s.scalars(lines)]
    assert kinds[-2:] == ["finished", "matter_accepted"]


def test_case_numbers_run_on_and_never_repeat(hall: AppHall) -> None:
    first = accept(hall)["ticket"]["matter"]["number"]
    second = accept(hall)["ticket"]["matter"]["number"]
    assert int(second[-6:]) == int(first[-6:]) + 1


def test_accepted_is_only_for_promised_services_and_writes_nothing_otherwise(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    r = hall.act("w1", "finish", {"outcome": "accepted"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body"
    assert hall.act("w1", "finish", {"outcome": "completed"}).status_code == 200  # still held: nothing written
    with hall.ctx.db.read() as s:
        assert s.scalars(select(MatterRow)).all() == []


def test_the_owner_carries_it_forward_and_the_residents_page_follows(hall: AppHall) -> None:
    done = accept(hall)
    matter, token = done["ticket"]["matter"]["id"], done["issued"]["track_url"].rsplit("/", 1)[1]
    w2 = hall.counter_token("w2")
    track = hall.get(f"/api/v1/track/{token}").json()
    assert track["matter"]["status"] == "accepted" and track["matter"]["number"] == done["ticket"]["matter"]["number"]
    for status in ("in_progress", "sent_up", "result_ready"):
        r = step(hall, matter, status, w2, note=f"到{status}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    assert hall.get(f"/api/v1/track/{token}").json()["matter"]["status"] == "result_ready"
    assert step(hall, matter, "picked_up", w2).json()["status"] == "picked_up"
    with hall.ctx.db.read() as s:
        lines = s.scalars(select(LedgerRow).where(LedgerRow.kind.like("matter_%")).order_by(LedgerRow.id)).all()
    assert [x.kind for x in lines] == [
        "matter_accepted", "matter_in_progress", "matter_sent_up", "matter_result_ready", "matter_picked_up"
    ]  # fmt: skip
    assert (lines[1].detail or {})["note"] == "到in_progress" and lines[1].counter_id == "w2"


@pytest.mark.parametrize(
    ("path", "wanted", "code"),
    [
        (["in_progress", "sent_up"], "in_progress", "bad_transition"),  # backwards
        (["in_progress"], "accepted", "bad_transition"),
        (["in_progress"], "in_progress", "bad_transition"),  # standing still
        (["rejected"], "in_progress", "bad_transition"),  # closed
    ],
)
def test_a_step_that_is_not_forward_is_409_and_changes_nothing(
    hall: AppHall, path: list[str], wanted: str, code: str
) -> None:
    matter = accept(hall)["ticket"]["matter"]["id"]
    w2 = hall.counter_token("w2")
    for status in path:
        assert step(hall, matter, status, w2, note="理由").status_code == 200
    r = step(hall, matter, wanted, w2)
    assert r.status_code == 409 and r.json()["error"]["code"] == code
    with hall.ctx.db.read() as s:
        assert s.get(MatterRow, matter).status == path[-1]  # type: ignore[union-attr]


def test_only_its_owner_or_a_supervisor_moves_it(hall: AppHall) -> None:
    matter = accept(hall)["ticket"]["matter"]["id"]
    r = step(hall, matter, "in_progress", hall.counter_token("w3"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert step(hall, matter, "in_progress", supervisor(hall)).status_code == 200
    east = hall.token("--role", "supervisor", "--hall", "east")
    assert step(hall, matter, "sent_up", east).status_code == 403


def test_bad_progress_requests_are_clear_4xx_and_write_nothing(hall: AppHall) -> None:
    matter = accept(hall)["ticket"]["matter"]["id"]
    w2 = hall.counter_token("w2")
    unknown = step(hall, "0123456789abcdef", "in_progress", w2)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert step(hall, matter, "done", w2).status_code == 422
    assert step(hall, matter, "in_progress", w2, note="x" * 1001).status_code == 422
    no_reason = step(hall, matter, "rejected", w2)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["message"]
    assert hall.post(f"/api/v1/matters/{matter}/progress", {"status": "in_progress"}).status_code == 401
    with hall.ctx.db.read() as s:
        assert s.get(MatterRow, matter).status == "accepted"  # type: ignore[union-attr]


def test_a_rejected_matter_keeps_its_reason_for_the_resident(hall: AppHall) -> None:
    done = accept(hall)
    matter, token = done["ticket"]["matter"]["id"], done["issued"]["track_url"].rsplit("/", 1)[1]
    r = step(hall, matter, "rejected", hall.counter_token("w2"), note="不符合办理条件")
    assert r.status_code == 200 and r.json()["reason"] == "不符合办理条件"
    assert hall.get(f"/api/v1/track/{token}").json()["matter"]["status"] == "rejected"


def test_staff_open_a_proxy_matter_and_the_id_number_is_never_kept_in_clear(hall: AppHall) -> None:
    body = {
        "service": "social",
        "applicant": {"name": "张三丰", "phone": "13812345678", "id_number": ID_NUMBER},
        "proxy": True,
        "note": "代理服务委托书已签",
    }
    r = hall.post("/api/v1/halls/town/matters", body, hall.counter_token("w2"))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["proxy"] is True and got["home_visit"] is False and got["status"] == "accepted"
    assert got["applicant"] == "张**" and got["owner_counter"] == "w2"
    with hall.ctx.db.read() as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM matters")) for v in row)
    assert ID_NUMBER not in dump and ID_NUMBER[:-1] not in dump and "110***********002X" in dump


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "张" * 33}, "name"),
    ],
)
def test_a_bad_applicant_is_422_and_nothing_is_opened(hall: AppHall, change: dict[str, str], field: str) -> None:
    applicant = {"name": "张三丰", "phone": "13812345678", "id_number": ID_NUMBER, **change}
    r = hall.post("/api/v1/halls/town/matters", {"service": "social", "applicant": applicant}, hall.counter_token("w2"))
    assert r.status_code == 422, r.text
    assert field in r.json()["error"]["message"]
    with hall.ctx.db.read() as s:
        assert s.scalars(select(MatterRow)).all() == []


def test_a_kiosk_or_another_halls_staff_cannot_open_one(hall: AppHall) -> None:
    body = {"service": "social", "applicant": {"name": "李四", "phone": "13812345678", "id_number": ID_NUMBER}}
    assert hall.post("/api/v1/halls/town/matters", body, hall.kiosk_token()).status_code == 403
    east = hall.token("--role", "supervisor", "--hall", "east")
    assert hall.post("/api/v1/halls/town/matters", body, east).status_code == 403


def test_overdue_matters_are_listed_as_such(hall: AppHall) -> None:
    late = accept(hall)["ticket"]["matter"]
    w2 = hall.counter_token("w2")
    hall.advance(12 * 24 * 3600)  # past 5 working days whatever the weekday
    fresh = accept(hall)["ticket"]["matter"]
    sup = supervisor(hall)
    overdue = hall.get("/api/v1/halls/town/matters?overdue=true", sup).json()
    assert [m["number"] for m in overdue] == [late["number"]]
    assert [m["number"] for m in hall.get("/api/v1/halls/town/matters?overdue=false", sup).json()] == [fresh["number"]]
    assert step(hall, late["id"], "in_progress", w2).status_code == 200
    listed = hall.get("/api/v1/halls/town/matters?status=in_progress", sup).json()
    assert [m["number"] for m in listed] == [late["number"]] and listed[0]["overdue"] is True
    today = date.fromisoformat(fresh["due_at"][:10]) - timedelta(days=30)
    assert hall.get(f"/api/v1/halls/town/matters?from={today}&to={today}", sup).json() == []
    bad = hall.get("/api/v1/halls/town/matters?status=lost", sup)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_query"
    assert hall.get("/api/v1/halls/town/matters", w2).status_code == 403


def test_timely_rate_alert_and_deduction_come_from_matters(hall: AppHall) -> None:
    sup = supervisor(hall)
    late = accept(hall)
    kept = accept(hall)
    day = late["ticket"]["finished_at"][:10]
    w2 = hall.counter_token("w2")
    for status in ("in_progress", "result_ready"):
        assert step(hall, kept["ticket"]["matter"]["id"], status, w2).status_code == 200
    promised = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", sup).json()["promised"]
    assert {k: promised[k] for k in ("received", "on_time", "late", "overdue", "rejected", "rate")} == {
        "received": 2, "on_time": 1, "late": 0, "overdue": 0, "rejected": 0, "rate": 0.5
    }  # fmt: skip
    assert [(r["counter"], r["received"], r["on_time"]) for r in promised["by_counter"]] == [("w2", 2, 1)]

    hall.advance(12 * 24 * 3600)  # the first matter is now past its 5 working days
    from server.services import alerts

    raised = alerts.scan(hall.ctx, "town", hall.hallq.printer_state)
    overdue = [a for a in raised if a["kind"] == "matter_overdue"]
    assert [a["detail"]["number"] for a in overdue] == [late["ticket"]["matter"]["number"]]
    promised = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", sup).json()["promised"]
    assert (promised["overdue"], promised["rate"]) == (1, 0.5)

    month = late["ticket"]["matter"]["due_at"][:7]
    windows = hall.get(f"/api/v1/halls/town/reports/monthly?month={month}", sup).json()["windows"]
    (w2_score,) = [w for w in windows if w["counter"] == "w2"]
    (deduction,) = [d for d in w2_score["deductions"] if d["kind"] == "overdue_matter"]
    events = hall.get(f"/api/v1/halls/town/events?ids={','.join(map(str, deduction['events']))}", sup).json()
    assert [(e["kind"], e["detail"]["number"]) for e in events] == [
        ("matter_accepted", late["ticket"]["matter"]["number"])
    ]


def test_a_supervisor_hands_a_matter_over_and_the_new_owner_carries_it(hall: AppHall) -> None:
    matter = accept(hall)["ticket"]["matter"]["id"]
    sup = supervisor(hall)
    path = f"/api/v1/matters/{matter}/owner"
    assert hall.post(path, {"counter": "w3", "reason": "调岗"}, hall.counter_token("w2")).status_code == 403
    assert hall.post(path, {"counter": "w3"}, sup).status_code == 422  # no reason
    assert hall.post(path, {"counter": "w9", "reason": "调岗"}, sup).status_code == 422
    empty = hall.post(path, {"counter": "", "reason": "调岗"}, sup)  # the document says at least one character
    assert empty.status_code == 422 and "is not a counter" not in empty.json()["error"]["message"], empty.text
    assert HandOverRequest.model_json_schema()["properties"]["counter"]["anyOf"][0]["minLength"] == 1
    r = hall.post(path, {"counter": "w3", "reason": "调岗"}, sup)
    assert r.status_code == 200 and r.json()["owner_counter"] == "w3"
    assert step(hall, matter, "in_progress", hall.counter_token("w2")).status_code == 403
    assert step(hall, matter, "in_progress", hall.counter_token("w3")).status_code == 200
    with hall.ctx.db.read() as s:
        line = s.scalars(select(LedgerRow).where(LedgerRow.kind == "matter_handed_over")).one()
    assert (
        line.detail is not None and line.detail["reason"] == "调岗" and line.detail["before"]["owner_counter"] == "w2"
    )


def test_the_residents_page_follows_the_matter_and_rates_the_result_once_picked_up(hall: AppHall) -> None:
    done = accept(hall)
    matter, number = done["ticket"]["matter"]["id"], done["ticket"]["matter"]["number"]
    token = done["issued"]["track_url"].rsplit("/", 1)[1]
    w2 = hall.counter_token("w2")
    page = hall.get(f"/t/{token}").text
    assert "已受理" in page and number in page and "承诺办结时间" in page and 'data-matter="accepted"' in page
    assert step(hall, matter, "in_progress", w2).status_code == 200
    assert step(hall, matter, "result_ready", w2).status_code == 200
    page = hall.get(f"/t/{token}").text
    assert "可领取" in page and "受理回执" in page and "本人身份证" in page
    english = hall.get(f"/t/{token}?lang=en").text
    assert "Ready to pick up" in english and number in english
    rate = f"/api/v1/track/{token}/rating"
    assert hall.post(rate, {"level": 5}).status_code == 201  # the service, at the window (assess 1)
    early = hall.post(rate, {"level": 4})
    assert early.status_code == 409 and early.json()["error"]["code"] == "already_rated"  # not picked up yet
    assert step(hall, matter, "picked_up", w2).status_code == 200
    assert 'id="rate-result-form"' in hall.get(f"/t/{token}").text
    second = hall.post(rate, {"level": 4, "comment": "领取顺利"})
    assert second.status_code == 201 and second.json()["level"] == 4
    again = hall.post(rate, {"level": 3})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    page = hall.get(f"/t/{token}").text
    assert "您对办理结果的评价" in page and 'id="rate-result-form"' not in page
    with hall.ctx.db.read() as s:
        row = s.get(MatterRow, matter)
        assert row is not None and (row.result_level, row.result_comment) == (4, "领取顺利")
        assert s.scalars(select(LedgerRow.kind).where(LedgerRow.kind == "rated_result")).all() == ["rated_result"]


def test_managers_page_lists_filters_and_exports_matters(hall: AppHall) -> None:
    late = accept(hall)["ticket"]["matter"]
    hall.advance(12 * 24 * 3600)
    fresh = accept(hall)["ticket"]["matter"]
    sup = supervisor(hall)
    csv = hall.get("/api/v1/halls/town/matters?format=csv&overdue=true", sup)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("办件编号,事项,状态,类型,代理责任人,责任窗口") and len(lines) == 2
    assert lines[1].startswith(f"{late['number']},社保医保,已受理,承诺件,") and lines[1].count(",是,") == 1
    xlsx = hall.get("/api/v1/halls/town/matters?format=xlsx", sup)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert hall.get("/api/v1/halls/town/matters?format=pdf", sup).status_code == 422

    assert hall.browser().get("/admin/matters", allow_redirects=False).status_code == 302  # log in first
    hall.add_user("zhang.wei", "supervisor", hall="town")
    browser = login(hall, "zhang.wei")
    page = browser.get("/admin/matters?overdue=true").text
    assert (
        late["number"] in page
        and fresh["number"] not in page
        and "已超期" in page
        and 'href="/admin?hall=town"' in page
    )
    page = browser.get("/admin/matters").text
    assert late["number"] in page and fresh["number"] in page


def test_a_clerk_sees_the_matters_they_own_and_prints_a_commission(hall: AppHall) -> None:
    hall.add_user("li.na", "clerk", hall="town")
    browser = login(hall, "li.na")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/counter/matters").text)
    assert csrf is not None
    body = {
        "service": "social",
        "applicant": {"name": "王秀英", "phone": "0571-88881234", "id_number": ID_NUMBER},
        "home_visit": True,
    }
    r = browser.post("/api/v1/halls/town/matters", json=body, headers={"X-CSRF-Token": csrf.group(1)})
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["owner"] == "li.na" and mine["home_visit"] is True
    accept(hall)  # owned by the counter w2's device, not by li.na
    page = browser.get("/counter/matters").text
    assert mine["number"] in page and page.count('<tr data-number="') == 1
    commission = browser.get(f"/matters/{mine['id']}/commission").text
    assert "代理服务委托书" in commission and "王秀英" in commission and "110***********002X" in commission
    assert ID_NUMBER not in commission and "88881234" not in commission
    assert hall.browser().get(f"/matters/{mine['id']}/commission", allow_redirects=False).status_code == 302


def test_picking_the_result_up_at_the_kiosk_ends_the_matter_at_its_window(hall: AppHall) -> None:
    done = accept(hall)
    matter, number = done["ticket"]["matter"]["id"], done["ticket"]["matter"]["number"]
    track_url = done["issued"]["track_url"]
    w2 = hall.counter_token("w2")
    early = hall.post("/api/v1/halls/town/pickups", {"case": number})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_ready"
    for status in ("in_progress", "result_ready"):
        assert step(hall, matter, status, w2).status_code == 200
    unknown = hall.post("/api/v1/halls/town/pickups", {"case": "BJ2099999999"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert hall.post("/api/v1/halls/town/pickups", {"case": ""}).status_code == 422
    assert hall.post("/api/v1/halls/town/pickups", {"case": number, "kiosk": "k1"}).status_code == 403
    r = hall.post("/api/v1/halls/town/pickups", {"case": track_url})  # the scanner types the QR's link
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["service"] == "social" and ticket["status"] == "waiting" and ticket["matter"]["number"] == number
    check_answer("post", "/api/v1/halls/{hall}/pickups", 201, ticket)
    twice = hall.post("/api/v1/halls/town/pickups", {"case": number.lower()})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "pickup_waiting"
    hall.issue("social")  # a walk-in for the same service: w2 calls the pick-up, sent to it, first
    called = hall.act("w2", "call-next").json()["ticket"]
    assert called["id"] == ticket["id"]
    assert hall.act("w2", "finish", {"outcome": "completed"}).status_code == 200
    with hall.ctx.db.read() as s:
        row = s.get(MatterRow, matter)
        assert row is not None and row.status == "picked_up" and row.pickup_ticket == ticket["id"]
    token = track_url.rsplit("/", 1)[1]
    assert hall.get(f"/api/v1/track/{token}").json()["matter"]["status"] == "picked_up"
    gone = hall.post("/api/v1/halls/town/pickups", {"case": number})
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "not_ready"


def test_the_city_overview_counts_a_halls_overdue_matters(hall: AppHall) -> None:
    accept(hall)
    rows = {r["hall"]: r for r in hall.get("/api/v1/overview", hall.admin_token()).json()}
    assert rows["town"]["overdue_matters"] == 0
    hall.advance(12 * 24 * 3600)  # past its 5 working days
    rows = {r["hall"]: r for r in hall.get("/api/v1/overview", hall.admin_token()).json()}
    assert (rows["town"]["overdue_matters"], rows["east"]["overdue_matters"]) == (1, 0)


def test_a_pick_up_ticket_is_marked_on_the_counter_the_display_and_the_call(hall: AppHall) -> None:
    done = accept(hall)
    matter, number = done["ticket"]["matter"]["id"], done["ticket"]["matter"]["number"]
    w2 = hall.counter_token("w2")
    for status in ("in_progress", "result_ready"):
        assert step(hall, matter, status, w2).status_code == 200
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    walk_in = hall.issue("social")
    pickup = hall.post("/api/v1/halls/town/pickups", {"case": number}).json()
    waiting = {w["number"]: w for w in hall.get("/api/v1/counters/w2/desk", w2).json()["waiting"]}
    assert waiting[pickup["number"]].get("pickup") is True and "pickup" not in waiting[walk_in["number"]]
    called = hall.act("w2", "call-next").json()["ticket"]
    assert called["id"] == pickup["id"] and called["pickup"] is True  # sent to its owner window, first
    held = hall.get("/api/v1/counters/w2/desk", w2).json()["ticket"]
    assert held["pickup"] is True and held["pickup_number"] == number  # the clerk knows which result to hand over
    call = display.wait_for("call", lambda c: c["ticket"] == pickup["id"])
    assert call.get("pickup") is True and "appointment" not in call
    shown = hall.get("/api/v1/halls/town/display").json()["calls"]
    assert shown[0]["ticket"] == pickup["id"] and shown[0].get("pickup") is True
    hall.act("w2", "finish", {"outcome": "completed"})
    walk = hall.act("w2", "call-next").json()["ticket"]
    assert walk["id"] == walk_in["id"] and "pickup" not in walk
    assert "pickup" not in display.wait_for("call", lambda c: c["ticket"] == walk_in["id"])
    with hall.ctx.db.read() as s:
        row = s.get(MatterRow, matter)
        assert row is not None and row.status == "picked_up"


def test_without_any_printer_the_receipt_says_so_and_a_reprint_is_409(hall: AppHall) -> None:
    done = accept(hall)  # the test hall prints nowhere: no counter printer, its kiosk has none
    again = hall.post(f"/api/v1/matters/{done['ticket']['matter']['id']}/receipt", {}, hall.admin_token())
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_printer"


def test_the_finish_answer_carries_the_receipt_fields(hall: AppHall) -> None:
    hall.issue("social")
    assert hall.act("w2", "open").status_code == 200
    hall.act("w2", "call-next")
    body = hall.act("w2", "finish", {"outcome": "accepted"}).json()
    assert body["receipt"] == {
        "number": body["ticket"]["matter"]["number"], "printed_on": None, "printed_at": None, "printed_on_name": None
    }  # fmt: skip


def test_a_clerk_carries_their_matter_forward_on_their_page_and_bad_steps_change_nothing(hall: AppHall) -> None:
    hall.add_user("li.na", "clerk", hall="town")
    browser = login(hall, "li.na")
    page = browser.get("/counter/matters").text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    body = {"service": "social", "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER},
            "proxy": True}  # fmt: skip
    mine = browser.post("/api/v1/halls/town/matters", json=body, headers={"X-CSRF-Token": csrf.group(1)}).json()
    page = browser.get("/counter/matters").text
    assert f'action="/counter/matters/{mine["id"]}/progress"' in page and '<option value="in_progress">办理中' in page
    form = {"csrf": csrf.group(1), "status": "in_progress", "note": "已报送材料"}
    r = browser.post(f"/counter/matters/{mine['id']}/progress", data=form, allow_redirects=False)
    assert r.status_code == 302 and "done=progress" in r.headers["Location"]
    assert f"办件 {mine['number']} 已更新。" in browser.get(r.headers["Location"]).text
    back = browser.post(f"/counter/matters/{mine['id']}/progress", data={**form, "status": "accepted"})
    assert back.status_code == 409 and "只能向前推进" in back.text
    forged = browser.post(f"/counter/matters/{mine['id']}/progress", data={**form, "csrf": "x", "status": "sent_up"})
    assert forged.status_code == 400
    reason = browser.post(f"/counter/matters/{mine['id']}/progress", data={**form, "status": "rejected", "note": ""})
    assert reason.status_code == 422
    nowhere = browser.post(f"/counter/matters/{mine['id']}/receipt", data={"csrf": csrf.group(1)})
    assert nowhere.status_code == 409 and "没有打印机" in nowhere.text  # the test hall prints nowhere
    assert f'action="/counter/matters/{mine["id"]}/commission"' in page  # a 全程代办: its commission as a slip
    commission = browser.post(f"/counter/matters/{mine['id']}/commission", data={"csrf": csrf.group(1)})
    assert commission.status_code == 409 and "没有打印机" in commission.text
    other = accept(hall)["ticket"]["matter"]["id"]  # owned by the window w2's device, not by li.na
    assert browser.post(f"/counter/matters/{other}/progress", data={**form, "status": "sent_up"}).status_code == 403
    listed = {m["number"]: m["status"] for m in hall.get("/api/v1/halls/town/matters", supervisor(hall)).json()}
    assert listed[mine["number"]] == "in_progress" and "accepted" in listed.values()


def test_another_halls_supervisor_cannot_print_a_matters_slips_from_the_clerks_page(hall: AppHall) -> None:
    mine = hall.post(
        "/api/v1/halls/town/matters",
        {"service": "social", "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER},
         "proxy": True},
        hall.counter_token("w2"),
    ).json()  # fmt: skip
    hall.add_user("east.boss", "supervisor", hall="east")
    browser = login(hall, "east.boss")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/counter/matters").text)
    assert csrf is not None
    for what in ("receipt", "commission"):
        r = browser.post(f"/counter/matters/{mine['id']}/{what}", data={"csrf": csrf.group(1)})
        assert r.status_code == 403, (what, r.status_code)  # not "no printer": not theirs to print at all
        r = browser.post(f"/api/v1/matters/{mine['id']}/{what}", json={}, headers={"X-CSRF-Token": csrf.group(1)})
        assert r.status_code == 403, (what, r.text)


def test_a_matter_opened_with_a_counter_token_names_no_clerk(hall: AppHall) -> None:
    body = {"service": "social", "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER},
            "home_visit": True}  # fmt: skip
    got = hall.post("/api/v1/halls/town/matters", body, hall.counter_token("w2")).json()
    assert got["owner"] is None and got["owner_counter"] == "w2"  # the window owns it (docs/api.md)
    assert step(hall, got["id"], "in_progress", hall.counter_token("w2")).status_code == 200
    listed = hall.get("/api/v1/halls/town/matters?owner=w2", supervisor(hall)).json()
    assert [(m["number"], m["owner"]) for m in listed] == [(got["number"], None)]


def test_a_promised_matter_accepted_at_a_window_has_no_commission_page(hall: AppHall) -> None:
    matter = accept(hall)["ticket"]["matter"]
    hall.add_user("li.na", "supervisor", hall="town")
    browser = login(hall, "li.na")
    assert browser.get(f"/matters/{matter['id']}/commission").status_code == 404  # as the API's 409 no_commission


def test_a_parked_pick_up_ticket_still_holds_the_matters_one_pick_up(hall: AppHall) -> None:
    done = accept(hall)
    matter, number = done["ticket"]["matter"]["id"], done["ticket"]["matter"]["number"]
    assert step(hall, matter, "result_ready", hall.counter_token("w2")).status_code == 200
    first = hall.post("/api/v1/halls/town/pickups", {"case": number}).json()
    assert hall.act("w2", "call-next").json()["ticket"]["id"] == first["id"]
    assert hall.act("w2", "park", {"kind": "wait_step", "note": "等签章"}).json()["ticket"]["status"] == "parked"
    again = hall.post("/api/v1/halls/town/pickups", {"case": number})
    assert again.status_code == 409 and again.json()["error"]["code"] == "pickup_waiting", again.text


def test_a_nul_in_the_clerks_form_note_is_dropped_not_a_server_error(hall: AppHall) -> None:
    hall.add_user("li.na", "clerk", hall="town")
    browser = login(hall, "li.na")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/counter/matters").text)
    assert csrf is not None
    body = {"service": "social", "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER},
            "proxy": True}  # fmt: skip
    mine = browser.post("/api/v1/halls/town/matters", json=body, headers={"X-CSRF-Token": csrf.group(1)}).json()
    form = {"csrf": csrf.group(1), "status": "rejected", "note": "材料\x00不符"}
    r = browser.post(f"/counter/matters/{mine['id']}/progress", data=form, allow_redirects=False)
    assert r.status_code == 302, r.status_code  # PostgreSQL refuses NUL: cleaned as the API's bodies are
    listed = {m["number"]: m for m in hall.get("/api/v1/halls/town/matters", supervisor(hall)).json()}
    assert listed[mine["number"]]["status"] == "rejected" and listed[mine["number"]]["reason"] == "材料不符"


def test_a_matter_handed_over_straight_away_counts_as_done_on_time(hall: AppHall) -> None:
    done = accept(hall)
    matter, day = done["ticket"]["matter"], done["ticket"]["finished_at"][:10]
    moved = step(hall, matter["id"], "picked_up", hall.counter_token("w2"), note="当场办结并领取")
    assert moved.status_code == 200 and moved.json()["result_ready_at"] is not None  # skipping ahead is allowed
    sup = supervisor(hall)
    promised = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", sup).json()["promised"]
    assert (promised["received"], promised["on_time"]) == (1, 1)
    hall.advance(12 * 24 * 3600)  # long past its due time: still done on time, not overdue
    assert hall.get("/api/v1/halls/town/matters?overdue=true", sup).json() == []


def test_a_supervisor_of_several_halls_moves_and_reprints_the_matters_of_each(hall: AppHall) -> None:
    from server.auth import set_user_halls

    matter = accept(hall)["ticket"]["matter"]
    hall.add_user("zhao.lei", "supervisor", hall="east")
    set_user_halls(hall.ctx, "zhao.lei", ["east", "town"])
    browser = login(hall, "zhao.lei")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/admin/matters?hall=town").text)
    assert csrf is not None
    headers = {"X-CSRF-Token": csrf.group(1)}
    assert [m["number"] for m in browser.get("/api/v1/halls/town/matters").json()] == [matter["number"]]
    moved = browser.post(f"/api/v1/matters/{matter['id']}/progress", json={"status": "in_progress"}, headers=headers)
    assert moved.status_code == 200, moved.text  # they manage town as well as east
    reprint = browser.post(f"/api/v1/matters/{matter['id']}/receipt", json={}, headers=headers)
    assert reprint.status_code == 409 and reprint.json()["error"]["code"] == "no_printer"  # allowed; no printer
    body = {"service": "social", "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER},
            "proxy": True}  # fmt: skip
    proxy = browser.post("/api/v1/halls/town/matters", json=body, headers=headers)
    assert proxy.status_code == 201, proxy.text
    assert browser.get(f"/matters/{proxy.json()['id']}/commission").status_code == 200


def test_a_pick_up_ticket_is_not_accepted_as_a_new_matter(hall: AppHall) -> None:
    done = accept(hall)
    matter, number = done["ticket"]["matter"]["id"], done["ticket"]["matter"]["number"]
    assert step(hall, matter, "result_ready", hall.counter_token("w2")).status_code == 200
    pickup = hall.post("/api/v1/halls/town/pickups", {"case": number}).json()
    assert hall.act("w2", "call-next").json()["ticket"]["id"] == pickup["id"]
    r = hall.act("w2", "finish", {"outcome": "accepted"})
    assert r.status_code == 422, r.text  # it hands a result over; it does not open a second matter
    with hall.ctx.db.read() as s:
        assert [m.number for m in s.scalars(select(MatterRow))] == [number]
    assert hall.act("w2", "finish", {"outcome": "completed"}).status_code == 200
    with hall.ctx.db.read() as s:
        row = s.get(MatterRow, matter)
        assert row is not None and row.status == "picked_up"


def test_a_matter_a_signed_in_clerk_opens_is_owned_by_their_window_too(hall: AppHall) -> None:
    """Owned by the clerk and by the window they are signed in at, so it counts in that window's 及时办结率 and
    deductions; signed in nowhere, it has no window."""
    hall.add_user("li.na", "clerk", hall="town")
    browser = login(hall, "li.na")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', browser.get("/counter/matters").text)
    assert csrf is not None
    headers = {"X-CSRF-Token": csrf.group(1)}
    body = {"service": "social", "proxy": True,
            "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER}}  # fmt: skip
    nowhere = browser.post("/api/v1/halls/town/matters", json=body, headers=headers)
    assert nowhere.status_code == 201 and nowhere.json()["owner_counter"] is None, nowhere.text
    assert browser.post("/api/v1/counters/w3/sign-in", headers=headers).status_code == 200
    at_w3 = browser.post("/api/v1/halls/town/matters", json=body, headers=headers)
    assert at_w3.status_code == 201, at_w3.text
    assert (at_w3.json()["owner"], at_w3.json()["owner_counter"]) == ("li.na", "w3")
    listed = hall.get("/api/v1/halls/town/matters?owner=w3", supervisor(hall)).json()
    assert [m["id"] for m in listed] == [at_w3.json()["id"]]
