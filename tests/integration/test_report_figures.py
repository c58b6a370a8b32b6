"""Report figures against a day computed by hand, close-day, and window scores traced to their ledger events.

The day (Asia/Shanghai, Monday 2026-03-02), on the test hall: w1 serves id-card (A), w2 social (B) and
water (C), w3 id-card and social, w4 water; w1 and w2 are A/B partners.

    09:00 A001 issued           09:20 w2 finishes A002, calls B001     09:35 w2 finishes A003 (consulted)
    09:01 A002 issued           09:21 B001 no-show                     09:38 A004 issued
    09:02 B001 issued           09:22 w1 away (w2 covers)              09:40 w1 back
    09:03 C001 issued           09:23 A003 issued                      09:41 w1 closes, A004 left waiting
    09:05 w1 opens, calls A001  09:24 w2 calls C001                    10:00 close-day: A004 closed out
    09:06 start; 09:10 finish   09:30 w2 finishes C001 (no start),
    09:10 w1 calls A002,              calls A003 (on behalf of w1)
    09:11 transfers it to social
    09:12 w2 opens, calls A002 (it keeps its 09:01 place ahead of B001); 09:13 start
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text
from support.checks import check_service_row_balances
from support.inproc import Hall, hall_app

from server.jobs import due_days
from server.store.models import ComplaintRow, LedgerRow

D = "2026-03-02"
TOWN = "/api/v1/halls/town"


def the_day(h: Hall) -> dict[str, dict]:
    t = {}
    t["A001"] = h.issue("id-card", f"{D} 09:00")
    t["A002"] = h.issue("id-card", f"{D} 09:01")
    t["B001"] = h.issue("social", f"{D} 09:02")
    t["C001"] = h.issue("water", f"{D} 09:03")
    h.act("w1", "open", f"{D} 09:05")
    assert h.act("w1", "call-next")["ticket"]["number"] == "A001"
    h.act("w1", "start", f"{D} 09:06")
    h.act("w1", "finish", f"{D} 09:10", {"outcome": "completed"})
    assert h.act("w1", "call-next")["ticket"]["number"] == "A002"
    h.act("w1", "transfer", f"{D} 09:11", {"service": "social"})
    h.act("w2", "open", f"{D} 09:12")
    assert h.act("w2", "call-next")["ticket"]["number"] == "A002"
    h.act("w2", "start", f"{D} 09:13")
    h.act("w2", "finish", f"{D} 09:20", {"outcome": "completed"})
    assert h.act("w2", "call-next")["ticket"]["number"] == "B001"
    h.act("w2", "no-show", f"{D} 09:21")
    h.act("w1", "away", f"{D} 09:22", {"reason": "会议"})
    t["A003"] = h.issue("id-card", f"{D} 09:23")
    assert h.act("w2", "call-next", f"{D} 09:24")["ticket"]["number"] == "C001"
    h.act("w2", "finish", f"{D} 09:30", {"outcome": "completed"})
    called = h.act("w2", "call-next")["ticket"]
    assert called["number"] == "A003" and called["on_behalf_of"] == "w1"
    h.act("w2", "finish", f"{D} 09:35", {"outcome": "consulted"})
    t["A004"] = h.issue("id-card", f"{D} 09:38")
    h.act("w1", "back", f"{D} 09:40")
    h.act("w1", "close", f"{D} 09:41")
    return t


@pytest.fixture(params=["sqlite", "postgres"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Hall:
    with hall_app(tmp_path, f"{D} 08:00", kind=request.param) as h:
        yield h


def test_a_day_computed_by_hand(hall: Hall) -> None:
    the_day(hall)
    hall.at(f"{D} 10:00")
    r = hall.post(f"{TOWN}/close-day", {"date": D})
    assert r.status_code == 200 and r.get_json()["closed_out"] == 1
    day = hall.json(f"{TOWN}/reports/daily?date={D}")
    assert (day["issued"], day["served"], day["no_show"], day["closed_out"], day["waiting"]) == (6, 4, 1, 1, 0)
    # Waits of the five called tickets: A001 300, A002 540+60, B001 1080, C001 1260, A003 420.
    assert (day["avg_wait_s"], day["p50_wait_s"], day["p90_wait_s"], day["max_wait_s"]) == (732, 600, 1260, 1260)
    # Service: A001 240, A002 420, C001 360 and A003 300 (finished without start: counted from the call).
    assert day["avg_service_s"] == 330
    rows = {r["service"]: r for r in day["by_service"]}
    assert rows["id-card"] | {} == {
        "service": "id-card",
        "issued": 4,
        "transferred_in": 0,
        "transferred_out": 1,
        "served": 2,
        "no_show": 0,
        "closed_out": 1,
        "in_hall": 0,
        "cancelled": 0,  # PROTOCOL v1.2: a supervisor's cancel
        "avg_wait_s": 360,
        # served splits by outcome: A001 completed (办结), A003 consulted (咨询), not 办结
        "completed": 1,
        "incomplete": 0,
        "rejected": 0,
        "consulted": 1,
        "accepted": 0,  # 受理 of a promised matter (PROTOCOL v1.2 matters)
    }
    # 办结 is outcome completed only: of the 4 served, A003 was a consultation
    outcomes = ("served", "completed", "incomplete", "rejected", "consulted")
    assert tuple(day[k] for k in outcomes) == (4, 3, 0, 0, 1)
    assert tuple(day["by_counter"][1][k] for k in outcomes) == (3, 2, 0, 0, 1)
    assert {k: rows["social"][k] for k in ("issued", "transferred_in", "served", "no_show")} == {
        "issued": 1,
        "transferred_in": 1,
        "served": 1,
        "no_show": 1,
    }
    for row in day["by_service"]:
        check_service_row_balances(row)
    assert sum(r["issued"] for r in day["by_service"]) == day["issued"]
    assert sum(r["served"] for r in day["by_service"]) == day["served"]
    counters = {r["counter"]: r for r in day["by_counter"]}
    assert (counters["w1"]["served"], counters["w1"]["avg_service_s"]) == (1, 240)
    assert (counters["w2"]["served"], counters["w2"]["avg_service_s"], counters["w2"]["on_behalf"]) == (3, 360, 1)
    assert day["on_behalf"] == 1
    assert {h["hour"]: h["issued"] for h in day["by_hour"]} == {9: 6}
    # Uncovered (people waiting, nobody serving): id-card 09:00-09:05 and 09:41-10:00; social 09:02-09:12;
    # water 09:03-09:12. A window's time is the union over its services.
    unc = day["uncovered"]
    assert {r["service"]: r["uncovered_s"] for r in unc["services"]} == {"id-card": 1440, "social": 600, "water": 540}
    assert {r["counter"]: r["uncovered_s"] for r in unc["counters"]} == {
        "w1": 1440,
        "w2": 600,
        "w3": 720 + 1140,
        "w4": 540,
    }
    assert [d["counter"] for d in unc["desertions"]] == ["w1"]
    assert day["first_ask"] | {} == {
        "received": 6 - 1 - 1,  # called at a window, less the no-show (A004 was never received)
        "accepted": 4,
        "completed": 3,
        "acceptance_rate": 1.0,
        "completion_rate": 0.75,
    }


def test_close_day_closes_out_and_is_idempotent(hall: Hall) -> None:
    t = the_day(hall)
    track = t["A004"]["track_url"].rsplit("/", 1)[1]
    hall.at(f"{D} 17:31")
    first = hall.post(f"{TOWN}/close-day", {"date": D}).get_json()
    body = hall.json(f"/api/v1/track/{track}")
    assert body["status"] == "closed_out" and body["reason"] == "day_closed" and body["can_rate"] is False
    page = hall.client.get(f"/t/{track}")
    assert "已闭厅，未办理" in page.get_data(as_text=True)
    hall.at(f"{D} 18:00")
    again = hall.post(f"{TOWN}/close-day", {"date": D}).get_json()
    assert first["closed_out"] == 1 and again["closed_out"] == 0 and again["summary"] == first["summary"]
    ledger = hall.json(f"{TOWN}/ledger?from={D}&to={D}")
    assert [(r["status"], r["reason"]) for r in ledger if r["number"] == "A004"] == [("closed_out", "day_closed")]
    assert {r["reason"] for r in ledger if r["number"] != "A004"} == {None}
    sheet = list(
        csv.DictReader(
            io.StringIO(hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=csv").get_data(as_text=True).lstrip("\ufeff"))
        )
    )
    assert [(r["number"], r["reason"]) for r in sheet if r["reason"]] == [("A004", "day_closed")]
    history = hall.json(f"{TOWN}/history?number=A004&date={D}")
    kinds = [e["kind"] for e in history["events"]]
    assert kinds == ["issued", "closed_out"] and history["events"][1]["detail"]["reason"] == "day_closed"


def test_a_day_closed_early_counts_what_came_after_in_its_reports(hall: Hall) -> None:
    """`hallq close-day` run while the hall is still open: tickets issued and served afterwards count in the
    daily and monthly reports, a second run's summary agrees with the ledger, and after the real closing the
    scheduler makes the summary again, whole."""
    the_day(hall)
    hall.at(f"{D} 10:00")
    early = hall.post(f"{TOWN}/close-day", {"date": D}).get_json()
    assert (early["summary"]["issued"], early["summary"]["served"]) == (6, 4)
    hall.issue("id-card", f"{D} 10:30")
    hall.act("w3", "open", f"{D} 10:31")
    assert hall.act("w3", "call-next")["ticket"]["number"] == "A005"
    hall.act("w3", "finish", f"{D} 10:40", {"outcome": "completed"})
    day = hall.json(f"{TOWN}/reports/daily?date={D}")
    assert (day["issued"], day["served"], day["closed_out"]) == (7, 5, 1)
    assert len(hall.json(f"{TOWN}/ledger?from={D}&to={D}")) == 7

    hall.at(f"{D} 11:00")
    again = hall.post(f"{TOWN}/close-day", {"date": D}).get_json()
    assert again["closed_out"] == 0 and (again["summary"]["issued"], again["summary"]["served"]) == (7, 5)

    def day_closed_lines() -> int:
        with hall.ctx.db.read() as s:
            return s.scalar(select(func.count()).where(LedgerRow.kind == "day_closed"))

    lines = day_closed_lines()
    assert hall.post(f"{TOWN}/close-day", {"date": D}).get_json()["summary"] == again["summary"]
    assert day_closed_lines() == lines, "run again with nothing new, close-day changes nothing"

    next_morning = datetime.fromisoformat("2026-03-03 09:00").replace(tzinfo=hall.zone)
    town = hall.ctx.hall("town")
    assert date.fromisoformat(D) in due_days(hall.ctx, town, next_morning), "made again after the closing"
    hall.at("2026-03-03 09:00")
    hall.post(f"{TOWN}/close-day", {"date": D})
    assert date.fromisoformat(D) not in due_days(hall.ctx, town, next_morning), "now whole: not again"
    month = hall.json(f"{TOWN}/reports/monthly?month={D[:7]}")
    assert (month["issued"], month["served"]) == (7, 5)
    assert hall.json(f"{TOWN}/reports/daily?date={D}")["issued"] == 7


def test_a_day_that_has_not_begun_cannot_be_closed(hall: Hall) -> None:
    hall.at(f"{D} 23:59")
    early = hall.post(f"{TOWN}/close-day", {"date": "2026-03-03"})
    assert early.status_code == 422 and early.get_json()["error"]["code"] == "invalid_body"
    assert hall.json(f"{TOWN}/reports/daily?date=2026-03-03")["issued"] == 0
    assert hall.post(f"{TOWN}/close-day", {"date": "9999-12-31"}).status_code == 422
    assert hall.post(f"{TOWN}/close-day", {"date": D}).status_code == 200


def test_a_return_visit_with_its_notice_code_counts_as_a_repeat_visit(hall: Hall) -> None:
    """跑两趟: the kiosk's ticket issued with a 一次性告知 code is linked to the first visit and counted."""
    hall.issue("id-card", f"{D} 09:00")
    other = hall.issue("id-card", f"{D} 09:01")
    hall.act("w1", "open", f"{D} 09:05")
    hall.act("w1", "call-next")
    done = hall.act(
        "w1", "finish", f"{D} 09:10", {"outcome": "incomplete", "missing": ["户口簿", "照片"], "print_notice": False}
    )
    code = done["notice"]["code"]
    before = hall.json(f"{TOWN}/reports/daily?date={D}")["one_time_notice"]
    assert before == {"notices": 1, "items": 2, "repeat_visits": 0}
    hall.at(f"{D} 11:00")
    back = hall.post(f"{TOWN}/tickets", {"service": "id-card", "notice": code}, auth=False)
    assert back.status_code == 201, back.get_json()
    plain = hall.issue("id-card")  # a ticket without a code is no return visit
    assert plain["id"] != back.get_json()["id"] and other["id"] != back.get_json()["id"]
    live = hall.json(f"{TOWN}/reports/daily?date={D}")["one_time_notice"]
    assert live == {"notices": 1, "items": 2, "repeat_visits": 1}
    hall.at(f"{D} 18:00")
    closed = hall.post(f"{TOWN}/close-day", {"date": D}).get_json()
    assert closed["summary"]["one_time_notice"] == live  # the stored summary keeps it
    assert hall.json(f"{TOWN}/reports/daily?date={D}")["one_time_notice"] == live
    month = hall.json(f"{TOWN}/reports/monthly?month={D[:7]}")
    assert month["one_time_notice"]["repeat_visits"] == 1


def test_monthly_scores_trace_each_deduction_to_its_events(hall: Hall) -> None:
    t = the_day(hall)
    hall.at(f"{D} 09:50")
    tokens = {n: t[n]["track_url"].rsplit("/", 1)[1] for n in ("A001", "A002", "C001")}
    for number, level in (("A001", 5), ("A002", 2), ("C001", 3)):
        assert hall.post(f"/api/v1/track/{tokens[number]}/rating", {"level": level}, auth=False).status_code == 201
    with hall.ctx.db.write() as s:  # verified by a call back (the complaint actions come with the /admin cases)
        s.execute(text("UPDATE complaints SET status = 'verified'"))
        assert s.query(ComplaintRow).count() == 1
    hall.at("2026-04-01 09:00")
    month = hall.json(f"{TOWN}/reports/monthly?month=2026-03")
    assert month["month"] == "2026-03" and month["issued"] == 6 and month["satisfaction_rate"] == round(2 / 3, 4)
    windows = {w["counter"]: w for w in month["windows"]}
    # w3 and w4 never opened that month: not scored (未参与考核), not "100 优秀"
    for idle in ("w3", "w4"):
        assert (windows[idle]["score"], windows[idle]["grade"], windows[idle]["scored"]) == (None, None, False)
        assert (windows[idle]["served"], windows[idle]["deductions"]) == (0, [])
    assert windows["w1"]["scored"] is windows["w2"]["scored"] is True
    w1 = windows["w1"]
    assert (w1["score"], w1["grade"]) == (98, "优秀")
    [closed] = w1["deductions"]
    lines = hall.json(f"{TOWN}/events?ids={','.join(map(str, closed['events']))}")
    assert [(x["kind"], x["counter"], x["at"][11:16]) for x in lines] == [("counter_closed", "w1", "09:41")]
    w2 = windows["w2"]
    assert (w2["score"], w2["grade"]) == (95, "优秀")
    [complaint] = w2["deductions"]
    lines = hall.json(f"{TOWN}/events?ids={','.join(map(str, complaint['events']))}")
    assert {x["kind"] for x in lines} == {"rated", "complaint_opened"}
    assert all(x["counter"] == "w2" for x in lines)
    history = hall.json(f"{TOWN}/history?ticket={t['A002']['id']}")
    assert {e["id"] for e in history["events"]} & set(complaint["events"])
    assert hall.get(f"{TOWN}/reports/monthly?month=2026-13").status_code == 422
    for bad in ("2026-3", "March", "", "2026-03-01"):
        r = hall.get(f"{TOWN}/reports/monthly?month={bad}")
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_query", bad


def test_exports_open_in_a_spreadsheet(hall: Hall) -> None:
    the_day(hall)
    r = hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("号码", "事项", "状态") and [row[0] for row in rows[1:]] == [
        "A001",
        "A002",
        "B001",
        "C001",
        "A003",
        "A004",
    ]
    r = hall.get(f"{TOWN}/reports/daily?date={D}&format=csv")
    assert r.data.startswith("\ufeff".encode()) and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert ["issued", "6"] in table
    r = hall.get(f"{TOWN}/reports/monthly?month=2026-03&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert {"summary", "by_service", "by_counter", "windows"} <= set(book.sheetnames)
    assert hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=pdf").status_code == 422


def test_weekly_range_and_the_printable_month(hall: Hall) -> None:
    the_day(hall)
    week = hall.json(f"{TOWN}/reports/weekly?date=2026-03-05")
    assert (week["week"], week["from"], week["to"]) == ("2026-W10", "2026-03-02", "2026-03-08")
    assert [d["issued"] for d in week["days"]] == [6, 0, 0, 0, 0, 0, 0] and week["issued"] == 6
    span = hall.json(f"{TOWN}/reports/range?from=2026-02-28&to=2026-03-03")
    assert span["issued"] == 6 and len(span["days"]) == 4
    for bad in ("from=2026-03-03&to=2026-03-01", "from=2025-01-01&to=2026-12-31", "from=x&to=2026-03-01"):
        r = hall.get(f"{TOWN}/reports/range?{bad}")
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_query", bad
    from server.auth import add_user, start_session

    add_user(hall.ctx, "zhang", "a-long-password", "supervisor", None, hall.clock.now())
    assert hall.client.get("/admin/reports/monthly?month=2026-03").status_code == 302  # not logged in
    with hall.client.session_transaction() as session:
        session["user"], session["sid"] = "zhang", start_session(hall.ctx, "zhang")  # as /login makes it
    page = hall.client.get("/admin/reports/monthly?hall=town&month=2026-03")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "月度报告 2026年3月" in html and html.count("<svg") == 3
    assert "<script" not in html.split("</head>")[1].replace('<script type="application/json" id="hq-strings">', "")
