"""PROTOCOL v1.2 on the pages: a clerk's harder day at the counter (a named call, a park and resume of each kind,
the recall limit, a ticket's history) and a supervisor's corrections on /admin (reactivate, a named call)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from support.counter_page import LONG, PASSWORD, add_clerk, button, log_in, sign_in_at
from support.server import Server


def press(page: Page, key: str) -> None:
    """A key, once the page is not busy with an action (a key pressed meanwhile is refused)."""
    expect(page.locator("body[data-busy]")).to_have_count(0, timeout=LONG)
    page.keyboard.press(key)


def expect_ticket(page: Page, number: str, status: str) -> None:
    expect(page.locator("#ticket-number")).to_have_text(number, timeout=LONG)
    expect(page.locator("#current")).to_have_attribute("data-status", status, timeout=LONG)


def kinds(hall: Server, ticket: str) -> list[str]:
    r = hall.get(f"/api/v1/tickets/{ticket}/history", hall.admin_token())
    assert r.status_code == 200, r.text
    return [line["kind"] for line in r.json()]


def test_a_clerks_day_with_a_named_call_parking_each_kind_and_the_recall_limit(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "zhou")
    page = open_page("/counter")
    log_in(page, "zhou")
    sign_in_at(page, "1号窗口")
    button(page, "open").click()
    expect(page.locator("#counter-state")).to_have_text("开放", timeout=LONG)
    a1, a2, a3 = hall.issue("id-card"), hall.issue("id-card"), hall.issue("id-card")
    expect(page.locator("#waiting-rows tr")).to_have_count(3, timeout=LONG)

    # 指呼: F7, pick the third resident from the waiting list, the first reason
    press(page, "F7")
    dialog = page.locator("#call-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label(a3["number"], exact=False).check()
    check_axe(page)
    screenshot(page, "counter-named-call-1920x1080")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden(timeout=LONG)
    expect_ticket(page, a3["number"], "called")
    expect(page.locator("#message")).to_have_text(f"已指呼 {a3['number']} 号", timeout=LONG)
    named = hall.get(f"/api/v1/tickets/{a3['id']}/history", hall.admin_token()).json()[-1]
    assert (named["kind"], named["named"], named["reason"], named["clerk"]) == (
        "called",
        True,
        "补齐材料后返回",
        "zhou",
    )

    # 挂起, fetch_documents (key 1): the counter is free; the parked list shows it
    press(page, "F9")
    park = page.locator("#park-dialog")
    expect(park).to_be_visible()
    page.keyboard.press("1")
    park.get_by_label("备注（取什么、等什么）").fill("复印户口簿")
    park.get_by_role("button", name="确定").click()
    expect(park).to_be_hidden(timeout=LONG)
    expect(page.locator("#message")).to_have_text(f"{a3['number']} 号已挂起", timeout=LONG)
    expect(page.locator("#ticket-number")).to_have_text("—")
    expect(page.locator("#parked-rows li")).to_have_count(1, timeout=LONG)
    expect(page.locator("#parked-rows li").first).to_contain_text("取材料")
    expect(page.locator("#parked-rows li").first).to_contain_text("复印户口簿")

    # keep_documents (key 2) for the next one, wait_step (key 3) for the one after, once started
    press(page, "F1")
    expect_ticket(page, a1["number"], "called")
    press(page, "F9")
    expect(park).to_be_visible()
    page.keyboard.press("2")
    park.get_by_role("button", name="确定").click()
    expect(page.locator("#parked-rows li")).to_have_count(2, timeout=LONG)
    press(page, "F1")
    expect_ticket(page, a2["number"], "called")
    press(page, "F3")
    expect_ticket(page, a2["number"], "serving")
    press(page, "F9")
    expect(park).to_be_visible()
    page.keyboard.press("3")
    park.get_by_role("button", name="确定").click()
    rows = page.locator("#parked-rows li")
    expect(rows).to_have_count(3, timeout=LONG)
    # listed in their original order of issue: A1, A2, A3, each with its kind
    for row, (ticket, kind) in zip(
        [rows.nth(0), rows.nth(1), rows.nth(2)], [(a1, "材料留窗"), (a2, "等待环节"), (a3, "取材料")], strict=True
    ):
        expect(row).to_contain_text(ticket["number"])
        expect(row).to_contain_text(kind)
    check_axe(page)
    screenshot(page, "counter-parked-1920x1080")

    # resume each in one key press: 1 is the first listed
    for ticket in (a1, a2, a3):
        expect(page.locator("#parked-rows li").first).to_contain_text(ticket["number"], timeout=LONG)
        press(page, "1")
        expect_ticket(page, ticket["number"], "called")
        expect(page.locator("#message")).to_have_text(f"{ticket['number']} 号已恢复，已叫号", timeout=LONG)
        press(page, "F4")
        finish = page.locator("#finish-dialog")
        expect(finish).to_be_visible()
        finish.get_by_role("button", name="确定").click()
        expect(finish).to_be_hidden(timeout=LONG)
        expect(page.locator("#ticket-number")).to_have_text("—", timeout=LONG)
    expect(page.locator("#parked-empty")).to_be_visible()
    assert kinds(hall, a2["id"]) == ["issued", "called", "started", "parked", "resumed", "finished"]

    # the recall limit: three recalls, then the page offers no-show
    a4 = hall.issue("id-card")
    expect(page.locator("#waiting-rows tr")).to_have_count(1, timeout=LONG)
    press(page, "F1")
    expect_ticket(page, a4["number"], "called")
    for n in (1, 2, 3):
        expect(button(page, "recall")).to_be_enabled(timeout=LONG)
        press(page, "F2")
        expect(page.locator("#ticket-badges")).to_contain_text(f"已重呼 {n} 次", timeout=LONG)
    expect(page.locator("#recall-limit")).to_be_visible(timeout=LONG)
    expect(page.locator("#recall-limit")).to_contain_text("已重呼 3 次")
    expect(button(page, "recall")).to_be_disabled()
    check_axe(page)
    screenshot(page, "counter-recall-limit-1920x1080")

    # the ticket's history, from the current ticket
    page.locator("#ticket-history").click()
    history = page.locator("#history-dialog")
    expect(history).to_be_visible()
    expect(history.locator("#history-rows tr")).to_have_count(5, timeout=LONG)  # issued, called, 3 recalls
    expect(history.locator("#history-rows tr").nth(1)).to_contain_text("叫号")
    expect(history.locator("#history-rows tr").nth(1)).to_contain_text("1号窗口")
    history.get_by_role("button", name="关闭").click()
    page.locator("#recall-limit-no-show").click()
    expect(page.locator("#message")).to_have_text(f"{a4['number']} 号已过号", timeout=LONG)

    # a named call by the number typed
    a5, a6 = hall.issue("id-card"), hall.issue("id-card")
    expect(page.locator("#waiting-rows tr")).to_have_count(2, timeout=LONG)
    press(page, "F7")
    expect(dialog).to_be_visible()
    dialog.get_by_label("输入号码（如 A012）").fill(a6["number"].lower())
    dialog.get_by_label("其他（请填写）").check()
    dialog.get_by_label("原因说明").fill("预约时间已到")
    dialog.get_by_role("button", name="确定").click()
    expect_ticket(page, a6["number"], "called")
    assert hall.get(f"/api/v1/tickets/{a6['id']}/history", hall.admin_token()).json()[-1]["reason"] == "预约时间已到"
    assert a5["id"] != a6["id"]


def test_a_supervisor_reactivates_a_no_show_and_calls_it_to_a_counter_from_admin(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    hall.add_user("boss", "supervisor", PASSWORD, hall="town")
    first = hall.issue("id-card")
    later = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "no-show")

    page = open_page("/admin")
    log_in(page, "boss")
    expect(page.locator("h1")).to_have_text("管理后台", timeout=LONG)
    expect(page.locator("#main")).to_have_attribute(
        "data-ready", "1", timeout=LONG
    )  # admin.js has taken over the forms
    page.get_by_label("号码", exact=True).fill(first["number"])
    page.get_by_role("button", name="查找号票").click()
    expect(page.locator("#lookup-output tbody")).to_contain_text("过号", timeout=LONG)
    form = page.locator("#correct-form")
    expect(form).to_be_visible()
    page.locator("#correct-reactivate").click()
    expect(page.locator("#correct-result")).to_have_text("请填写原因。")
    form.get_by_label("原因（必填，记入台账）").fill("居民返回大厅")
    page.locator("#correct-reactivate").click()
    expect(page.locator("#correct-result")).to_have_text(f"{first['number']} 号已恢复排队，回到原位。", timeout=LONG)
    expect(page.locator("#lookup-output tbody")).to_contain_text("恢复排队")
    check_axe(page)
    screenshot(page, "admin-corrections-1920x1080", full_page=True)
    # waits again in its original place: ahead of the ticket issued after it
    desk = hall.get("/api/v1/counters/w1/desk", hall.counter_token("w1")).json()
    assert [w["number"] for w in desk["waiting"]] == [first["number"], later["number"]]

    # a named call for another counter, from /admin
    hall.act("w3", "open")
    form.get_by_label("原因（必填，记入台账）").fill("窗口调剂")
    form.get_by_label("指呼到窗口").select_option("w3")
    page.locator("#correct-call").click()
    expect(page.locator("#correct-result")).to_have_text(f"{first['number']} 号已指呼到 3号窗口。", timeout=LONG)
    held = hall.get("/api/v1/counters/w3", hall.counter_token("w3")).json()["ticket"]
    assert held["id"] == first["id"] and held["status"] == "called"
    line = hall.get(f"/api/v1/tickets/{first['id']}/history", hall.admin_token()).json()[-1]
    assert (line["kind"], line["named"], line["clerk"], line["reason"]) == ("called", True, "boss", "窗口调剂")


def test_a_clerks_call_for_help_reaches_admin_live_and_the_answer_comes_back(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    add_clerk(hall, "qian")
    hall.add_user("lead", "supervisor", PASSWORD, hall="town")
    admin = open_page("/admin")
    log_in(admin, "lead")
    expect(admin.locator("h1")).to_have_text("管理后台", timeout=LONG)
    expect(admin.locator("html")).to_have_attribute("data-hq-connection", "online", timeout=LONG)

    page = open_page("/counter")
    log_in(page, "qian")
    sign_in_at(page, "2号窗口")
    page.locator("#help-button").click()
    expect(page.locator("#help-banner")).to_be_visible(timeout=LONG)
    expect(page.locator("#help-button")).to_be_disabled()

    alert = admin.locator("#alert-list li.hq-alert-help")
    expect(alert).to_contain_text("2号窗口 请求主管协助（qian）", timeout=LONG)
    check_axe(admin)
    screenshot(admin, "admin-help-alert-1920x1080")
    alert.get_by_role("button", name="响应").click()
    expect(alert).to_have_count(0, timeout=LONG)

    expect(page.locator("#help-banner")).to_be_hidden(timeout=LONG)
    expect(page.locator("#message")).to_have_text("主管已响应求助", timeout=LONG)
    expect(page.locator("#help-button")).to_be_enabled()
