"""Matters (办件) in a real browser: a clerk opens a 全程代办 matter from /counter/matters and prints its
代理服务委托书; a matter accepted on a frozen clock weeks ago is overdue now: /admin raises the live alert and
the monthly report deducts it from the owner window's score, its evidence the matter's ledger line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select
from support.databases import database
from support.env import ROOT
from support.server import QUICK_VOICE, Server, free_port, write_config

from server.clock import FrozenClock
from server.config import load_config
from server.services import matters
from server.services.context import Context
from server.store.db import Database
from server.store.models import LedgerRow, MatterRow

ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643)
PASSWORD = "correct-horse-battery"


@pytest.fixture
def quick_jobs(tmp_path: Path) -> Iterator[Server]:
    """A server of the test hall whose scheduler looks for due jobs (the alert scan) every 2 s, not 30."""
    with database("sqlite", tmp_path) as url:
        port = free_port()
        server = Server(
            write_config(tmp_path, url, port=port, extra_server=QUICK_VOICE + "\n[jobs]\ntick_s = 2\n"), port, url
        ).start()
        try:
            yield server
        finally:
            server.stop()


def log_in(page: Page, username: str) -> None:
    expect(page.locator("h1")).to_have_text("工作人员登录")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_a_clerk_opens_a_proxy_matter_and_prints_its_commission(
    hall: Server,
    open_page: Callable[..., Page],
    check_axe: Callable[[Page], object],
    screenshot: Callable[..., Path],
) -> None:
    hall.add_user("li.na", "clerk", PASSWORD, hall="town")
    page = open_page("/counter/matters")
    log_in(page, "li.na")
    expect(page.locator("h1")).to_have_text("我的办件")
    expect(page.locator("#mx-none")).to_be_visible()  # owns nothing yet
    form = page.locator("#mx-open")
    form.get_by_label("事项").select_option(label="社保医保")
    form.get_by_label("申请人姓名").fill("王秀英")
    form.get_by_label("联系电话").fill("13812345678")
    form.get_by_label("身份证号码").fill("110105194912310021")  # a wrong check digit: refused, nothing opened
    form.get_by_role("button", name="登记办件").click()
    expect(page.locator("#mx-open-result")).to_contain_text("登记失败")
    expect(page.locator("#mx-open-result")).to_contain_text("id_number")
    form.get_by_label("身份证号码").fill(ID_NUMBER)
    form.get_by_label("备注").fill("老人行动不便，代理服务委托书已签")
    check_axe(page)
    form.get_by_role("button", name="登记办件").click()
    expect(page.locator("#mx-open-result")).to_contain_text("已登记，办件编号 BJ")
    number = re.search(r"BJ\d+", page.locator("#mx-open-result").inner_text())
    assert number is not None
    expect(form.get_by_label("身份证号码")).to_have_value("")  # the ID number does not stay on screen
    with hall.offline().db.read() as s:
        row = s.scalars(select(MatterRow)).one()
        assert (row.number, row.owner, row.proxy, row.home_visit) == (number.group(0), "li.na", True, False)
        assert row.applicant_id_masked == "110***********002X" and ID_NUMBER not in (row.applicant_id_hash or "")

    page.locator("#mx-open-commission").click()
    expect(page.locator("h1")).to_have_text("代理服务委托书")
    facts = page.locator(".mx-facts")
    for shown in (number.group(0), "社保医保", "王秀英", "110***********002X", "138****5678", "li.na"):
        expect(facts).to_contain_text(shown)
    expect(page.locator(".mx-note")).to_have_text("老人行动不便，代理服务委托书已签")
    expect(page.locator(".mx-signatures")).to_contain_text("委托人签字：")
    assert ID_NUMBER not in page.content() and "13812345678" not in page.content()
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    check_axe(page)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()  # not on paper
    screenshot(page, "matter-commission-print", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "matter-commission.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 sheet to sign

    page.emulate_media(media="screen")
    page.goto(hall.url + "/counter/matters")
    expect(page.locator(f'tr[data-number="{number.group(0)}"]')).to_contain_text("全程代办")


def test_a_clerk_working_in_english_stays_in_english_through_login_forms_and_the_commission(
    hall: Server, open_page: Callable[..., Page]
) -> None:
    hall.add_user("li.na", "clerk", PASSWORD, hall="town")
    page = open_page("/counter/matters?lang=en")
    expect(page.locator("h1")).to_have_text("Staff login")
    page.get_by_label("Username").fill("li.na")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("My matters")
    form = page.locator("#mx-open")
    form.get_by_label("Service").select_option(label="Social insurance")
    form.get_by_label("Applicant's name").fill("王秀英")
    form.get_by_label("Phone").fill("13812345678")
    form.get_by_label("ID card number").fill(ID_NUMBER)
    form.get_by_role("button", name="Open the matter").click()
    expect(page.locator("#mx-open-result")).to_contain_text("Opened: case number BJ")
    number = re.search(r"BJ\d+", page.locator("#mx-open-result").inner_text())
    assert number is not None
    page.locator("#mx-open-commission").click()
    expect(page.locator("h1")).to_have_text("Power of attorney for a service")

    page.goto(hall.url + "/counter/matters?lang=en")
    row = page.locator(f'tr[data-number="{number.group(0)}"]')
    row.get_by_label("Next step").select_option(label="In progress")
    row.get_by_role("button", name="Update").click()
    expect(page.locator("#mx-said")).to_have_text(f"Matter {number.group(0)} updated.")  # back in English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(f'tr[data-number="{number.group(0)}"]')).to_contain_text("In progress")


def test_an_overdue_matter_raises_the_alert_and_costs_its_window_in_the_monthly_score(
    quick_jobs: Server, open_page: Callable[..., Page], screenshot: Callable[..., Path]
) -> None:
    server = quick_jobs
    server.add_user("zhang.wei", "supervisor", PASSWORD, hall="town")
    # Accepted on a clock frozen twelve days back: its five working days are over now, with no result.
    past = datetime.now().astimezone() - timedelta(days=12)
    ctx = Context(load_config(server.config), Database(server.database, pool_size=1), FrozenClock(past))
    try:
        applicant = matters.Applicant("赵大爷", "13912345678", ID_NUMBER)
        m = matters.open_matter(
            ctx, "town", "social", applicant, proxy=False, home_visit=True, note="上门审核材料", clerk="li.na",
            counter="w2",
        )  # fmt: skip
        with ctx.db.read() as s:
            accepted_line = s.scalars(select(LedgerRow).where(LedgerRow.kind == "matter_accepted")).one()
    finally:
        ctx.db.dispose()
    hall = ctx.hall("town")
    assert m.due_at < datetime.now().astimezone(), "due within twelve days"
    due_local = hall.local(m.due_at)

    page = open_page(server.url + "/admin")
    log_in(page, "zhang.wei")
    expect(page.locator("h1")).to_have_text("管理后台")
    alert = page.locator("#alert-list li.hq-alert-matter_overdue")
    expect(alert).to_have_count(1, timeout=20000)  # the scheduler's scan, live over the socket
    expect(alert).to_contain_text(f"办件 {m.number} 已超期")
    screenshot(page, "admin-matter-overdue-alert")

    page.goto(server.url + "/admin/matters?overdue=true")
    row = page.locator(f'tr[data-number="{m.number}"]')
    expect(row).to_contain_text("已超期")
    expect(row).to_contain_text("上门服务")

    page.goto(f"{server.url}/admin/reports/monthly?month={due_local.strftime('%Y-%m')}")
    expect(page.locator("h1")).to_contain_text("月度报告")
    w2 = page.locator("tr", has=page.locator("th", has_text=re.compile(r"^2号窗口$")))
    deduction = w2.locator("div", has_text="事项超时未办结")
    expect(deduction).to_have_count(1)
    # the evidence is the matter's own ledger line: the acceptance, on the frozen clock
    expect(deduction).to_contain_text(f"[{accepted_line.id}]")
    sup = server.token("--role", "supervisor", "--hall", "town")
    events = requests.get(
        f"{server.url}/api/v1/halls/town/events?ids={accepted_line.id}",
        headers={"Authorization": f"Bearer {sup}"},
        timeout=10,
    ).json()
    assert [(e["kind"], e["detail"]["number"], e["counter"]) for e in events] == [("matter_accepted", m.number, "w2")]
    assert datetime.fromisoformat(events[0]["at"]) == past.replace(microsecond=0)


def test_a_manager_of_several_halls_sees_which_hall_is_shown_and_a_step_choice_of_a_usable_size(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object]
) -> None:
    hall.add_user("ma.admin", "admin", PASSWORD)  # an admin manages every hall: the page offers each
    page = open_page("/counter/matters")
    log_in(page, "ma.admin")
    expect(page.locator("h1")).to_have_text("我的办件")
    halls = page.locator("#mx-halls")
    everywhere, east = halls.get_by_role("link", name="全部大厅"), halls.locator('a[href*="hall=east"]')
    expect(everywhere).to_have_attribute("aria-current", "page")
    expect(everywhere).to_have_css("background-color", "rgb(232, 238, 249)")  # marked, not only announced
    expect(east).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    form = page.locator("#mx-open")  # a matter of its own, so that its row offers the next step
    form.get_by_label("事项").select_option(label="社保医保")
    form.get_by_label("申请人姓名").fill("王秀英")
    form.get_by_label("联系电话").fill("13812345678")
    form.get_by_label("身份证号码").fill(ID_NUMBER)
    form.get_by_role("button", name="登记办件").click()
    expect(page.locator("#mx-open-result")).to_contain_text("已登记，办件编号 BJ")
    page.goto(hall.url + "/counter/matters")  # the list as the page renders it, with the new row
    step = page.locator(".mx-table select").first
    box = step.bounding_box()
    assert box is not None and box["height"] >= 36 and box["width"] >= 128, box  # 2.25rem by 8rem at least
    check_axe(page)
    east.click()
    expect(page).to_have_url(re.compile(r"hall=east"))
    expect(halls.locator('a[href*="hall=east"]')).to_have_attribute("aria-current", "page")
    expect(halls.locator('a[href*="hall=east"]')).to_have_css("background-color", "rgb(232, 238, 249)")
    expect(halls.get_by_role("link", name="全部大厅")).not_to_have_attribute("aria-current", "page")
