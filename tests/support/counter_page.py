"""The clerk's counter page in a browser test (Playwright): a clerk's login, signing in at a window, its buttons."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from support.server import Server

PASSWORD = "pass-word-1"
LONG = 20000  # ms: generous on a busy machine


def add_clerk(server: Server, name: str) -> None:
    server.add_user(name, "clerk", PASSWORD, hall="town")


def log_in(page: Page, name: str) -> None:
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def sign_in_at(page: Page, counter_name: str) -> None:
    page.get_by_role("button", name=counter_name).click()
    expect(page.locator("#counter-name")).to_have_text(counter_name, timeout=LONG)
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=LONG)


def button(page: Page, name: str) -> Locator:
    return page.locator(f'[data-act="{name}"]')
