"""A promised matter (办件, PROTOCOL v1.2) end to end in real browsers: accepted at the counter, its receipt slip
(受理回执) read back from the counter's printer, carried forward by its owner on 我的办件, 可领取 on the resident's
phone, a 领取 ticket at the kiosk with the case number (and the receipt's QR scanned), called and marked 领取 on
the calling screen and the counter, handed over (picked_up), and the result rated (assess_number 2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.server import Server
from test_counter import add_clerk, log_in, press, sign_in_at
from test_kiosk import assert_fits_and_targets_are_big

from printers.decode import decode
from printers.virtual import VirtualPrinter

PHONE = (390, 844)
PORTRAIT = (1080, 1920)
LONG = 20000  # ms: generous on a busy machine
OpenPage = Callable[..., Page]
Shot = Callable[..., Path]
Axe = Callable[[Page], object]


@pytest.fixture
def hall(start_server: Callable[..., Server], tmp_path: Path) -> Iterator[tuple[Server, VirtualPrinter]]:
    """The test hall whose window 2 (社保医保, a promised service) has its own printer, 58 mm in Chinese mode."""
    printer = VirtualPrinter(tmp_path / "w2")
    printer.start()
    own = f'printer = {{ kind = "network", host = "127.0.0.1", port = {printer.port}, paper = 58 }}\n'
    try:
        yield start_server(edit=lambda text: text.replace('name = "2号窗口"\n', 'name = "2号窗口"\n' + own, 1)), printer
    finally:
        printer.stop()


def _finish(page: Page, outcome_label: str) -> None:
    press(page, "F4")
    dialog = page.locator("#finish-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label(outcome_label).check()
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden(timeout=LONG)


def test_accepted_receipt_progress_ready_pickup_at_the_kiosk_handed_over_and_rated_again(
    hall: tuple[Server, VirtualPrinter], open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    server, printer = hall
    add_clerk(server, "li")
    counter = open_page(server.url + "/counter")
    log_in(counter, "li")
    sign_in_at(counter, "2号窗口")
    counter.locator('[data-act="open"]').click()
    expect(counter.locator("#counter-state")).to_have_text("开放", timeout=LONG)
    mine = server.issue("social")
    phone = open_page(server.url + "/t/" + mine["track_url"].rsplit("/", 1)[1], viewport=PHONE)
    expect(phone.locator("main")).to_have_attribute("data-status", "waiting")

    # 受理 at the counter: the matter opens and its receipt prints at this window
    press(counter, "F1")
    expect(counter.locator("#ticket-number")).to_have_text(mine["number"], timeout=LONG)
    press(counter, "F4")
    expect(counter.locator("#outcome-accepted-line")).to_be_visible()
    expect(counter.locator("#receipt-print-line")).to_be_hidden()
    counter.get_by_label("受理（承诺件，出具受理回执）").check()
    expect(counter.get_by_label("打印受理回执")).to_be_checked()
    check_axe(counter)
    counter.locator("#finish-dialog").get_by_role("button", name="确定").click()
    expect(counter.locator("#message")).to_contain_text("受理回执已在本窗口打印", timeout=LONG)
    [matter] = server.get("/api/v1/halls/town/matters", server.admin_token()).json()
    number, due = matter["number"], matter["due_at"][:10]
    expect(counter.locator("#message")).to_have_text(
        f"{mine['number']} 号已受理，办件编号 {number} · 受理回执已在本窗口打印"
    )
    assert matter["owner"] == "li" and matter["owner_counter"] == "w2" and matter["status"] == "accepted"

    [slip_path] = printer.wait_printed(1, timeout=15)
    slip = decode(slip_path.read_bytes())
    lines = [line.text for line in slip.lines]
    assert "受理回执" in lines and number in lines and due in lines and "2号窗口" in lines
    [receipt_url] = slip.qr
    assert receipt_url.startswith(server.url + "/t/")

    # the resident rates the visit (assess 1); the page follows the matter on its own (track.js reloads it when
    # the ticket's state changes: a reload from here raced that one, and lost the page in the middle of it)
    expect(phone.locator("#track-matter-status")).to_have_text("已受理", timeout=LONG)
    phone.get_by_role("group", name="请评价本次服务").get_by_text("满意", exact=True).click()
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.get_by_text("感谢您的评价！")).to_be_visible(timeout=LONG)
    receipt_page = open_page(receipt_url, viewport=PHONE)  # the receipt's QR opens the same page
    expect(receipt_page.locator("#track-number")).to_have_text(mine["number"])

    # the owner carries it forward on 我的办件: 办理中, then 可领取
    counter.locator("#counter-matters").click()
    expect(counter.locator("h1")).to_have_text("我的办件")
    row = counter.locator(f'tr[data-number="{number}"]')
    check_axe(counter)
    row.get_by_label("下一步").select_option("in_progress")
    row.get_by_role("button", name="更新").click()
    expect(counter.locator("#mx-said")).to_have_text(f"办件 {number} 已更新。")
    expect(phone.locator("#track-matter-status")).to_have_text("办理中", timeout=LONG)
    row = counter.locator(f'tr[data-number="{number}"]')
    row.get_by_label("下一步").select_option("result_ready")
    row.get_by_role("button", name="更新").click()
    expect(counter.locator("#mx-said")).to_have_text(f"办件 {number} 已更新。")
    screenshot(counter, "matters-mine")

    # 可领取 on the resident's phone (live), with what to bring and the kiosk's button
    expect(phone.locator("#track-matter-status")).to_have_text("可领取", timeout=LONG)
    expect(phone.locator("#track-matter-ready")).to_contain_text("领取结果")
    check_axe(phone)
    screenshot(phone, "track-matter-ready", full_page=True)

    # 领取结果 at the kiosk with the case number on the keypad
    display = open_page(server.url + "/display/town")
    expect(display.locator("#calls")).to_have_attribute("data-snapshots", "1", timeout=LONG)
    kiosk = open_page(server.url + "/kiosk/k1", viewport=PORTRAIT)
    expect(kiosk.locator("#main")).to_have_attribute("data-ready", "1")
    kiosk.get_by_role("button", name="领取结果（受理回执）").click()
    kiosk.get_by_role("button", name="取领取号").click()
    expect(kiosk.locator("#pickup-error")).to_have_text("请输入办件编号。")
    for ch in "BJ1":
        kiosk.locator(f'#pickup-keys button[data-key="{ch}"]').click()
    kiosk.get_by_role("button", name="取领取号").click()
    expect(kiosk.locator("#pickup-error")).to_have_text("未找到这个办件，请核对受理回执上的办件编号。")
    kiosk.get_by_role("button", name="清空").click()
    for ch in number:
        kiosk.locator(f'#pickup-keys button[data-key="{ch}"]').click()
    check_axe(kiosk)
    screenshot(kiosk, "kiosk-pickup-code")
    kiosk.get_by_role("button", name="取领取号").click()
    expect(kiosk.locator("#issued-service")).to_contain_text(f"领取 {number}", timeout=LONG)
    pickup_number = kiosk.locator("#issued-number").inner_text()
    assert pickup_number.startswith("B")
    screenshot(kiosk, "kiosk-pickup-issued")
    kiosk.get_by_role("button", name="完成").click()
    # the receipt's QR at the scanner (it types the link and Enter): one 领取 ticket a matter at a time
    expect(kiosk.locator("#start")).to_be_visible()
    kiosk.keyboard.type(receipt_url)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#pickup-error")).to_have_text("已经为这个办件取过领取号，请留意叫号。", timeout=LONG)

    # at the owner window: marked 领取 in the queue, when called, and on the calling screen
    counter.locator("a", has_text="返回窗口").click()
    expect(counter.locator("#counter-name")).to_have_text("2号窗口", timeout=LONG)
    expect(counter.locator("#waiting-rows tr").first).to_contain_text("领取", timeout=LONG)
    press(counter, "F1")
    expect(counter.locator("#ticket-number")).to_have_text(pickup_number, timeout=LONG)
    expect(counter.locator("#ticket-badges")).to_contain_text(f"领取 {number}")
    expect(display.locator("#now-number")).to_have_text(pickup_number, timeout=LONG)
    expect(display.locator("#now-pickup")).to_be_visible()
    expect(display.locator("#now-pickup")).to_have_text("领取")
    check_axe(display)
    screenshot(display, "display-pickup")
    press(counter, "F4")  # a 领取 ticket hands the result over: 受理 (a new matter) is not offered for it
    expect(counter.locator("#finish-dialog")).to_be_visible()
    expect(counter.locator("#outcome-accepted-line")).to_be_hidden()
    counter.keyboard.press("Escape")
    expect(counter.locator("#finish-dialog")).to_be_hidden(timeout=LONG)
    _finish(counter, "办结")
    listed = server.get("/api/v1/halls/town/matters", server.admin_token()).json()
    assert [(m["number"], m["status"]) for m in listed] == [(number, "picked_up")]

    # the second rating: the result (assess_number 2)
    expect(phone.locator("#track-matter-status")).to_have_text("已领取", timeout=LONG)
    result = phone.get_by_role("group", name="请评价办理结果")
    result.get_by_text("非常满意", exact=True).click()
    phone.locator("#rate-result-form").get_by_role("button", name="提交评价").click()
    expect(phone.locator("#track-result-rated")).to_contain_text("非常满意", timeout=LONG)
    check_axe(phone)
    screenshot(phone, "track-matter-rated", full_page=True)


@pytest.mark.parametrize("viewport", [PORTRAIT, (1920, 1080)], ids=["portrait", "landscape"])
def test_the_kiosks_pickup_screen_fits_and_its_keys_are_big(
    hall: tuple[Server, VirtualPrinter], open_page: OpenPage, check_axe: Axe, viewport: tuple[int, int]
) -> None:
    server, _ = hall
    kiosk = open_page(server.url + "/kiosk/k1", viewport=viewport)
    expect(kiosk.locator("#main")).to_have_attribute("data-ready", "1")
    assert_fits_and_targets_are_big(kiosk)
    kiosk.get_by_role("button", name="领取结果（受理回执）").click()
    expect(kiosk.locator("#pickup-keys button")).to_have_count(39)
    assert_fits_and_targets_are_big(kiosk)
    check_axe(kiosk)
