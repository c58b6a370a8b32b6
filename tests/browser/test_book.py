"""/book/{hall} on a phone (390 px): book without JavaScript, get the code, its QR and the .ics file, cancel from
the link; take a remote ticket. axe-core on each state; screenshots in test-artifacts/screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from support.server import Server

PHONE = (390, 844)
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG = 20000
OpenPage = Callable[..., Page]
Shot = Callable[..., Path]
Axe = Callable[[Page], object]

SERVICE = """
[[hall.service]]
id = "passport"
name = "出入境证件"
name_en = "Exit-entry permits"
prefix = "E"

[hall.service.appointments]
periods = "always"
public_places = 2
"""
COUNTER = """
[[hall.counter]]
id = "w9"
number = 9
name = "9号窗口"
services = ["passport"]
"""


def edit(text: str) -> str:
    text = text.replace("max_priority_streak = 2\n", "max_priority_streak = 2\nremote_tickets = true\n", 1)
    i = text.index("\n[[hall.counter]]\n")
    text = text[:i] + SERVICE + text[i:]
    town_end = '\n[[hall]]\nid = "east"'
    return text.replace(town_end, COUNTER + town_end)


@pytest.fixture
def booking_hall(start_server: Callable[..., Server]) -> Server:
    return start_server("sqlite", edit=edit)


def test_booking_on_a_phone_without_javascript_then_cancelling(
    booking_hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    hall = booking_hall
    sizes: dict[str, int] = {}
    page = open_page("about:blank", viewport=PHONE, java_script_enabled=False)
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    page.goto(hall.url + "/book/town?service=passport")
    assert sum(sizes.values()) < 100_000, sizes
    page.locator(".book-slot:not(.book-full)").first.click()
    page.get_by_label("姓名").fill("张三")
    page.locator("#b-phone").fill("13812345678")
    page.get_by_label("居民身份证号码").fill("110105194912310021")  # a wrong check digit first
    page.get_by_role("button", name="提交预约").click()
    expect(page.locator("#book-error")).to_contain_text("身份证号码有误")
    screenshot(page, "book-error", full_page=True)
    page.locator(".book-slot:not(.book-full)").first.click()
    page.get_by_label("居民身份证号码").fill("11010519491231002X")
    page.get_by_role("button", name="提交预约").click()
    expect(page.get_by_role("heading", name="预约成功")).to_be_visible()
    code = page.locator("#book-code").inner_text()
    assert len(code) == 8
    expect(page.locator(".book-qr svg")).to_be_visible()
    expect(page.locator("#book-status")).to_have_text("已预约")
    screenshot(page, "book-done", full_page=True)
    ics = page.request.get(hall.url + f"/book/town/{code}.ics")
    assert ics.status == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.body() and code.encode() in ics.body()
    js = open_page(hall.url + f"/book/town/{code}", viewport=PHONE)
    check_axe(js)
    form = open_page(hall.url + "/book/town?service=passport", viewport=PHONE)
    check_axe(form)
    screenshot(form, "book-form", full_page=True)
    page.get_by_role("button", name="取消预约").click()
    expect(page.get_by_text("预约已取消。")).to_be_visible()
    assert hall.get(f"/api/v1/appointments/{code}").json()["status"] == "cancelled"


def test_a_remote_ticket_from_the_phone_page_in_english(
    booking_hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    hall = booking_hall
    for counter in ("w1", "w2", "w3", "w4"):  # a queue nobody serves is never "about to be called" (v1.1)
        hall.act(counter, "open")
    page = open_page(hall.url + "/book/town?lang=en", viewport=PHONE, locale="en")
    page.get_by_label("Mobile number").last.fill("13912345678")
    page.get_by_role("button", name="Take a number").click()
    expect(page.get_by_role("heading", name="Your number")).to_be_visible()
    code = page.locator("#remote-code").inner_text()
    check_axe(page)
    screenshot(page, "book-remote", full_page=True)
    page.get_by_role("link", name="See your place in the queue").click()
    expect(page.get_by_text("Taken online, not checked in yet")).to_be_visible()
    expect(page.locator("#track-near")).to_be_visible()  # nobody ahead: 即将到号
    check_axe(page)
    screenshot(page, "track-remote-near")
    r = hall.post("/api/v1/halls/town/check-in", {"code": code})
    assert r.status_code == 201 and r.json()["status"] == "waiting"
    expect(page.locator("#track-waiting")).to_be_visible(timeout=LONG)  # the page follows the check-in live


def test_a_clerk_books_by_phone_on_the_staff_share_and_sees_today(
    booking_hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    hall = booking_hall
    hall.add_user("clerk-wang", "clerk", "correct-horse-9", hall="town")
    page = open_page(hall.url + "/counter/w9/appointments", viewport=(1280, 900))
    page.get_by_label("用户名").fill("clerk-wang")
    page.get_by_label("密码").fill("correct-horse-9")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="电话预约与今日预约")).to_be_visible()
    first = page.locator(".book-slot:not(.book-full)").first
    expect(first).to_contain_text("余 3")  # 2 public + 1 staff place
    first.click()
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("手机号码").fill("13612345678")
    page.get_by_label("居民身份证号码").fill("11010519491231002X")
    page.get_by_role("button", name="提交预约").click()
    expect(page.locator("#desk-done")).to_contain_text("请告知预约码")
    expect(page.locator("#desk-today")).to_be_visible()
    # The first free slot: today's, or after the hall's midnight (a run near it) tomorrow's, not on today's list.
    booked = re.search(r"（(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}）", page.locator("#desk-done").inner_text())
    assert booked is not None
    if booked.group(1) == datetime.now(UTC).astimezone(SHANGHAI).date().isoformat():
        expect(page.locator("table")).to_contain_text("王五")
    check_axe(page)
    screenshot(page, "counter-phone-booking", full_page=True)
    listed = hall.get("/api/v1/halls/town/appointments", hall.admin_token(), params={"date": booked.group(1)}).json()
    assert any(a["channel"] == "phone" and a["name"] == "王五" for a in listed), listed
