"""The login page after too many wrong passwords: its own page and words, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from support.server import Server

THROTTLED_ZH = re.compile(r"^登录尝试过多，请在 \d+ 秒后再试。$")
THROTTLED_EN = re.compile(r"^Too many login attempts; please try again in \d+ s\.$")


def test_a_throttled_login_answers_with_the_login_page_in_both_languages(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    hall.add_user("slow.clerk", "clerk", "pass-word-1", "town")
    page = open_page("/login", viewport=(1366, 768))
    wait = 0
    for _ in range(60):  # 5 free failures, then locks of 1, 2, 4, 8 s: try on until one has 8 s to run
        page.get_by_label("用户名").fill("slow.clerk")
        page.get_by_label("密码").fill("not-the-password")
        page.get_by_role("button", name="登录").click()
        alert = page.get_by_role("alert").inner_text()
        if THROTTLED_ZH.match(alert):
            wait = int(re.findall(r"\d+", alert)[0])
            if wait >= 8:
                break
        else:
            assert alert == "用户名或密码不正确", alert
    assert wait >= 8, wait
    expect(page.get_by_role("alert")).to_have_text(THROTTLED_ZH)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_label("用户名")).to_have_value("slow.clerk")
    check_axe(page)
    screenshot(page, "base-login-throttled-zh-1366x768")

    page.get_by_role("link", name="English").click()
    page.get_by_label("Username").fill("slow.clerk")
    page.get_by_label("Password").fill("pass-word-1")  # the right one, while locked
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(THROTTLED_EN)
    expect(page.locator("h1")).to_have_text("Staff login")
    check_axe(page)
    screenshot(page, "base-login-throttled-en-1366x768")
