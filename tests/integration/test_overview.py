"""A city's halls (PROTOCOL v1.2): the live overview grouped by region, supervisors of one or more halls,
and a region's monthly report (CSV, XLSX)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook
from support.app import AppHall
from support.server import hallq

FIELDS = {
    "hall", "name", "region", "waiting", "longest_wait_s", "open_counters", "uncovered_counters", "served_today",
    "satisfaction_rate_30d", "open_complaints", "overdue_matters",
}  # fmt: skip


def regions(town: str, east: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        text = re.sub(r"^region = .*\n", "", text, flags=re.M)  # the test hall's own region, replaced
        text = text.replace('id = "town"\n', f'id = "town"\nregion = "{town}"\n', 1)
        return text.replace('id = "east"\n', f'id = "east"\nregion = "{east}"\n', 1)

    return edit


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_overview_has_every_hall_live_grouped_by_region_the_busiest_first(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    app = make_app_hall(kind, edit=regions("北区", "北区"))
    admin = app.admin_token()
    quiet = app.get("/api/v1/overview", admin).json()
    assert [set(r) for r in quiet] == [FIELDS, FIELDS]
    app.issue("id-card", hall="east")
    app.issue("id-card", hall="east")
    app.advance(300)
    app.act("w1", "open")
    served = app.issue("id-card")
    app.act("w1", "call-next")
    app.act("w1", "finish", {"outcome": "completed"})
    token = served["track_url"].rsplit("/", 1)[1]
    app.post(f"/api/v1/track/{token}/rating", {"level": 5})
    rows = app.get("/api/v1/overview", admin).json()
    assert [r["hall"] for r in rows] == ["east", "town"], "the hall with people waiting longest first"
    east, town = rows
    assert (east["waiting"], east["open_counters"], east["served_today"], east["region"]) == (2, 0, 0, "北区")
    assert east["longest_wait_s"] >= 300 and east["satisfaction_rate_30d"] is None
    assert (town["waiting"], town["open_counters"], town["served_today"]) == (0, 1, 1)
    assert (town["satisfaction_rate_30d"], town["open_complaints"], town["overdue_matters"]) == (1.0, 0, 0)
    assert town["name"] == "测试镇便民服务中心" and town["uncovered_counters"] == 0


def test_halls_are_grouped_by_region_and_a_supervisor_sees_only_their_halls(
    make_app_hall: Callable[..., AppHall],
) -> None:
    app = make_app_hall("sqlite", edit=regions("西区", "东区"))
    assert [r["region"] for r in app.get("/api/v1/overview", app.admin_token()).json()] == ["东区", "西区"]
    town = app.token("--role", "supervisor", "--hall", "town")
    assert [r["hall"] for r in app.get("/api/v1/overview", town).json()] == ["town"]
    assert app.get("/api/v1/overview", app.counter_token("w1")).status_code == 403
    assert app.get("/api/v1/overview").status_code == 401
    assert app.get("/api/v1/halls/east/complaints", town).status_code == 403, "another hall's data"
    assert app.get("/api/v1/halls/east/deliveries", town).status_code == 403


def test_a_supervisor_of_two_halls_manages_both_and_not_a_third(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=regions("西区", "东区"))
    app.add_user("li", "supervisor", hall="town")
    done = hallq("user", "halls", "li", "town", "east", "--config", str(app.config))
    assert done.returncode == 0, done.stderr
    assert "town, east" in done.stdout
    refused = hallq("user", "halls", "li", "town", "mars", "--config", str(app.config))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    browser = app.log_in("li")
    assert browser.get("/api/v1/halls/east/complaints").status_code == 200
    assert browser.get("/api/v1/halls/town/complaints").status_code == 200
    assert [r["hall"] for r in browser.get("/api/v1/overview").json()] == ["east", "town"]
    page = browser.get("/admin/overview")
    assert page.status_code == 200
    assert page.text.index("东区") < page.text.index("西区")
    assert 'href="/admin?hall=east"' in page.text and 'href="/admin?hall=town"' in page.text
    assert browser.get("/admin?hall=east").status_code == 200
    app.add_user("wang", "supervisor", hall="town")
    only_town = app.log_in("wang")
    assert only_town.get("/admin?hall=east").status_code == 403
    assert only_town.get("/api/v1/halls/east/complaints").status_code == 403


def test_a_regions_monthly_report_sums_its_halls_and_ranks_their_windows(
    make_app_hall: Callable[..., AppHall],
) -> None:
    app = make_app_hall("sqlite", edit=regions("北区", "北区"))
    for hall, counter in (("town", "w1"), ("town", "w1"), ("east", "e1")):
        app.issue("id-card", hall=hall)
        app.act(counter, "open")
        app.act(counter, "call-next")
        app.act(counter, "finish", {"outcome": "completed"})
    month = app.ctx.hall("town").day_of(app.clock.now())[:7]
    admin = app.admin_token()
    report: dict[str, Any] = app.get(f"/api/v1/regions/北区/reports/monthly?month={month}", admin).json()
    assert [h["hall"] for h in report["halls"]] == ["town", "east"]
    assert report["totals"]["issued"] == 3 and report["totals"]["served"] == 3
    ranked = [(w["rank"], w["hall"], w["counter"], w["served"]) for w in report["windows"]]
    assert ranked[:2] == [(1, "town", "w1", 2), (2, "east", "e1", 1)], "equal scores: the busier window first"
    r = app.get(f"/api/v1/regions/北区/reports/monthly?month={month}&format=csv", admin)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert ["total", "", "3", "3", "0", "0"] == rows[4][:6]
    x = app.get(f"/api/v1/regions/北区/reports/monthly?month={month}&format=xlsx", admin)
    book = load_workbook(io.BytesIO(x.content))
    assert book.sheetnames == ["halls", "windows"] and book["windows"]["C2"].value == "w1"
    assert app.get(f"/api/v1/regions/南区/reports/monthly?month={month}", admin).status_code == 404
    town = app.token("--role", "supervisor", "--hall", "town")
    assert app.get(f"/api/v1/regions/北区/reports/monthly?month={month}", town).status_code == 403
    bad = app.get("/api/v1/regions/北区/reports/monthly?month=2026-13", admin)
    assert bad.status_code == 422
