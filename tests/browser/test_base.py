"""The shared front-end base in a real browser: theme, strings, CSP, axe-core, and the socket wrapper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect
from support.server import Server, serving

BLUE = "rgb(11, 61, 145)"


def test_login_page_is_themed_accessible_and_bilingual(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    page = open_page("/login", viewport=(1920, 1080))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("工作人员登录")
    expect(page.locator(".hq-bar")).to_have_css("background-color", BLUE)
    expect(page.locator("body")).to_have_css("font-size", "20px")
    expect(page.get_by_role("button", name="登录")).to_have_css("min-height", "72px")
    assert page.locator('meta[name="csrf-token"]').get_attribute("content")
    check_axe(page)
    screenshot(page, "base-login-zh-1920x1080")

    page.get_by_label("用户名").fill("nobody")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确")
    expect(page.get_by_label("用户名")).to_have_value("nobody")
    check_axe(page)
    screenshot(page, "base-login-error-zh-1920x1080")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Staff login")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password")  # the form kept ?lang=en
    check_axe(page)
    screenshot(page, "base-login-error-en-1920x1080")


def test_english_from_the_query_and_from_the_browser(open_page: Callable[..., Page]) -> None:
    page = open_page("/login?lang=en", viewport=(390, 844))
    expect(page.locator("h1")).to_have_text("Staff login")
    page = open_page("/login", viewport=(390, 844), locale="en-US")
    expect(page.locator("h1")).to_have_text("Staff login")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("工作人员登录")


def test_the_socket_wrapper_shows_the_snapshot_marks_a_lost_server_and_resyncs_after_a_restart(
    tmp_path: Path,
    open_page: Callable[..., Page],
    check_axe: Callable[[Page], object],
    screenshot: Callable[..., Path],
) -> None:
    with serving("sqlite", tmp_path) as server:
        page = open_page(server.url + "/display/town", viewport=(1920, 1080))
        calls, mark = page.locator("#calls"), page.locator("#hq-conn")
        expect(calls).to_have_attribute("data-snapshots", "1", timeout=15000)
        expect(page.locator("html")).to_have_attribute("data-hq-connection", "online")
        expect(mark).to_be_hidden()

        server.issue("id-card")  # live events after the snapshot, strings from the catalogue via i18n.js
        expect(page.locator("#waiting")).to_contain_text("身份证办理 1 人", timeout=15000)
        server.act("w1", "open")
        server.act("w1", "call-next")
        expect(page.locator("#now-number")).to_have_text("A001", timeout=15000)
        check_axe(page)

        server.stop()
        expect(mark).to_be_visible(timeout=20000)
        expect(mark).to_have_text("正在重新连接…")
        expect(page.locator("html")).to_have_attribute("data-hq-connection", "reconnecting")
        screenshot(page, "base-display-reconnecting-1920x1080")

        server.start()
        expect(calls).to_have_attribute("data-snapshots", "2", timeout=45000)
        expect(mark).to_be_hidden()
        expect(page.locator("#now-number")).to_have_text("A001")  # rebuilt, not appended
        expect(calls.locator("li")).to_have_count(0)
        expect(page.locator("#waiting")).to_contain_text("身份证办理 0 人")

        server.issue("id-card")
        server.act("w1", "finish", {"outcome": "completed"})
        server.act("w1", "call-next")
        expect(page.locator("#now-number")).to_have_text("A002", timeout=15000)
        expect(calls.locator("li").first).to_contain_text("A001")


def test_check_axe_fails_on_a_serious_violation(
    hall: Server, open_page: Callable[..., Page], check_axe: Callable[[Page], object]
) -> None:
    page = open_page("/login?lang=en", viewport=(1080, 1920))
    check_axe(page)
    page.evaluate("document.querySelector('label[for=login-username]').remove()")  # an unlabelled input
    try:
        check_axe(page)
    except AssertionError as failure:
        assert "label" in str(failure)
    else:
        raise AssertionError("check_axe passed a page with an unlabelled input")


def test_static_files_are_served_with_cache_headers_and_a_strict_csp(hall: Server) -> None:
    theme = hall.get("/static/css/theme.css")
    assert theme.status_code == 200 and theme.headers["Content-Type"].startswith("text/css")
    assert theme.headers["Cache-Control"] == "no-cache" and theme.headers.get("ETag")
    etag = {"If-None-Match": theme.headers["ETag"]}
    again = requests.get(hall.url + "/static/css/theme.css", headers=etag, timeout=10)
    assert again.status_code == 304
    vendored = hall.get("/static/vendor/socket.io.esm.min.js")
    assert vendored.status_code == 200 and "javascript" in vendored.headers["Content-Type"]
    assert vendored.headers["Cache-Control"] == "public, max-age=86400"
    assert hall.get("/display/static/display.js").status_code == 200
    missing = hall.get("/static/js/nothing-here.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    csp = hall.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize(
    ("path", "viewport"),
    [("/kiosk/k1", (1080, 1920)), ("/kiosk/k1?lang=en", (1920, 1080)), ("/kiosk/nope", (1080, 1920))],
)
def test_placeholder_pages_sit_on_the_base_at_real_sizes(
    hall: Server,
    open_page: Callable[..., Page],
    check_axe: Callable[[Page], object],
    path: str,
    viewport: tuple[int, int],
) -> None:
    page = open_page(path, viewport=viewport)
    expect(page.locator(".hq-bar")).to_have_css("background-color", BLUE)
    assert page.evaluate("JSON.parse(document.getElementById('hq-strings').textContent).kiosk_title")
    check_axe(page)
