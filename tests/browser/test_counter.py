"""The clerk's counter screen in a real browser: a day in miniature, the keys, races, a restart, A/B cover."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect
from support.counter_page import LONG, PASSWORD, add_clerk, button, log_in, sign_in_at
from support.server import Server, serving

PRESS_F1_AT = """(at) => setTimeout(
  () => document.dispatchEvent(new KeyboardEvent("keydown", { key: "F1", bubbles: true })), at - Date.now())"""


def press(page: Page, key: str) -> None:
    """A function key, once the page is not busy with an action: a key pressed meanwhile is refused (never
    two actions at once), and on a busy machine the screen may already show an action's result (a socket
    update) before its own answer has come back."""
    expect(page.locator("body[data-busy]")).to_have_count(0, timeout=LONG)
    page.keyboard.press(key)


def expect_ticket(page: Page, number: str, status: str) -> None:
    expect(page.locator("#ticket-number")).to_have_text(number, timeout=LONG)
    expect(page.locator("#current")).to_have_attribute("data-status", status, timeout=LONG)


def test_a_clerks_day_in_miniature(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "li")
    add_clerk(hall, "wang")
    page = open_page("/counter")
    log_in(page, "li")
    expect(page.locator("h1")).to_have_text("选择窗口签到")
    check_axe(page)
    screenshot(page, "counter-choose-1920x1080")
    sign_in_at(page, "1号窗口")
    expect(page.locator("#counter-state")).to_have_text("未开窗")
    expect(button(page, "call-next")).to_be_disabled()
    check_axe(page)
    screenshot(page, "counter-closed-1920x1080")

    # open, and call with nobody waiting
    button(page, "open").click()
    expect(page.locator("#counter-state")).to_have_text("开放", timeout=LONG)
    press(page, "F1")
    expect(page.locator("#message")).to_have_text("没有人等候，暂无可叫的号。", timeout=LONG)
    check_axe(page)

    # residents arrive: the queue shows up live, numbers and waits only
    a1 = hall.issue("id-card")
    a2 = hall.issue("id-card")
    a3 = hall.issue("id-card")
    expect(page.locator("#waiting-rows tr")).to_have_count(3, timeout=LONG)
    expect(page.locator("#waiting-rows tr").first).to_contain_text(a1["number"])

    # call, recall, no-show
    press(page, "F1")
    expect_ticket(page, a1["number"], "called")
    expect(button(page, "call-next")).to_be_disabled()
    expect(button(page, "recall")).to_be_enabled()
    check_axe(page)
    screenshot(page, "counter-called-1920x1080")
    press(page, "F2")
    expect(page.locator("#message")).to_have_text(f"已重呼 {a1['number']} 号", timeout=LONG)
    # F5 sits next to F4: it asks first, and Esc leaves the ticket as it was
    press(page, "F5")
    expect(page.locator("#no-show-dialog")).to_be_visible()
    expect(page.locator("#no-show-title")).to_have_text(f"确认 {a1['number']} 号过号？")
    check_axe(page)
    page.keyboard.press("Escape")
    expect(page.locator("#no-show-dialog")).to_be_hidden()
    expect_ticket(page, a1["number"], "called")
    assert hall.get("/api/v1/track/" + a1["track_url"].rsplit("/", 1)[1]).json()["status"] == "called"
    press(page, "F5")
    expect(page.locator("#no-show-confirm")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text(f"{a1['number']} 号已过号", timeout=LONG)
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#today-no_show")).to_have_text("1")

    # call the next and transfer it to counter 3 with a reason
    hall.act("w3", "open")
    press(page, "F1")
    expect_ticket(page, a2["number"], "called")
    press(page, "F3")
    expect_ticket(page, a2["number"], "serving")
    expect(button(page, "no-show")).to_be_disabled()
    press(page, "F6")
    dialog = page.locator("#transfer-dialog")
    expect(dialog).to_be_visible()
    # Water is served by w2 and w4, both closed: offered, but the clerk sees that no window takes it now.
    expect(dialog.get_by_label("水费缴纳 · 暂无窗口办理")).to_be_visible()
    expect(dialog.get_by_label("社保医保", exact=True)).to_be_visible()  # w3 serves it
    dialog.get_by_label("3号窗口", exact=False).check()
    dialog.get_by_label("转办原因").fill("需核对社保信息")
    check_axe(page)
    screenshot(page, "counter-transfer-dialog-1920x1080")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden(timeout=LONG)
    expect(page.locator("#message")).to_have_text(f"{a2['number']} 号已转办", timeout=LONG)

    # the receiving counter's screen says where it came from and why
    other = open_page("/counter")
    log_in(other, "wang")
    sign_in_at(other, "3号窗口")
    press(other, "F1")
    expect_ticket(other, a2["number"], "called")
    expect(other.locator("#ticket-notes")).to_contain_text("转自 1号窗口（li）：需核对社保信息")
    check_axe(other)
    screenshot(other, "counter-transferred-in-1920x1080")

    # materials incomplete: the one-time notice
    press(page, "F1")
    expect_ticket(page, a3["number"], "called")
    press(page, "F4")
    finish = page.locator("#finish-dialog")
    expect(finish).to_be_visible()
    page.keyboard.press("2")  # 材料不全
    expect(page.locator("#notice-fields")).to_be_visible()
    finish.get_by_label("户口簿").check()
    finish.get_by_label("备注（可选）").fill("需原件")
    check_axe(page)
    screenshot(page, "counter-notice-dialog-1920x1080")
    finish.get_by_role("button", name="确定").click()
    expect(finish).to_be_hidden(timeout=LONG)
    expect(page.locator("#message")).to_contain_text("告知单", timeout=LONG)
    expect(page.locator("#message")).to_contain_text(f"{a3['number']} 号材料不全，未办结")  # not "已办结"
    code = page.locator("#message").inner_text().split("告知单 ")[1].split(" ")[0]
    notice = hall.get(f"/api/v1/notices/{code}").json()
    assert notice["missing"] == ["户口簿"] and notice["ticket_number"] == a3["number"]
    expect(page.locator("#today-notices")).to_have_text("1")
    # the tally counts it as what it is: served (已服务), not 办结
    expect(page.locator("#today-served")).to_have_text("1")
    expect(page.locator("#today-completed")).to_have_text("0")
    expect(page.locator("#today-incomplete")).to_have_text("1")

    # away with the partner covering; the partner's screen shows it and its call-next draws from both
    press(page, "F8")
    away = page.locator("#away-dialog")
    expect(away).to_be_visible()
    page.keyboard.press("2")  # 午休
    away.get_by_role("button", name="确定").click()
    expect(away.locator("#away-error")).to_contain_text("B岗（2号窗口）未开窗", timeout=LONG)
    screenshot(page, "counter-no-cover-1920x1080")
    page.keyboard.press("Escape")
    partner = open_page("/counter")
    add_clerk(hall, "zhao")
    log_in(partner, "zhao")
    sign_in_at(partner, "2号窗口")
    button(partner, "open").click()
    expect(partner.locator("#counter-state")).to_have_text("开放", timeout=LONG)
    press(page, "F8")
    page.keyboard.press("2")
    page.locator("#away-dialog").get_by_role("button", name="确定").click()
    expect(page.locator("#counter-state")).to_have_text("暂离", timeout=LONG)
    expect(page.locator("#cover-banner")).to_contain_text("2号窗口 正在代办本窗口业务")
    expect(partner.locator("#cover-banner")).to_contain_text("正在代办 1号窗口 的业务", timeout=LONG)
    expect(partner.locator("#cover-banner")).to_contain_text("午休")
    a4 = hall.issue("id-card")
    expect(partner.locator("#waiting-rows")).to_contain_text(a4["number"], timeout=LONG)
    check_axe(partner)
    screenshot(partner, "counter-covering-1920x1080")
    press(partner, "F1")
    expect_ticket(partner, a4["number"], "called")
    expect(partner.locator("#ticket-badges")).to_contain_text("代1号窗口")
    check_axe(page)
    screenshot(page, "counter-away-1920x1080")

    # back: the cover ends
    press(page, "F8")
    expect(page.locator("#counter-state")).to_have_text("开放", timeout=LONG)
    expect(partner.locator("#cover-banner")).to_be_hidden(timeout=LONG)

    # the smaller screen
    page.set_viewport_size({"width": 1366, "height": 768})
    check_axe(page)
    screenshot(page, "counter-open-1366x768")
    # the clock shows the hall's time (Asia/Shanghai), whatever the browser's zone
    hall_now = [datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=s) for s in (-2, 0, 2)]
    assert page.locator("#clock").inner_text() in {n.strftime("%H:%M") for n in hall_now}

    # log out: signed out, the counter is free again
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible(timeout=LONG)
    assert hall.get("/api/v1/counters/w1/desk", hall.admin_token()).json()["counter"]["clerk"] is None


def test_the_second_clerk_sees_who_is_signed_in_and_may_take_over(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "qian")
    add_clerk(hall, "sun")
    first = open_page("/counter")
    log_in(first, "qian")
    sign_in_at(first, "1号窗口")
    second = open_page("/counter")
    log_in(second, "sun")
    second.get_by_role("button", name="1号窗口").click()
    expect(second.get_by_role("alertdialog")).to_contain_text("qian 正在 1号窗口 签到")
    check_axe(second)
    screenshot(second, "counter-taken-1920x1080")
    second.get_by_role("button", name="接管 1号窗口").click()
    expect(second.locator("#counter-clerk")).to_have_text("sun", timeout=LONG)
    # the first clerk's screen turns read-only and says who took over
    expect(first.locator("#takeover-text")).to_have_text("sun 正在本窗口签到，您不能操作。", timeout=LONG)
    expect(button(first, "open")).to_be_disabled()


def test_every_key_works_and_a_disabled_action_is_refused_by_the_server(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "zhou")
    hall.act("w2", "open")
    page = open_page("/counter", viewport=(1366, 768), locale="en-US")
    page.get_by_label("Username").fill("zhou")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    sign_in_at(page, "1号窗口")
    for key in ("F1", "F2", "F3", "F4", "F5", "F6", "F8"):
        expect(page.locator(f'[aria-keyshortcuts="{key}"] kbd')).to_have_text(key)
    button(page, "open").click()
    issued = [hall.issue("id-card") for _ in range(3)]
    expect(page.locator("#waiting-rows tr")).to_have_count(3, timeout=LONG)
    expect(button(page, "call-next")).to_be_enabled(timeout=LONG)
    press(page, "F1")
    expect_ticket(page, issued[0]["number"], "called")
    press(page, "F2")
    expect(page.locator("#message")).to_have_text(f"Recalled {issued[0]['number']}", timeout=LONG)
    press(page, "F3")
    expect_ticket(page, issued[0]["number"], "serving")
    check_axe(page)
    screenshot(page, "counter-serving-en-1366x768")
    press(page, "F5")  # not allowed while serving: nothing happens, and the page does not reload
    expect_ticket(page, issued[0]["number"], "serving")
    refused = hall.act("w1", "no-show")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "wrong_status"
    press(page, "F4")
    expect(page.locator("#finish-dialog")).to_be_visible()
    page.keyboard.press("2")  # incomplete: the notice's checklist
    expect(page.locator("#notice-fields")).to_be_visible()
    # the clerk is warned before writing: the note goes on the notice and the resident's page
    expect(page.locator("#notice-note-public")).to_have_text(
        "Note: the note below is printed on the notice and shown on the resident's phone."
    )
    check_axe(page)
    screenshot(page, "counter-notice-dialog-en-1366x768")
    page.keyboard.press("3")  # rejected, without a reason: refused in the page, the dialog stays open
    page.keyboard.press("Enter")
    expect(page.locator("#finish-error")).to_contain_text("A rejection needs its reason")
    expect(page.locator("#finish-dialog")).to_be_visible()
    expect(page.locator("#finish-note")).to_be_focused()
    page.locator("#finish-dialog").get_by_label("Consultation").check()  # consultation after all
    expect(page.locator("#notice-fields")).to_be_hidden()
    page.locator("#finish-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#finish-dialog")).to_be_hidden(timeout=LONG)
    expect(page.locator("#message")).to_have_text(f"{issued[0]['number']} finished", timeout=LONG)
    press(page, "F1")
    expect_ticket(page, issued[1]["number"], "called")
    press(page, "F6")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    expect(page.locator("#transfer-dialog").get_by_label("4号窗口", exact=False)).to_be_disabled()  # closed
    screenshot(page, "counter-transfer-dialog-en-1366x768")
    page.keyboard.press("Escape")
    expect(page.locator("#transfer-dialog")).to_be_hidden()
    press(page, "F5")
    expect(page.locator("#no-show-dialog")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#today-no_show")).to_have_text("1", timeout=LONG)
    # a dialog closes once its action's answer is in; the screen may show the new state before that (the
    # live event can beat the answer), and keys do nothing while a dialog is open, for the clerk too
    expect(page.locator("#no-show-dialog")).to_be_hidden(timeout=LONG)
    press(page, "F8")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#counter-state")).to_have_text("Away", timeout=LONG)
    expect(page.locator("#away-dialog")).to_be_hidden(timeout=LONG)
    press(page, "F8")
    expect(page.locator("#counter-state")).to_have_text("Open", timeout=LONG)


def test_two_clerks_racing_call_next_never_get_the_same_ticket(hall: Server, open_page: Callable[..., Page]) -> None:
    add_clerk(hall, "wu")
    add_clerk(hall, "zheng")
    pages = []
    for name, counter in (("wu", "1号窗口"), ("zheng", "3号窗口")):
        page = open_page("/counter")
        log_in(page, name)
        sign_in_at(page, counter)
        button(page, "open").click()
        expect(page.locator("#counter-state")).to_have_text("开放", timeout=LONG)
        pages.append(page)
    for _ in range(4):
        hall.issue("id-card")
    seen: list[str] = []
    for _ in range(2):
        for page in pages:
            expect(button(page, "call-next")).to_be_enabled(timeout=LONG)
        # Both keys at the same instant: each page presses F1 at one agreed wall-clock moment.
        at = time.time() * 1000 + 700
        for page in pages:
            page.evaluate(PRESS_F1_AT, at)
        for page in pages:
            expect(page.locator("#current")).to_have_attribute("data-status", "called", timeout=LONG)
            seen.append(page.locator("#ticket-number").inner_text())
            press(page, "F5")
            page.locator("#no-show-confirm").click()
            expect(page.locator("#current")).to_have_attribute("data-status", "none", timeout=LONG)
    assert len(seen) == 4 and len(set(seen)) == 4, seen


def test_after_a_server_restart_the_page_reconnects_and_still_shows_the_held_ticket(
    tmp_path: Path, open_page: Callable[..., Page], screenshot: Callable[..., Path]
) -> None:
    with serving("sqlite", tmp_path) as server:
        add_clerk(server, "feng")
        page = open_page(server.url + "/counter")
        log_in(page, "feng")
        sign_in_at(page, "1号窗口")
        button(page, "open").click()
        expect(page.locator("#counter-state")).to_have_text("开放", timeout=LONG)
        issued = server.issue("id-card")
        expect(button(page, "call-next")).to_be_enabled(timeout=LONG)
        press(page, "F1")
        expect_ticket(page, issued["number"], "called")
        press(page, "F3")
        expect_ticket(page, issued["number"], "serving")
        server.stop()
        expect(page.locator("#hq-conn")).to_be_visible(timeout=LONG)
        screenshot(page, "counter-reconnecting-1920x1080")
        server.start()
        expect(page.locator("#hq-conn")).to_be_hidden(timeout=45000)
        expect_ticket(page, issued["number"], "serving")
        later = server.issue("id-card")  # live again: the queue updates
        expect(page.locator("#waiting-rows")).to_contain_text(later["number"], timeout=LONG)
        press(page, "F4")
        page.keyboard.press("Enter")
        expect(page.locator("#today-served")).to_have_text("1", timeout=LONG)


FITS = """() => ({
  width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
  innerWidth, innerHeight,
})"""


def test_the_desk_fits_a_1366x768_screen_without_scrolling(
    hall: Server, open_page: Callable[..., Page], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "qian")
    hall.act("w2", "open")
    for _ in range(14):  # a busy morning: a long queue
        hall.issue("id-card")
    hall.issue("id-card", priority=True)
    page = open_page("/counter", viewport=(1366, 768))
    log_in(page, "qian")
    sign_in_at(page, "1号窗口")
    button(page, "open").click()
    expect(page.locator("#waiting-rows tr")).to_have_count(15, timeout=LONG)
    expect(button(page, "call-next")).to_be_enabled(timeout=LONG)
    press(page, "F1")
    expect(page.locator("#current")).to_have_attribute("data-status", "called", timeout=LONG)
    expect(button(page, "start")).to_be_enabled(timeout=LONG)
    press(page, "F3")
    expect(page.locator("#current")).to_have_attribute("data-status", "serving", timeout=LONG)
    for lang in ("zh", "en"):
        if lang == "en":
            page.goto(page.url.split("?")[0] + "?lang=en")
            expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=LONG)
        size = page.evaluate(FITS)
        screenshot(page, f"counter-busy-{lang}-1366x768")
        assert size["width"] <= size["innerWidth"] and size["height"] <= size["innerHeight"], size
