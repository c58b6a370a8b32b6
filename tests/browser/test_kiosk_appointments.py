"""The kiosk's 我有预约 (PROTOCOL v1.2): check in by typing the code on the keypad or with a scanner; too early and
expired said plainly, expired offering an ordinary ticket in one tap; the issued screen says 预约 and the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from support.server import Server
from test_book import edit

PORTRAIT = (1080, 1920)
OpenPage = Callable[..., Page]
Shot = Callable[..., Path]
Axe = Callable[[Page], object]
PEOPLE = [("11010519491231002X", "13812345678"), ("11010519900307451X", "13912345678"),
          ("440308199901010012", "13712345678")]  # fmt: skip


@pytest.fixture
def hall(start_server: Callable[..., Server]) -> Server:
    return start_server("sqlite", edit=edit)


def book(server: Server, who: int, later_min: int = 0) -> tuple[str, str]:
    """Book the first slot at least `later_min` minutes ahead; (code, start)."""
    today = datetime.now(UTC) + timedelta(hours=8)
    days = {"from": today.date().isoformat(), "to": (today + timedelta(days=1)).date().isoformat()}
    slots = server.get("/api/v1/halls/town/services/passport/slots", params=days).json()
    soon = datetime.now(UTC) + timedelta(minutes=later_min)
    start = next(s["start"] for s in slots if datetime.fromisoformat(s["start"]) >= soon)
    id_number, phone = PEOPLE[who]
    body = {"service": "passport", "start": start, "name": "张三", "phone": phone, "id_number": id_number}
    r = server.post("/api/v1/halls/town/appointments", body)
    assert r.status_code == 201, r.text
    return r.json()["code"], start


def tap(page: Page, code: str) -> None:
    for ch in code:
        page.locator(f'#appt-keys button[data-key="{ch}"]').click()


def test_check_in_on_the_keypad_and_with_a_scanner(
    hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    page = open_page(hall.url + "/kiosk/k1", viewport=PORTRAIT)
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    code, start = book(hall, 0)
    page.get_by_role("button", name="我有预约 / 线上取号签到").click()
    tap(page, code[:3])
    page.get_by_role("button", name="签到取号").click()
    expect(page.locator("#appt-error")).to_have_text("预约码是 8 位，还差 5 位。")
    tap(page, code[3:])
    check_axe(page)
    screenshot(page, "kiosk-appointment-code")
    page.get_by_role("button", name="签到取号").click()
    expect(page.locator("#issued-number")).to_have_text("E001")
    expect(page.locator("#issued-service")).to_contain_text(f"预约 {start[11:16]}")
    screenshot(page, "kiosk-appointment-issued")
    page.get_by_role("button", name="完成").click()

    # A scanner on the start screen types the code and Enter.
    second, _ = book(hall, 1)
    expect(page.locator("#start")).to_be_visible()
    page.keyboard.type(second.lower())
    page.keyboard.press("Enter")
    expect(page.locator("#issued-number")).to_have_text("E002")
    page.get_by_role("button", name="完成").click()
    # The same code again: already checked in, with the number.
    page.get_by_role("button", name="我有预约 / 线上取号签到").click()
    page.keyboard.type(second)
    page.keyboard.press("Enter")
    expect(page.locator("#appt-error")).to_have_text("已经签到过了，您的号码是 E002。")


def test_too_early_and_expired_are_said_plainly_and_expired_offers_a_ticket(
    hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    page = open_page(hall.url + "/kiosk/k1", viewport=PORTRAIT)
    expect(page.locator("#main")).to_have_attribute("data-ready", "1")
    early, start = book(hall, 0, later_min=120)
    page.get_by_role("button", name="我有预约 / 线上取号签到").click()
    tap(page, early)
    page.get_by_role("button", name="签到取号").click()
    opens = (datetime.fromisoformat(start) - timedelta(minutes=30)).strftime("%H:%M")
    expect(page.locator("#appt-error")).to_have_text(f"还没到签到时间，请于 {opens} 以后再签到。")
    expect(page.locator("#appt-walk-in")).to_be_hidden()
    late, _ = book(hall, 1)
    engine = create_engine(hall.database)
    try:
        with engine.begin() as c:  # its start was an hour ago: the check-in time is over
            moved = c.execute(
                text("UPDATE appointments SET start = :start WHERE code = :code"),
                {"start": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None), "code": late},
            )
            assert moved.rowcount == 1
    finally:
        engine.dispose()
    page.get_by_role("button", name="清空").click()
    tap(page, late)
    page.get_by_role("button", name="签到取号").click()
    expect(page.locator("#appt-error")).to_have_text("已超过签到时间，预约已失效。可以改取普通号排队。")
    check_axe(page)
    screenshot(page, "kiosk-appointment-expired")
    page.get_by_role("button", name="改取普通号").click()
    expect(page.locator("#issued-number")).to_have_text("E001")
    expect(page.locator("#issued-service")).not_to_contain_text("预约")


def test_an_enrolled_kiosks_slip_says_appointment_and_the_booked_time(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    from printers.decode import decode, ticket_fields
    from printers.virtual import VirtualPrinter

    printer = VirtualPrinter(tmp_path / "paper")
    printer.start()
    try:
        network = f'printer = {{ kind = "network", host = "127.0.0.1", port = {printer.port} }}'
        server = start_server(
            extra_server="printer_poll_s = 1",
            edit=lambda text: edit(text).replace('printer = { kind = "none" }', network),
        )
        code, start = book(server, 2)
        r = server.post("/api/v1/halls/town/check-in", {"code": code, "kiosk": "k1"}, server.kiosk_token())
        assert r.status_code == 201, r.text
        assert r.json()["appointment_start"] == start
        [printed] = printer.wait_printed(1, timeout=20)
        slip = decode(printed.read_bytes())
        assert ticket_fields(slip)["number"] == r.json()["number"]
        assert f"预约 {start[11:16]}" in slip.text
    finally:
        printer.stop()
