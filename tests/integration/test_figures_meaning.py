"""Figures that say what they mean (issue 20): 办结 is outcome completed; 已服务 is any finish; one rule for
minutes; an idle window is not scored; the monthly report's date is the hall's; the XLSX ledger is the 台账.

The day (Asia/Shanghai, 2026-03-02), on the test hall: w1 (id-card) finishes A001 completed and A002
incomplete; w2 (social, water) sends B001 to w3 with a reason, w3 finishes it rejected; w2 finishes C001
consulted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from support.inproc import Hall, hall_app

from server.i18n import catalogue, minutes_text, minutes_up

D = "2026-03-02"
TOWN = "/api/v1/halls/town"


@pytest.fixture(params=["sqlite", "postgres"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    with hall_app(tmp_path, f"{D} 08:00", kind=request.param) as h:
        yield h


def signed_in(h: Hall) -> None:
    """The test client as a supervisor signed in to the pages."""
    from server.auth import add_user, start_session

    add_user(h.ctx, "zhang", "a-long-password", "supervisor", None, h.clock.now())
    with h.client.session_transaction() as session:
        session["user"], session["sid"] = "zhang", start_session(h.ctx, "zhang")  # as /login makes it


def day(h: Hall) -> None:
    """Four finished tickets, one of each outcome, and a transfer with its reason."""
    h.issue("id-card", f"{D} 09:00")
    h.issue("id-card", f"{D} 09:01")
    h.issue("social", f"{D} 09:02")
    h.issue("water", f"{D} 09:03")
    h.act("w1", "open", f"{D} 09:05")
    h.act("w2", "open", f"{D} 09:05")
    assert h.act("w1", "call-next")["ticket"]["number"] == "A001"
    h.act("w1", "finish", f"{D} 09:10", {"outcome": "completed"})
    assert h.act("w1", "call-next")["ticket"]["number"] == "A002"
    h.act("w1", "finish", f"{D} 09:12", {"outcome": "incomplete", "missing": ["户口簿"]})
    assert h.act("w2", "call-next", f"{D} 09:13")["ticket"]["number"] == "B001"
    h.act("w3", "open", f"{D} 09:14")
    h.act("w2", "transfer", f"{D} 09:14", {"counter": "w3", "reason": "需要复核"})
    assert h.act("w3", "call-next", f"{D} 09:15")["ticket"]["number"] == "B001"
    h.act("w3", "finish", f"{D} 09:20", {"outcome": "rejected", "note": "不符合条件"})
    assert h.act("w2", "call-next", f"{D} 09:21")["ticket"]["number"] == "C001"
    h.act("w2", "finish", f"{D} 09:22", {"outcome": "consulted"})


OUTCOMES = ("served", "completed", "incomplete", "rejected", "consulted")


def test_completed_is_only_the_outcome_completed_everywhere(hall: Hall) -> None:
    day(hall)
    report = hall.json(f"{TOWN}/reports/daily?date={D}")
    assert tuple(report[k] for k in OUTCOMES) == (4, 1, 1, 1, 1)
    assert [tuple(d[k] for k in OUTCOMES) for d in hall.json(f"{TOWN}/reports/range?from={D}&to={D}")["days"]] == [
        (4, 1, 1, 1, 1)
    ]
    by_counter = {r["counter"]: tuple(r[k] for k in OUTCOMES) for r in report["by_counter"]}
    assert by_counter == {"w1": (2, 1, 1, 0, 0), "w2": (1, 0, 0, 0, 1), "w3": (1, 0, 0, 1, 0)}
    by_service = {r["service"]: tuple(r[k] for k in OUTCOMES) for r in report["by_service"]}
    assert by_service["id-card"] == (2, 1, 1, 0, 0) and by_service["social"] == (1, 0, 0, 1, 0)
    today = hall.json(f"{TOWN}/dashboard")["today"]
    assert tuple(today[k] for k in OUTCOMES) == (4, 1, 1, 1, 1)
    mine = hall.json("/api/v1/counters/w1/desk")["today"]  # the counter's tally: the one person finished all four
    assert tuple(mine[k] for k in OUTCOMES) == (4, 1, 1, 1, 1)
    # The pages name each: 已服务 for any finish, 办结 only for completed.
    signed_in(hall)
    page = hall.client.get("/counter/w3").get_data(as_text=True)  # the tally of w3's clerk: the same person
    assert '<dt>已服务</dt><dd id="today-served">4</dd>' in page
    assert '<dt>办结</dt><dd id="today-completed">1</dd>' in page and '<b id="today-rejected">1</b>' in page
    admin = hall.client.get("/admin").get_data(as_text=True)
    assert '<dt>今日已服务</dt><dd id="today-served">4</dd>' in admin
    assert '<dt>今日办结</dt><dd id="today-completed">1</dd>' in admin
    assert '<dd id="today-incomplete">1</dd>' in admin and '<dd id="today-consulted">1</dd>' in admin
    # A month summarised from a closed day's stored totals keeps the split.
    hall.at(f"{D} 23:00")
    assert hall.post(f"{TOWN}/close-day", {"date": D}).status_code == 200
    month = hall.json(f"{TOWN}/reports/monthly?month=2026-03")
    assert tuple(month[k] for k in OUTCOMES) == (4, 1, 1, 1, 1)
    signed_in(hall)  # the morning's login went idle by 23:00 ([server] session_idle_minutes)
    page = hall.client.get("/admin/reports/monthly?month=2026-03").get_data(as_text=True)
    assert "<dt>服务人次</dt><dd>4</dd>" in page and "<dt>办结</dt><dd>1</dd>" in page


def test_one_rule_for_minutes() -> None:
    t = catalogue("common")["zh-CN"]
    assert [minutes_up(s) for s in (0, 1, 59, 60, 61, 96, 120, 121)] == [0, 1, 1, 1, 2, 2, 2, 3]
    assert minutes_text(59, t) == "不到1分钟" and minutes_text(96, t) == "2 分钟" and minutes_text(0, t) == "0 分钟"
    assert minutes_text(96, t, about=True) == "约 2 分钟" and minutes_text(0, t, about=True) == "不到1分钟"
    en = catalogue("common")["en"]
    assert minutes_text(59, en) == "under 1 min" and minutes_text(96, en, about=True) == "about 2 min"


def test_the_monthly_report_scores_only_windows_that_served(hall: Hall) -> None:
    day(hall)
    hall.at("2026-04-01 07:30")  # 07:30 in the hall, still 2026-03-31 in UTC
    signed_in(hall)
    page = hall.client.get("/admin/reports/monthly?month=2026-03").get_data(as_text=True)
    assert "打印日期 2026-04-01" in page  # the hall's date, not the server's (UTC) one
    assert '<span class="hq-nowrap">月度报告 2026年3月</span>' in page  # the title does not break in "2026-03"
    windows = {w["counter"]: w for w in hall.json(f"{TOWN}/reports/monthly?month=2026-03")["windows"]}
    assert (windows["w4"]["score"], windows["w4"]["grade"], windows["w4"]["scored"]) == (None, None, False)
    assert windows["w3"]["scored"] and windows["w3"]["grade"] == "优秀"
    w4 = page[page.index("4号窗口") :]
    assert w4[: w4.index("</tr>")].count("未参与考核") == 1
    assert "优秀" not in w4[: w4.index("</tr>")]


def test_the_xlsx_ledger_is_the_halls_ledger(hall: Hall) -> None:
    day(hall)
    r = hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["台账"]
    rows = list(book.active.values)
    head = rows[0]
    assert head[:4] == ("号码", "事项", "状态", "优先")
    assert "办理窗口" in head and "工作人员" in head and "办理结果" in head and "id" not in head
    rec = {row[0]: dict(zip(head, row, strict=True)) for row in rows[1:]}
    b1 = rec["B001"]
    assert (b1["事项"], b1["状态"], b1["优先"], b1["办理结果"]) == ("社保医保", "已服务", "否", "不予受理")
    assert b1["办理窗口"] == "3号窗口" and b1["首问窗口"] == "2号窗口"
    assert b1["取号时间"] == f"{D} 09:02:00"  # the hall's wall clock (UTC 01:02)
    assert b1["转办记录（窗口→去向：原因）"] == "2号窗口→3号窗口：需要复核"
    assert rec["A002"]["办理结果"] == "材料不全" and rec["A002"]["缺少材料"] == "户口簿"
    assert rec["C001"]["办理结果"] == "咨询" and rec["A001"]["办理结果"] == "办结"
    # CSV keeps the contract's keys, and gives the same 台账 on request.
    plain = hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=csv").get_data(as_text=True).lstrip("\ufeff")
    first = next(csv.DictReader(io.StringIO(plain)))
    assert {"id", "number", "service", "outcome", "clerk", "counter"} <= set(first)
    assert (first["service"], first["outcome"]) == ("id-card", "completed")
    labelled = hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=csv&labels=zh").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(labelled.lstrip("\ufeff"))))
    assert tuple(table[0]) == head and [c or None for c in table[2]] == [None if v is None else str(v) for v in rows[2]]
    bad = hall.get(f"{TOWN}/ledger?from={D}&to={D}&format=csv&labels=fr")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_query"


def test_one_name_per_state_and_minutes_by_the_one_rule_on_admin(hall: Hall) -> None:
    a1 = hall.issue("id-card", f"{D} 09:00:00")
    hall.act("w1", "open", f"{D} 09:00:00")
    hall.act("w2", "open", f"{D} 09:00:00")
    hall.at(f"{D} 09:01:36")  # A001 has waited 96 s
    signed_in(hall)
    admin = hall.client.get("/admin").get_data(as_text=True)
    row = admin[admin.index('<tr data-service="id-card">') :]
    assert '<td class="num" data-field="longest">2 分钟</td>' in row[: row.index("</tr>")]
    hall.issue("water", f"{D} 09:01:37")
    hall.at(f"{D} 09:02:36")  # C001 has waited 59 s
    admin = hall.client.get("/admin").get_data(as_text=True)
    row = admin[admin.index('<tr data-service="water">') :]
    assert '<td class="num" data-field="longest">不到1分钟</td>' in row[: row.index("</tr>")]
    # w1 holds A001 (办理中); w2 is open with nobody at it (空闲, not 办理中).
    hall.act("w1", "call-next", f"{D} 09:03")
    hall.act("w1", "finish", f"{D} 09:05", {"outcome": "completed"})
    hall.act("w1", "call-next", f"{D} 09:05")  # nothing of id-card waits: w1 is idle again
    hall.act("w2", "call-next", f"{D} 09:05")
    admin = hall.client.get("/admin").get_data(as_text=True)
    state = {w: admin[admin.index(f'<tr data-window="{w}">') :].split("</td>")[0] for w in ("w1", "w2", "w3")}
    assert state["w1"].endswith(">空闲") and state["w2"].endswith(">办理中") and state["w3"].endswith(">未开放")
    # A complaint case has one name on the dashboard and on its page.
    token = a1["track_url"].rsplit("/", 1)[1]
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1}, auth=False).status_code == 201
    admin = hall.client.get("/admin").get_data(as_text=True)
    cases = hall.client.get("/admin/complaints").get_data(as_text=True)
    assert "<td>待回访</td>" in admin and '<span class="cx-status">待回访</span>' in cases
    assert "待核实" not in admin
