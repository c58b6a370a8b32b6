"""The kiosk page in a real browser, on an enrolled kiosk whose printer is the virtual printer over TCP.

Portrait 1080x1920 and landscape 1920x1080: the guide, priority with its confirmation, a double tap giving
one ticket, the printer out of paper, the idle return, English, closed and unserved services; axe-core on
each state and screenshots in test-artifacts/screenshots/kiosk-*.png.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Route, expect
from support.databases import reset
from support.env import ROOT
from support.server import Server, free_port, write_config

from printers.virtual import VirtualPrinter

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)
ORIENTATIONS = [pytest.param(PORTRAIT, id="portrait"), pytest.param(LANDSCAPE, id="landscape")]
SHANGHAI = ZoneInfo("Asia/Shanghai")
OpenPage = Callable[..., Page]
Shot = Callable[..., Path]
Axe = Callable[[Page], object]


@pytest.fixture(scope="module")
def printing_hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, VirtualPrinter, str]]:
    """A server whose kiosk k1 prints on a virtual network printer; also a service that opens later today."""
    folder = tmp_path_factory.mktemp("kiosk-hall")
    printer = VirtualPrinter(folder / "paper")
    printer.start()
    opens = (datetime.now(SHANGHAI) + timedelta(hours=3)).replace(second=0, microsecond=0)
    opens -= timedelta(minutes=1 if opens.minute == 59 else 0)  # a one-minute period that never crosses midnight
    period = f"{opens:%H:%M}-{opens + timedelta(minutes=1):%H:%M}"
    port, url = free_port(), f"sqlite:///{folder / 'h.db'}"
    config = write_config(folder, url, port=port, extra_server="printer_poll_s = 1")
    text = config.read_text(encoding="utf-8")
    text = text.replace('printer = { kind = "none" }', f'printer = {{ kind = "network", port = {printer.port} }}', 1)
    evening = (
        '[[hall.service]]\nid = "evening"\nname = "夜间咨询"\nname_en = "Evening advice"\nprefix = "E"\n'
        f'hours = {{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], periods = ["{period}"] }}\n\n'
    )
    text = text.replace('[[hall.counter]]\nid = "w1"', evening + '[[hall.counter]]\nid = "w1"', 1)
    text = text.replace('services = ["water", "closed"]', 'services = ["water", "closed", "evening"]', 1)
    config.write_text(text, encoding="utf-8")
    server = Server(config, port, url).start()
    try:
        yield server, printer, period[:5]
    finally:
        server.stop()
        printer.stop()


@pytest.fixture
def kiosk_hall(printing_hall: tuple[Server, VirtualPrinter, str]) -> tuple[Server, VirtualPrinter, str]:
    server, printer, opens = printing_hall
    printer.paper = "ok"
    for path in printer.printed:
        path.unlink(missing_ok=True)
        path.with_suffix(".png").unlink(missing_ok=True)
    printer.printed.clear()
    reset(server.database)
    deadline = time.monotonic() + 10  # the poll has seen the printer fine again
    while server.get("/api/v1/halls/town/kiosks").json()[0]["printer"]["state"] != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return server, printer, opens


def enrolled_kiosk(server: Server, open_page: OpenPage, viewport: tuple[int, int], query: str = "") -> Page:
    """A fresh browser that opened k1's enrollment link: it lands on the kiosk page with its device cookie."""
    r = server.post("/api/v1/kiosks/k1/enrollments", token=server.admin_token())
    assert r.status_code == 201, r.text
    page = open_page(r.json()["url"], viewport=viewport)
    expect(page).to_have_url(f"{server.url}/kiosk/k1")
    if query:
        page.goto(f"{server.url}/kiosk/k1?{query}")
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    return page


def waiting(server: Server, service: str) -> int:
    return {s["id"]: s["waiting"] for s in server.get("/api/v1/halls/town/services").json()}[service]


def tile(page: Page, service: str) -> Any:
    return page.locator(f'button[data-service="{service}"]')


def qr_shown(page: Page, timeout: float = 10) -> None:
    """The QR image has loaded (wait_for_function would need 'unsafe-eval', which the page's CSP refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("() => document.getElementById('issued-qr').naturalWidth > 0"):
        assert time.monotonic() < deadline, "the QR code never loaded"
        time.sleep(0.1)


def assert_fits_and_targets_are_big(page: Page) -> None:
    """No scrolling to find the main action, and every visible button is at least 72px both ways."""
    height, inner = page.evaluate("[document.scrollingElement.scrollHeight, window.innerHeight]")
    assert height <= inner, f"the page scrolls: {height} > {inner}"
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('button, a')].filter((b) => b.offsetParent !== null)
             .map((b) => { const r = b.getBoundingClientRect(); return [b.textContent.trim(), r.width, r.height]; })"""
    )
    small = [s for s in sizes if s[1] < 72 or s[2] < 72]
    assert not small, f"targets under 72px: {small}"


@pytest.mark.parametrize("viewport", ORIENTATIONS)
def test_choose_a_service_read_its_guide_and_take_a_number(
    kiosk_hall: tuple[Server, VirtualPrinter, str],
    open_page: OpenPage,
    check_axe: Axe,
    screenshot: Shot,
    viewport: tuple[int, int],
) -> None:
    server, printer, _ = kiosk_hall
    name = "portrait" if viewport == PORTRAIT else "landscape"
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, viewport)
    expect(page.locator("#start-title")).to_have_text("请点击要办理的事项")
    expect(page.locator(".kiosk-group h2")).to_have_text(["行政事务", "生活服务"])
    expect(tile(page, "water")).to_be_visible()  # a life service, in its own group
    expect(page.locator("#group-life + ul")).to_contain_text("水费缴纳")
    server.issue("id-card")  # live: the tile follows the queue
    expect(tile(page, "id-card")).to_contain_text("前面 1 人")
    expect(tile(page, "id-card")).to_contain_text("约 4 分钟")
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-start-{name}")

    tile(page, "id-card").click()
    guide = page.locator("#guide")
    expect(guide.locator("h1")).to_have_text("身份证办理")
    expect(page.locator("#guide-materials li")).to_have_text(["户口簿", "近期照片"])
    expect(page.locator("#guide-limit")).to_have_text("即办件，当场办结")
    expect(page.locator("#guide-fee")).to_have_text("免费")
    expect(page.locator("#guide-queue")).to_contain_text("前面 1 人")
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-guide-{name}")

    page.get_by_role("button", name="取号", exact=True).click()
    number = page.locator("#issued-number")
    expect(number).to_have_text("A002")
    expect(page.locator("#issued-place")).to_have_text("前面还有 1 人")
    expect(page.locator("#issued-wait")).to_contain_text("预计等候约")
    expect(page.locator("#issued-printer")).to_have_text("请取走打印出来的号票")
    qr = page.locator("#issued-qr")
    expect(qr).to_have_attribute("alt", "号码 A002 的二维码")
    qr_shown(page)
    assert page.evaluate("parseFloat(getComputedStyle(document.getElementById('issued-number')).fontSize)") >= 180
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))  # a phone can read it off the screen
    assert code.text.startswith(server.url + "/t/")
    assert server.get("/api/v1/track/" + code.text.rsplit("/", 1)[1]).json()["number"] == "A002"
    [slip] = printer.wait_printed(1, timeout=10)
    assert slip.name.startswith("A002-")
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-issued-{name}")
    page.get_by_role("button", name="完成").click()
    expect(page.locator("#start")).to_be_visible()


def test_priority_needs_a_confirmation(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    server, _, _ = kiosk_hall
    server.act("w3", "open")
    server.issue("social")
    page = enrolled_kiosk(server, open_page, PORTRAIT)
    tile(page, "social").click()
    expect(page.locator("#guide-limit")).to_have_text("承诺件，5 个工作日内办结")
    page.locator("#take-priority").click()
    dialog = page.get_by_role("dialog", name="优先取号")
    expect(dialog).to_be_visible()
    expect(dialog.locator("li")).to_have_count(5)
    expect(dialog).to_contain_text("60 岁以上老人")
    expect(dialog).to_contain_text("军人")
    assert waiting(server, "social") == 1, "nothing is issued before the confirmation"
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, "kiosk-priority-confirm-portrait")
    dialog.get_by_role("button", name="返回").click()
    expect(page.locator("#guide")).to_be_visible()
    page.locator("#take-priority").click()
    page.get_by_role("button", name="我符合条件，取优先号").click()
    expect(page.locator("#issued-number")).to_have_text("B002")
    expect(page.locator("#issued-service")).to_have_text("社保医保 · 优先")
    expect(page.locator("#issued-place")).to_have_text("前面没有人")
    check_axe(page)
    screenshot(page, "kiosk-priority-issued-portrait")
    called = server.act("w3", "call-next").json()["ticket"]
    assert called["number"] == "B002" and called["priority"] is True


def test_a_double_tap_and_a_resent_request_give_one_ticket(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage
) -> None:
    server, printer, _ = kiosk_hall
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, PORTRAIT)
    answers: list[dict[str, Any]] = []

    def twice(route: Route) -> None:
        # The network delivers the tap's request twice (a retry after a lost answer): same Idempotency-Key.
        first, second = route.fetch(), route.fetch()
        answers.extend([first.json(), second.json()])
        route.fulfill(response=second)

    page.route("**/api/v1/halls/town/tickets", twice)
    tile(page, "id-card").click()
    page.locator("#take").dblclick()
    expect(page.locator("#issued-number")).to_have_text("A001")
    assert len(answers) == 2 and answers[0] == answers[1], answers
    assert waiting(server, "id-card") == 1, "one ticket, whatever reached the server"
    printer.wait_printed(1, timeout=10)
    time.sleep(1.0)
    assert len(printer.printed) == 1, "and one slip"
    page.get_by_role("button", name="完成").click()
    tile(page, "id-card").click()
    page.locator("#take").click()
    expect(page.locator("#issued-number")).to_have_text("A002"), "a new visit to the guide is a new tap"


def test_a_gateway_error_after_the_ticket_was_made_is_retried_with_the_same_key(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage
) -> None:
    """nginx answers 502 when the process behind it dies mid-request, whether or not the ticket was
    committed: the kiosk asks again with the same key and shows the one ticket, never makes a second."""
    server, printer, _ = kiosk_hall
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, PORTRAIT)
    keys: list[str | None] = []

    def bad_gateway_once(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server makes the ticket; its answer is lost in the gateway
            route.fulfill(status=502, body="<html>502 Bad Gateway</html>", content_type="text/html")
        else:
            route.continue_()

    page.route("**/api/v1/halls/town/tickets", bad_gateway_once)
    tile(page, "id-card").click()
    page.locator("#take").click()
    expect(page.locator("#issued-number")).to_have_text("A001")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    assert waiting(server, "id-card") == 1, "one ticket"
    printer.wait_printed(1, timeout=10)


@pytest.mark.parametrize("viewport", ORIENTATIONS)
def test_out_of_paper_the_kiosk_says_so_and_the_ticket_is_still_valid(
    kiosk_hall: tuple[Server, VirtualPrinter, str],
    open_page: OpenPage,
    check_axe: Axe,
    screenshot: Shot,
    viewport: tuple[int, int],
) -> None:
    server, printer, _ = kiosk_hall
    name = "portrait" if viewport == PORTRAIT else "landscape"
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, viewport)
    printer.paper = "out"
    banner = page.locator("#printer-banner")
    expect(banner).to_be_visible(timeout=15000)
    expect(banner).to_contain_text("打印机缺纸")
    check_axe(page)
    screenshot(page, f"kiosk-paper-out-start-{name}")
    tile(page, "id-card").click()
    page.locator("#take").click()
    expect(page.locator("#issued-number")).to_have_text("A001")
    expect(page.locator("#issued-printer")).to_have_text("打印机缺纸，请拍下屏幕上的二维码")
    expect(page.locator("#issued-valid")).to_have_text("号码已生效，没有纸质号票也能办理")
    qr_shown(page)
    assert waiting(server, "id-card") == 1
    [alert] = server.get("/api/v1/halls/town/alerts", server.admin_token()).json()
    assert alert["detail"] == {"kiosk": "k1", "state": "paper_out"}
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-paper-out-issued-{name}")
    printer.paper = "ok"
    expect(banner).to_be_hidden(timeout=15000)


def test_a_tap_while_the_queues_refresh_is_not_lost(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage
) -> None:
    """A resident's finger is down on a tile when a live update comes: lifting it still opens the guide."""
    server, _, _ = kiosk_hall
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, PORTRAIT)
    expect(tile(page, "id-card")).to_contain_text("前面 0 人")
    tile(page, "id-card").hover()
    page.mouse.down()
    server.issue("id-card")  # somebody else takes a number: every kiosk's tiles are updated
    expect(tile(page, "id-card")).to_contain_text("前面 1 人")
    page.mouse.up()
    expect(page.locator("#guide")).to_be_visible()
    expect(page.locator("#guide-title")).to_have_text("身份证办理")


def test_an_idle_kiosk_and_a_finished_ticket_return_to_the_start(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage
) -> None:
    server, _, _ = kiosk_hall
    server.act("w1", "open")
    page = enrolled_kiosk(server, open_page, PORTRAIT, "idle=3&done=4")
    tile(page, "id-card").click()
    expect(page.locator("#guide")).to_be_visible()
    expect(page.locator("#start")).to_be_visible(timeout=10000)  # nobody touched it for 3 s
    expect(page.locator("#guide")).to_be_hidden()
    tile(page, "id-card").click()
    page.locator("#take-priority").click()
    expect(page.locator("#start")).to_be_visible(timeout=10000)  # an abandoned confirmation too
    assert waiting(server, "id-card") == 0
    tile(page, "id-card").click()
    page.locator("#take").click()
    expect(page.locator("#issued-countdown")).to_contain_text("秒后回到首页")
    expect(page.locator("#start")).to_be_visible(timeout=10000)


def test_english_toggle_and_back_to_chinese_for_the_next_resident(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    server, _, _ = kiosk_hall
    server.act("w1", "open")
    server.issue("id-card")  # one resident already waiting
    page = enrolled_kiosk(server, open_page, LANDSCAPE, "done=3")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#start-title")).to_have_text("Tap the service you need")
    expect(page.locator(".kiosk-group h2")).to_have_text(["Government services", "Living services"])
    expect(tile(page, "id-card")).to_contain_text("ID card")
    check_axe(page)
    screenshot(page, "kiosk-start-en-landscape")
    tile(page, "id-card").click()
    expect(page.locator("#guide-limit")).to_have_text("Done on the spot")
    expect(page.locator("#guide-queue")).to_contain_text("Queue now: 1 ahead")  # no Chinese punctuation
    check_axe(page)
    screenshot(page, "kiosk-guide-en-landscape")
    page.get_by_role("button", name="Take a number").click()
    expect(page.locator("#issued-label")).to_have_text("Your number")
    expect(page.locator("#issued-place")).to_have_text("1 person ahead of you")
    expect(page.locator("#issued-printer")).to_have_text("Please take your printed ticket")
    check_axe(page)
    screenshot(page, "kiosk-issued-en-landscape")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN", timeout=15000)
    expect(page.locator("#start-title")).to_have_text("请点击要办理的事项")


def test_closed_and_unserved_services_say_so(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    server, _, opens = kiosk_hall
    page = enrolled_kiosk(server, open_page, PORTRAIT)  # every counter closed: nobody serves any queue
    expect(tile(page, "closed")).to_contain_text("暂停办理")
    today = datetime.now(SHANGHAI).strftime("%H:%M") < opens
    expect(tile(page, "evening")).to_contain_text(f"{'今天' if today else '明天'} {opens} 开始取号")
    # Before the day's first window opens nobody serves a queue yet: the number waits its turn
    expect(tile(page, "id-card")).to_have_attribute("data-state", "before")
    expect(tile(page, "id-card")).to_contain_text("窗口未开，按序叫号")
    screenshot(page, "kiosk-before-opening-portrait")
    tile(page, "id-card").click()
    expect(page.locator("#guide-warning")).to_have_text("窗口尚未开始办理，开始后按取号顺序叫号")
    page.get_by_role("button", name="返回").click()
    server.act("w4", "open")  # the day's first window (water) opens and closes: now "ask the desk" applies
    server.act("w4", "close")
    expect(tile(page, "id-card")).to_contain_text("暂无窗口办理", timeout=15000)
    check_axe(page)
    screenshot(page, "kiosk-closed-unserved-portrait")
    tile(page, "evening").click()
    expect(page.locator("#guide-warning")).to_contain_text("开始取号")
    expect(page.locator("#take")).to_be_hidden()
    page.get_by_role("button", name="返回").click()
    tile(page, "id-card").click()
    expect(page.locator("#guide-warning")).to_have_text("暂无窗口办理此业务，请咨询服务台")
    page.locator("#take").click()
    expect(page.locator("#issued-wait")).to_have_text("暂无窗口办理此业务，请咨询服务台")
    expect(page.locator("#issued")).not_to_contain_text("预计等候")
    check_axe(page)
    screenshot(page, "kiosk-unserved-issued-portrait")
    server.act("w1", "open")  # a window opens: the kiosk's start screen hears of it
    page.get_by_role("button", name="完成").click()
    expect(tile(page, "id-card")).to_contain_text("前面 1 人")


def test_a_page_not_enrolled_shows_tickets_on_screen_and_prints_nothing(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage, check_axe: Axe
) -> None:
    server, printer, _ = kiosk_hall
    server.act("w1", "open")
    page = open_page(server.url + "/kiosk/k1", viewport=PORTRAIT)
    expect(page.locator(".kiosk-note")).to_contain_text("尚未登记")
    tile(page, "id-card").click()
    page.locator("#take").click()
    expect(page.locator("#issued-number")).to_have_text("A001")
    expect(page.locator("#issued-printer")).to_have_text("本机不打印号票，请拍下屏幕上的二维码")
    check_axe(page)
    time.sleep(1.0)
    assert printer.printed == []


@pytest.fixture(scope="module")
def demo_hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo's own catalogue (14 services in two groups): what a real hall's kiosk shows."""
    folder = tmp_path_factory.mktemp("kiosk-demo")
    port, url = free_port(), f"sqlite:///{folder / 'h.db'}"
    config = write_config(folder, url, port=port, hall_toml=ROOT / "server" / "demo_hall.toml")
    server = Server(config, port, url).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("viewport", ORIENTATIONS)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_full_catalogue_fits_one_screen(
    demo_hall: Server,
    open_page: OpenPage,
    check_axe: Axe,
    screenshot: Shot,
    viewport: tuple[int, int],
    language: str,
) -> None:
    name = "portrait" if viewport == PORTRAIT else "landscape"
    for counter in ("w1", "w3", "w8"):
        demo_hall.act(counter, "open", token=demo_hall.admin_token())
    page = enrolled_kiosk(demo_hall, open_page, viewport, f"lang={language}")
    expect(page.locator(".kiosk-service")).to_have_count(len(demo_hall.get("/api/v1/halls/town/services").json()))
    expect(page.locator("#group-life + ul .kiosk-service")).to_have_count(2)
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-demo-start-{language}-{name}")
    page.locator('button[data-service="assistance"]').click()  # the longest guide of the demo
    expect(page.locator("#guide-materials li")).to_have_count(5)
    assert_fits_and_targets_are_big(page)
    screenshot(page, f"kiosk-demo-guide-{language}-{name}")


# ---------------------------------------------------------------- return visit with a notice's code (一次性告知)


def incomplete_visit(server: Server) -> tuple[dict[str, Any], str]:
    """A resident's first visit finished at w1 as materials incomplete: the ticket and its notice's code."""
    server.act("w1", "open")
    first = server.issue("id-card")
    assert server.act("w1", "call-next").json()["ticket"]["id"] == first["id"]
    body = {"outcome": "incomplete", "missing": ["户口簿", "近期照片"], "note": "需原件", "print_notice": False}
    done = server.act("w1", "finish", body)
    assert done.status_code == 200, done.text
    return first, done.json()["notice"]["code"]


def tap_code(page: Page, code: str) -> None:
    for ch in code.replace("-", ""):
        page.locator(f'#notice-keys button[data-key="{ch}"]').click()


@pytest.mark.parametrize("viewport", ORIENTATIONS)
def test_a_return_visit_enters_the_notice_code_and_is_served_first_linked_to_the_first_visit(
    kiosk_hall: tuple[Server, VirtualPrinter, str],
    open_page: OpenPage,
    check_axe: Axe,
    screenshot: Shot,
    viewport: tuple[int, int],
) -> None:
    server, printer, _ = kiosk_hall
    name = "portrait" if viewport == PORTRAIT else "landscape"
    first, code = incomplete_visit(server)
    waiting_one = server.issue("id-card")  # someone already waiting: the return visit goes before them
    page = enrolled_kiosk(server, open_page, viewport)
    entry = page.get_by_role("button", name="补齐材料再次办理（输入告知单号）")
    expect(entry).to_be_visible()
    assert_fits_and_targets_are_big(page)
    screenshot(page, f"kiosk-notice-start-{name}")

    entry.click()
    expect(page.locator("#notice-title")).to_have_text("输入告知单号")
    find = page.get_by_role("button", name="查询")
    keys = page.locator("#notice-keys button[data-key]")
    expect(keys).to_have_count(31 + 2)  # the code alphabet, delete and clear
    for absent in ("0", "O", "1", "I", "L"):  # never in a code: not on the keypad either
        expect(page.locator(f'#notice-keys button[data-key="{absent}"]')).to_have_count(0)
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-notice-keypad-{name}")

    tap_code(page, code[:3])
    find.click()  # too short: said, nothing looked up
    expect(page.locator("#notice-error")).to_have_text("告知码是 10 位，还差 7 位。")
    tap_code(page, "Z")
    page.get_by_role("button", name="删除最后一个字").click()  # a wrong tap, taken back
    tap_code(page, code[3:])
    expect(page.locator("#notice-code")).to_have_text(code)
    expect(page.locator("#notice-error")).to_be_hidden()
    check_axe(page)
    screenshot(page, f"kiosk-notice-typed-{name}")
    find.click()

    check = page.locator("#notice-check")
    expect(check.locator("h1")).to_have_text("身份证办理")
    expect(page.locator("#notice-missing li")).to_have_text(["户口簿", "近期照片"])
    expect(page.locator("#notice-note")).to_have_text("需原件")
    expect(page.locator("#notice-check-first")).to_contain_text(first["number"])
    day = datetime.now(SHANGHAI)  # the first visit's date in the hall's own format, never 12/7
    expect(page.locator("#notice-check-first")).to_contain_text(f"{day.month}月{day.day}日")
    expect(page.locator("#notice-check-first")).not_to_contain_text("/")
    assert waiting(server, "id-card") == 1, "looking the code up takes no number"
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-notice-check-{name}")
    page.locator("#notice-take").click()

    expect(page.locator("#issued-number")).to_have_text("A003")
    expect(page.locator("#issued-number")).to_have_attribute("data-priority", "1")
    expect(page.locator("#issued-service")).to_have_text("身份证办理 · 优先")
    expect(page.locator("#issued-repeat")).to_have_text("补齐材料再次办理 · 优先叫号")
    expect(page.locator("#issued-printer")).to_have_text("请取走打印出来的号票")
    qr_shown(page)
    printer.wait_printed(1, timeout=10)
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, f"kiosk-notice-issued-{name}")

    ticket_id = page.locator("#main").get_attribute("data-ticket")
    assert server.get(f"/api/v1/notices/{code}").json()["used"] is True
    called = server.act("w1", "call-next").json()["ticket"]
    assert called["id"] == ticket_id and called["number"] == "A003" and called["priority"] is True
    assert called["id"] != waiting_one["id"]
    held = server.get("/api/v1/counters/w1/desk", server.counter_token("w1")).json()["ticket"]
    assert held["repeat_of"]["number"] == first["number"] and held["repeat_of"]["missing"] == ["户口簿", "近期照片"]


def test_a_notice_code_unknown_or_used_is_said_plainly_and_a_scanner_can_type_it(
    kiosk_hall: tuple[Server, VirtualPrinter, str], open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    server, _, _ = kiosk_hall
    _, code = incomplete_visit(server)
    page = enrolled_kiosk(server, open_page, PORTRAIT, "idle=6")

    page.get_by_role("button", name="补齐材料再次办理（输入告知单号）").click()
    tap_code(page, "AAAAA-AAAAA")
    page.get_by_role("button", name="查询").click()
    error = page.locator("#notice-error")
    expect(error).to_have_text("没有找到这个告知码。请核对告知单上的号码再输入一次，或咨询服务台。")
    assert_fits_and_targets_are_big(page)
    check_axe(page)
    screenshot(page, "kiosk-notice-unknown-portrait")
    page.get_by_role("button", name="清空").click()
    expect(error).to_be_hidden()
    page.get_by_role("button", name="返回").click()

    # A USB scanner on the start screen: it types the code (lower case, with its dash) and Enter.
    expect(page.locator("#start")).to_be_visible()
    page.keyboard.type(code.lower())
    page.keyboard.press("Enter")
    expect(page.locator("#notice-check h1")).to_have_text("身份证办理")
    # Meanwhile the code is used elsewhere (another kiosk): the tap here is refused and says why.
    other = server.post("/api/v1/halls/town/tickets", {"service": "id-card", "notice": code})
    assert other.status_code == 201, other.text
    page.locator("#notice-take").click()
    used = "这张告知单已经取过号了，一张告知单只能用一次。请咨询服务台。"
    expect(page.locator("#notice-check-error")).to_have_text(used)
    expect(page.locator("#notice-take")).to_be_hidden()
    check_axe(page)
    screenshot(page, "kiosk-notice-used-portrait")
    assert waiting(server, "id-card") == 1, "no second number for one notice"

    page.get_by_role("button", name="返回").click()  # back to the keypad, scanned again: used, said at once
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("#notice-error")).to_have_text(used)
    expect(page.locator("#start")).to_be_visible(timeout=15000)  # nobody touched it: back to the start
    expect(page.locator("#notice")).to_be_hidden()
