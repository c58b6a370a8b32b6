"""PROTOCOL v1.2, "Calling out of order, parking, supervisors' actions": a named call (指呼), park (挂起) and
resume, the recall limit, a supervisor's cancel and reactivate, a ticket's history, and parked at closing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def supervisor(hall: AppHall) -> str:
    return hall.token("--role", "supervisor", "--hall", "town")


def history(hall: AppHall, ticket: str, token: str | None = None) -> list[dict[str, Any]]:
    r = hall.get(f"/api/v1/tickets/{ticket}/history", token or supervisor(hall))
    assert r.status_code == 200, r.text
    return list(r.json())


def database(hall: AppHall) -> list[tuple[Any, ...]]:
    """Every row a refused action could have written."""
    with hall.ctx.db.read() as s:
        return [
            tuple(r)
            for table in ("tickets", "counters", "ledger")
            for r in s.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
        ]


def about(seconds: int, expected: int) -> bool:
    """A duration on the test clock (the system clock moved on by the test): a busy machine adds a second or two."""
    return expected <= seconds <= expected + 3


def refused(hall: AppHall, status: int, code: str, counter: str, action: str, body: Any, token: str | None = None):
    before = database(hall)
    r = hall.act(counter, action, body, token)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert database(hall) == before, f"{action} refused with {code} but wrote"


# -- 指呼 ---------------------------------------------------------------------------------------------


def test_a_named_call_takes_that_waiting_ticket_out_of_order_and_the_display_announces_it(hall: AppHall) -> None:
    first = hall.issue("id-card")
    second = hall.issue("id-card")
    hall.act("w1", "open")
    display = hall.listen("/display", "hall=town")
    display.wait_for("snapshot")
    hall.advance(30)
    r = hall.act("w1", "call", {"ticket": second["id"], "reason": "老人复印户口簿回来了"})
    assert r.status_code == 200, r.text
    t = r.json()["ticket"]
    assert (t["id"], t["status"], t["served_by"]) == (second["id"], "called", "w1") and about(t["wait_s"], 30)
    call = display.wait_for("call", lambda c: c["ticket"] == second["id"])
    assert (call["counter"], call["recall"], call["number"]) == ("w1", False, second["number"])
    lines = history(hall, second["id"])
    assert [x["kind"] for x in lines] == ["issued", "called"]
    assert lines[1]["reason"] == "老人复印户口簿回来了" and lines[1]["named"] and lines[1]["counter"] == "w1"
    # the first ticket is still next in line for call-next
    hall.act("w1", "finish", {"outcome": "completed"})
    assert hall.act("w1", "call-next").json()["ticket"]["id"] == first["id"]


def test_a_named_call_by_the_typed_number(hall: AppHall) -> None:
    hall.issue("id-card")
    second = hall.issue("id-card")
    hall.act("w1", "open")
    r = hall.act("w1", "call", {"number": second["number"].lower(), "reason": "returned"})
    assert r.status_code == 200 and r.json()["ticket"]["id"] == second["id"]


def test_named_call_refusals_write_nothing(hall: AppHall) -> None:
    waiting = hall.issue("id-card")
    social = hall.issue("social")
    east = hall.issue("id-card", hall="east")
    refused(hall, 409, "counter_not_open", "w1", "call", {"ticket": waiting["id"], "reason": "x"})
    hall.act("w1", "open")
    refused(hall, 422, "invalid_body", "w1", "call", {"ticket": waiting["id"]})
    refused(hall, 422, "invalid_reason", "w1", "call", {"ticket": waiting["id"], "reason": "   "})
    refused(hall, 422, "invalid_body", "w1", "call", {"reason": "x"})
    refused(hall, 404, "not_found", "w1", "call", {"ticket": "nope", "reason": "x"})
    refused(hall, 403, "forbidden", "w1", "call", {"ticket": east["id"], "reason": "x"})  # another hall
    refused(hall, 403, "forbidden", "w1", "call", {"ticket": social["id"], "reason": "x"})  # another service
    hall.act("w1", "call-next")
    refused(hall, 409, "ticket_in_progress", "w1", "call", {"ticket": waiting["id"], "reason": "x"})
    hall.act("w3", "open")
    refused(hall, 409, "not_waiting", "w3", "call", {"ticket": waiting["id"], "reason": "x"})


def test_a_supervisor_may_call_any_ticket_at_any_counter(hall: AppHall) -> None:
    social = hall.issue("social")
    hall.act("w1", "open")
    r = hall.act("w1", "call", {"ticket": social["id"], "reason": "窗口调剂"}, supervisor(hall))
    assert r.status_code == 200 and r.json()["ticket"]["served_by"] == "w1"
    assert history(hall, social["id"])[-1]["clerk"].startswith("supervisor")


def test_a_named_call_covers_the_away_partners_queue_on_its_behalf(hall: AppHall) -> None:
    water = hall.issue("water")
    hall.act("w1", "open")
    hall.act("w2", "open")
    hall.act("w2", "away", {"reason": "lunch"})
    r = hall.act("w1", "call", {"ticket": water["id"], "reason": "covering"})
    assert r.status_code == 200 and r.json()["ticket"]["on_behalf_of"] == "w2"


# -- 挂起 ---------------------------------------------------------------------------------------------


def test_fetch_documents_parks_the_ticket_and_any_counter_of_its_service_resumes_it(hall: AppHall) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    hall.advance(10)
    hall.act("w1", "call-next")
    hall.act("w1", "start")
    hall.advance(60)
    r = hall.act("w1", "park", {"kind": "fetch_documents", "note": "复印户口簿"})
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["status"] == "parked" and about(r.json()["ticket"]["service_s"], 60)
    assert r.json()["counter"]["state"] == "open"
    # the counter is free: it calls the next resident
    other = hall.issue("id-card")
    assert hall.act("w1", "call-next").json()["ticket"]["id"] == other["id"]  # a parked ticket is not called
    hall.advance(1200)  # 20 minutes away: neither wait nor service
    desk = hall.get("/api/v1/counters/w3/desk", hall.counter_token("w3")).json()
    parked = desk["parked"]
    assert [(p["id"], p["kind"], p["counter"], p["note"]) for p in parked] == [
        (t["id"], "fetch_documents", "w1", "复印户口簿")
    ]
    assert about(parked[0]["parked_s"], 1200)
    assert hall.get("/api/v1/counters/w2/desk", hall.counter_token("w2")).json()["parked"] == []  # not its service
    back = hall.act("w3", "resume", {"ticket": t["id"]})
    assert back.status_code == 200, back.text
    bt = back.json()["ticket"]
    assert (bt["status"], bt["served_by"]) == ("called", "w3")
    assert about(bt["wait_s"], 10) and about(bt["service_s"], 60)
    hall.act("w3", "start")
    hall.advance(30)
    done = hall.act("w3", "finish", {"outcome": "completed"}).json()["ticket"]
    assert about(done["wait_s"], 10) and about(done["service_s"], 90)  # the 20 parked minutes count as neither
    kinds = [(x["kind"], x["counter"], x["park_kind"]) for x in history(hall, t["id"], hall.counter_token("w3"))]
    assert kinds == [
        ("issued", None, None),
        ("called", "w1", None),
        ("started", "w1", None),
        ("parked", "w1", "fetch_documents"),
        ("resumed", "w3", "fetch_documents"),
        ("started", "w3", None),
        ("finished", "w3", None),
    ]


@pytest.mark.parametrize("kind", ["keep_documents", "wait_step"])
def test_keep_documents_and_wait_step_come_back_to_this_counter_only(hall: AppHall, kind: str) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "park", {"kind": kind}).json()["ticket"]["status"] == "parked"
    assert hall.get("/api/v1/counters/w3/desk", hall.counter_token("w3")).json()["parked"] == []
    refused(hall, 403, "forbidden", "w3", "resume", {"ticket": t["id"]})
    r = hall.act("w1", "resume", {"ticket": t["id"]})
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "called"


def test_park_and_resume_refusals_write_nothing(hall: AppHall) -> None:
    t = hall.issue("id-card")
    east = hall.issue("id-card", hall="east")
    hall.act("w1", "open")
    refused(hall, 409, "no_ticket", "w1", "park", {"kind": "wait_step"})
    hall.act("w1", "call-next")
    refused(hall, 422, "invalid_body", "w1", "park", {"kind": "lunch"})
    refused(hall, 422, "invalid_body", "w1", "park", {})
    hall.act("w3", "open")
    refused(hall, 409, "not_parked", "w3", "resume", {"ticket": t["id"]})  # called, not parked
    refused(hall, 403, "forbidden", "w3", "resume", {"ticket": east["id"]})
    refused(hall, 404, "not_found", "w3", "resume", {"ticket": "nope"})
    hall.act("w1", "park", {"kind": "fetch_documents"})
    hall.issue("id-card")
    hall.act("w3", "call-next")
    refused(hall, 409, "ticket_in_progress", "w3", "resume", {"ticket": t["id"]})


def test_a_parked_ticket_is_resumed_once_only(hall: AppHall) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w3", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "park", {"kind": "fetch_documents"})
    assert hall.act("w3", "resume", {"ticket": t["id"]}).status_code == 200
    refused(hall, 409, "not_parked", "w1", "resume", {"ticket": t["id"]})


def test_parked_at_closing_is_closed_out_with_its_kind(hall: AppHall) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "park", {"kind": "wait_step", "note": "等盖章"})
    from server.services import closing

    today = date.fromisoformat(t["issued_at"][:10])
    closed, _ = closing.close_day(hall.ctx, "town", today)
    assert closed.closed_out == 1
    lines = history(hall, t["id"])
    assert lines[-1]["kind"] == "closed_out" and lines[-1]["park_kind"] == "wait_step"
    assert lines[-1]["reason"] == "day_closed"
    track = hall.get(f"/api/v1/tickets/{t['id']}/history", supervisor(hall))
    assert track.status_code == 200


# -- the recall limit ------------------------------------------------------------------------------


def test_after_max_recalls_a_recall_answers_recall_limit_then_no_show(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    for _ in range(3):  # the hall's default max_recalls
        assert hall.act("w1", "recall").status_code == 200
    refused(hall, 409, "recall_limit", "w1", "recall", None)
    assert hall.act("w1", "no-show").json()["ticket"]["status"] == "no_show"
    desk = hall.get("/api/v1/counters/w1/desk", hall.counter_token("w1")).json()
    assert desk["max_recalls"] == 3


def test_max_recalls_is_a_hall_setting(make_app_hall: Any) -> None:
    hall = make_app_hall(
        edit=lambda t: t.replace("max_priority_streak = 2\n", "max_priority_streak = 2\nmax_recalls = 1\n", 1)
    )
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "recall").status_code == 200
    assert hall.act("w1", "recall").json()["error"]["code"] == "recall_limit"


# -- a supervisor's corrections ----------------------------------------------------------------------


def test_a_no_show_is_reactivated_and_waits_again_in_its_original_place(hall: AppHall) -> None:
    first = hall.issue("id-card")
    hall.advance(5)
    later = hall.issue("id-card")
    hall.act("w1", "open")
    hall.advance(60)
    hall.act("w1", "call-next")
    hall.act("w1", "no-show")
    hall.advance(300)
    r = hall.post(f"/api/v1/tickets/{first['id']}/reactivate", {"reason": "居民回来了"}, supervisor(hall))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting" and r.json()["finished_at"] is None
    hall.advance(20)
    again = hall.act("w1", "call-next").json()["ticket"]
    assert again["id"] == first["id"]  # ahead of the ticket issued after it
    assert about(again["wait_s"], 65 + 20)  # the five minutes as a no-show are not waiting
    line = history(hall, first["id"])[-2]
    assert (line["kind"], line["reason"]) == ("reactivated", "居民回来了") and line["clerk"]
    assert later["id"] != again["id"]


def test_a_supervisor_cancels_and_reactivates_a_ticket(hall: AppHall) -> None:
    t = hall.issue("water")
    r = hall.post(f"/api/v1/tickets/{t['id']}/cancel", {"reason": "重复取号"}, supervisor(hall))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert hall.get("/api/v1/halls/town/services").json()[2]["waiting"] == 0
    r = hall.post(f"/api/v1/tickets/{t['id']}/reactivate", {"reason": "误操作"}, supervisor(hall))
    assert r.status_code == 200 and r.json()["status"] == "waiting"
    kinds = [(x["kind"], x["reason"]) for x in history(hall, t["id"])]
    assert kinds == [("issued", None), ("cancelled", "重复取号"), ("reactivated", "误操作")]


def test_corrections_need_a_supervisor_of_that_hall_and_a_reason_and_write_nothing_else(hall: AppHall) -> None:
    t = hall.issue("id-card")
    path = f"/api/v1/tickets/{t['id']}"
    cases = [
        (f"{path}/cancel", {"reason": "x"}, hall.counter_token("w1"), 403, "forbidden"),
        (f"{path}/cancel", {"reason": "x"}, hall.token("--role", "supervisor", "--hall", "east"), 403, "forbidden"),
        (f"{path}/cancel", {"reason": "x"}, None, 401, "unauthorized"),
        (f"{path}/cancel", {}, supervisor(hall), 422, "invalid_body"),
        (f"{path}/cancel", {"reason": ""}, supervisor(hall), 422, "invalid_reason"),
        (f"{path}/reactivate", {"reason": "x"}, supervisor(hall), 409, "wrong_status"),  # it is waiting
        ("/api/v1/tickets/nope/cancel", {"reason": "x"}, supervisor(hall), 404, "not_found"),
    ]
    for url, body, token, status, code in cases:
        before = database(hall)
        r = hall.post(url, body, token)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (url, body, r.text)
        assert database(hall) == before
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    before = database(hall)
    r = hall.post(f"{path}/cancel", {"reason": "x"}, supervisor(hall))  # held: finish it at the counter
    assert (r.status_code, r.json()["error"]["code"]) == (409, "wrong_status") and database(hall) == before


def test_only_a_ticket_of_today_is_reactivated(hall: AppHall) -> None:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "no-show")
    hall.advance(86400)
    r = hall.post(f"/api/v1/tickets/{t['id']}/reactivate", {"reason": "x"}, supervisor(hall))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_today")


def test_history_is_for_staff_of_the_tickets_hall(hall: AppHall) -> None:
    t = hall.issue("id-card")
    url = f"/api/v1/tickets/{t['id']}/history"
    assert hall.get(url).status_code == 401
    assert hall.get(url, hall.counter_token("e1")).status_code == 403
    assert hall.get(url, hall.kiosk_token()).status_code == 403
    assert hall.get(url, hall.counter_token("w4")).json()[0]["kind"] == "issued"
    assert hall.get("/api/v1/tickets/nope/history", hall.admin_token()).status_code == 404


def test_the_daily_report_counts_a_cancelled_ticket_in_its_own_column(hall: AppHall) -> None:
    t = hall.issue("water")
    hall.post(f"/api/v1/tickets/{t['id']}/cancel", {"reason": "x"}, supervisor(hall))
    day = t["issued_at"][:10]
    report = hall.get(f"/api/v1/halls/town/reports/daily?date={day}", hall.admin_token()).json()
    water = next(r for r in report["by_service"] if r["service"] == "water")
    assert (water["issued"], water["cancelled"], water["in_hall"]) == (1, 1, 0)


# -- 求助 (issue 24) ------------------------------------------------------------------------------------


def test_a_counters_help_request_reaches_admin_live_and_a_supervisor_acknowledges_it(hall: AppHall) -> None:
    admin = hall.listen("/admin", "hall=town", auth={"token": supervisor(hall)})
    admin.wait_for("alerts")
    r = hall.act("w1", "help")
    assert r.status_code == 200, r.text
    alert = admin.wait_for("alert", lambda a: a["kind"] == "help")
    assert alert["detail"]["counter"] == "w1" and alert["cleared_at"] is None
    assert hall.act("w1", "help").status_code == 200  # asking again changes nothing
    listed = [a for a in hall.get("/api/v1/halls/town/alerts", supervisor(hall)).json() if a["kind"] == "help"]
    assert [a["id"] for a in listed] == [alert["id"]]
    desk = hall.get("/api/v1/counters/w1/desk", hall.counter_token("w1")).json()
    assert desk["help"]["id"] == alert["id"]
    # the scheduler's scan leaves it alone: only a supervisor clears it
    from server.services import alerts

    alerts.scan(hall.ctx, "town", lambda kiosk: "ok")
    assert any(a["kind"] == "help" for a in hall.get("/api/v1/halls/town/alerts", supervisor(hall)).json())

    url = f"/api/v1/alerts/{alert['id']}/acknowledge"
    assert hall.post(url, {}, hall.counter_token("w1")).status_code == 403
    assert hall.post(url, {}, hall.token("--role", "supervisor", "--hall", "east")).status_code == 403
    assert hall.post("/api/v1/alerts/999999/acknowledge", {}, supervisor(hall)).status_code == 404
    assert hall.post("/api/v1/alerts/x%00/acknowledge", {}, supervisor(hall)).status_code == 404
    done = hall.post(url, {}, supervisor(hall))
    assert done.status_code == 200 and done.json()["cleared_at"] and done.json()["detail"]["acknowledged_by"]
    admin.wait_for("alert", lambda a: a["id"] == alert["id"] and a["cleared_at"])
    again = hall.post(url, {}, supervisor(hall))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_acknowledged")
    assert hall.get("/api/v1/counters/w1/desk", hall.counter_token("w1")).json()["help"] is None
    with hall.ctx.db.read() as s:
        kinds = [
            tuple(r) for r in s.execute(text("SELECT kind, counter_id FROM ledger WHERE kind LIKE 'help%' ORDER BY id"))
        ]
    assert kinds == [("help_asked", "w1"), ("help_acknowledged", "w1")]


def test_the_managers_page_writes_every_open_alert_from_its_own_kinds_string(hall: AppHall) -> None:
    """/admin renders each open alert's line from the string of its kind, with that kind's values: a 求助 names
    the window and the clerk, a failing event receiver its address and counts. Those two placeholders were not
    filled and /admin answered 500 to every manager while such an alert was open."""
    from server.store.models import AlertRow

    hall.act("w1", "help")
    with hall.ctx.db.write() as s:  # as alerts.scan raises it from deliveries.failing
        detail = {"target": "https://receiver.example/hooks", "failed": 3, "retrying": 2}
        s.add(AlertRow(hall_id="town", key="webhook_failing:x", kind="webhook_failing", detail=detail,
                       raised_at=hall.ctx.clock.now()))  # fmt: skip
    hall.add_user("sam", "supervisor", hall="town")
    for lang, help_line, failing_line in (
        ("zh-CN", "请求主管协助", "事件接收方连续推送失败：https://receiver.example/hooks（失败 3，重试中 2）"),
        ("en", "asks for a supervisor", "An event receiver keeps failing: https://receiver.example/hooks (3 failed, 2"),
    ):
        page = hall.log_in("sam").get(f"/admin?lang={lang}")
        assert page.status_code == 200, page.text[-500:]
        window = next(c.name for c in hall.ctx.hall("town").counters if c.id == "w1")
        assert f"{window} {help_line}" in page.text
        assert failing_line in page.text


def test_the_residents_page_says_a_parked_ticket_is_on_hold_and_a_cancelled_one_ended(hall: AppHall) -> None:
    t = hall.issue("id-card")
    other = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "park", {"kind": "fetch_documents"})
    page = hall.get(t["track_url"])
    assert page.status_code == 200 and "暂时挂起" in page.text and "不必重新取号" in page.text
    assert hall.get("/api/v1/track/" + t["track_url"].rsplit("/", 1)[1]).json()["status"] == "parked"
    hall.post(f"/api/v1/tickets/{other['id']}/cancel", {"reason": "重复取号"}, supervisor(hall))
    assert "已作废" in hall.get(other["track_url"]).text
