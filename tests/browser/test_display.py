"""The call screen and the window screen in a real Chromium.

A call made through the REST API shows within 500 ms (page clock), flashes, and is announced as chime →
announcement → announcement whose played lengths match the server's WAV files; a recall flashes and is
announced again; a server restart resyncs the page without announcing anything twice. Screenshots at
1920×1080, 3840×2160 and portrait 1080×1920 go to test-artifacts/screenshots/display-*.png.
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect
from support.server import Server, serving

OpenPage = Callable[..., Page]
LONG = 20000  # ms: a busy machine


def wav_seconds(server: Server, path: str) -> float:
    r = server.get(path)
    assert r.status_code == 200, r.text
    with wave.open(io.BytesIO(r.content)) as w:
        return w.getnframes() / w.getframerate()


def played(page: Page, ticket: str) -> list[dict[str, Any]]:
    return [e for e in page.evaluate("hqDisplay.audio") if e["ticket"] == ticket]


def wait_played(page: Page, ticket: str, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(found := played(page, ticket)) < n:
        assert time.monotonic() < deadline, f"played for {ticket}: {found}"
        time.sleep(0.2)
    return found


def open_display(open_page: OpenPage, url: str, viewport: tuple[int, int] = (1920, 1080)) -> Page:
    page = open_page(url, viewport=viewport)
    expect(page.locator("#calls")).to_have_attribute("data-snapshots", "1", timeout=LONG)
    return page


def test_a_call_shows_within_500_ms_flashes_and_is_announced_chime_then_twice(
    hall: Server, open_page: OpenPage, check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    page = open_display(open_page, "/display/town")
    expect(page.locator("#sound-banner")).to_be_hidden()  # Chromium runs with the autoplay flag
    hall.issue("id-card")
    hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")  # warms the server and the page
    expect(page.locator("#now-number")).to_have_text("A001", timeout=LONG)

    hall.act("w1", "finish", {"outcome": "completed"})
    before = page.evaluate("Date.now()")
    ticket = hall.act("w1", "call-next").json()["ticket"]
    expect(page.locator("#now-number")).to_have_text("A002", timeout=LONG)
    shown = page.evaluate(f"hqDisplay.shown[{ticket['id']!r}]")
    assert shown - before < 500, f"call took {shown - before} ms to reach the screen"
    expect(page.locator("#now-counter")).to_have_text("1号窗口")
    expect(page.locator("#now")).to_have_class("tv-now tv-flash")
    expect(page.locator("#calls li").first).to_have_text("A0011号窗口")

    # Sequence and lengths: chime, then the announcement twice, each as long as the server's WAV.
    chime = wav_seconds(hall, "/display/chime/town.wav")
    voice = wav_seconds(hall, "/display/audio/town/A002-1.wav")
    clips = wait_played(page, ticket["id"], 3)
    assert [c["kind"] for c in clips] == ["chime", "speech", "speech"]
    assert clips[1]["src"].endswith("/display/audio/town/A002-1.wav")
    for clip, seconds in zip(clips, (chime, voice, voice), strict=True):
        assert abs(clip["duration"] - seconds) < 0.05, (clip, seconds)
        assert (clip["ended"] - clip["started"]) / 1000 >= seconds - 0.25  # really played, not skipped
    everything = page.evaluate("hqDisplay.audio")
    for a, b in zip(everything, everything[1:], strict=False):
        assert b["started"] >= a["ended"] - 1, "announcements overlapped"

    # The public page carries no personal data.
    html = page.content()
    assert "phone" not in html and "13800" not in html
    page.wait_for_timeout(3500)  # the flash is over
    check_axe(page)
    height = page.locator("#now-number").bounding_box()
    assert height is not None and height["height"] >= 200, height  # docs/display.md states it
    print(f"now-number box at 1920x1080: {height['height']:.0f}px")
    screenshot(page, "display-1920x1080")


def test_a_recall_flashes_and_is_announced_again(hall: Server, open_page: OpenPage) -> None:
    page = open_display(open_page, "/display/town")
    hall.issue("id-card")
    hall.act("w1", "open")
    ticket = hall.act("w1", "call-next").json()["ticket"]
    wait_played(page, ticket["id"], 3)
    page.wait_for_timeout(3500)
    expect(page.locator("#now")).to_have_class("tv-now")
    hall.act("w1", "recall")
    expect(page.locator("#now")).to_have_class("tv-now tv-flash", timeout=LONG)
    clips = wait_played(page, ticket["id"], 6)
    assert [c["kind"] for c in clips] == ["chime", "speech", "speech"] * 2
    assert clips[0]["at"] != clips[3]["at"]
    expect(page.locator("#calls li")).to_have_count(1)  # the first call, under the recall


def test_a_server_restart_resyncs_without_announcing_again(
    tmp_path: Path, open_page: OpenPage, screenshot: Callable[..., Path]
) -> None:
    with serving("sqlite", tmp_path) as server:
        page = open_display(open_page, server.url + "/display/town")
        server.issue("id-card")
        server.act("w1", "open")
        ticket = server.act("w1", "call-next").json()["ticket"]
        wait_played(page, ticket["id"], 3)
        server.stop()
        expect(page.locator("#hq-conn")).to_be_visible(timeout=LONG)
        screenshot(page, "display-reconnecting")
        server.start()
        expect(page.locator("#calls")).to_have_attribute("data-snapshots", "2", timeout=45000)
        expect(page.locator("#hq-conn")).to_be_hidden()
        expect(page.locator("#now-number")).to_have_text("A001")
        page.wait_for_timeout(2000)
        assert len(page.evaluate("hqDisplay.audio")) == 3  # nothing announced twice

        server.issue("id-card")  # and it is live again
        server.act("w1", "finish", {"outcome": "completed"})
        server.act("w1", "call-next")
        expect(page.locator("#now-number")).to_have_text("A002", timeout=LONG)


def test_4k_and_a_portrait_display_for_one_area_with_its_notice(
    hall: Server, open_page: OpenPage, check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    for _ in range(3):
        hall.issue("water")
        hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w2", "open")
    for _ in range(2):
        hall.act("w1", "call-next")
        hall.act("w1", "finish", {"outcome": "completed"})
        hall.act("w2", "call-next")
        hall.act("w2", "finish", {"outcome": "completed"})
    big = open_display(open_page, "/display/town?display=d1", viewport=(3840, 2160))
    expect(big.locator("#notice")).to_contain_text("请携带身份证原件")
    expect(big.locator("#waiting")).to_contain_text("身份证办理 1 人")
    check_axe(big)
    screenshot(big, "display-3840x2160")

    tall = open_display(open_page, "/display/town?display=d2", viewport=(1080, 1920))
    expect(tall.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(tall.locator("#now-number")).to_have_text("C002")  # water only: no A numbers
    expect(tall.locator("#calls li")).to_have_text(["C0012号窗口"])
    expect(tall.locator("#waiting li")).to_have_text(["水费缴纳 1 人"])
    check_axe(tall)
    screenshot(tall, "display-portrait-1080x1920")
    assert open_page("/display/town?display=nope").locator("h1").count() >= 1


def test_the_window_screen_shows_closed_serving_and_cover(
    hall: Server, open_page: OpenPage, check_axe: Callable[[Page], object], screenshot: Callable[..., Path]
) -> None:
    page = open_page("/display/counter/w1", viewport=(1920, 1080))
    expect(page.locator("h1")).to_have_text("1号窗口")
    expect(page.locator("#win-message")).to_have_text("暂停服务")
    screenshot(page, "display-window-closed")
    hall.issue("id-card")
    hall.act("w1", "open")
    expect(page.locator("#win-message")).to_have_text("请稍候", timeout=LONG)
    hall.act("w1", "call-next")
    expect(page.locator("#win-number")).to_have_text("A001", timeout=LONG)
    check_axe(page)
    screenshot(page, "display-window-serving")
    hall.act("w1", "finish", {"outcome": "completed"})
    hall.act("w2", "open")
    r = hall.act("w1", "away", {"reason": "会议"})
    assert r.status_code == 200, r.text
    expect(page.locator("#win-message")).to_have_text("由 2 号窗口代办", timeout=LONG)
    screenshot(page, "display-window-covered")
    assert hall.get("/display/counter/nope/state").status_code == 404


def test_the_notice_line_set_by_a_manager_scrolls_on_the_display_at_once(hall: Server, open_page: OpenPage) -> None:
    page = open_display(open_page, "/display/town")
    put = requests.put(
        hall.url + "/api/v1/halls/town/notice",
        json={"text": "今日下午社保窗口 14:00 开放"},
        headers={"Authorization": f"Bearer {hall.admin_token()}"},
        timeout=10,
    )
    assert put.status_code == 200, put.text
    expect(page.locator("#notice")).to_have_text("今日下午社保窗口 14:00 开放", timeout=LONG)
    expect(page.locator(".tv-notice")).to_be_visible()
    cleared = requests.put(
        hall.url + "/api/v1/halls/town/notice",
        json={"text": ""},
        headers={"Authorization": f"Bearer {hall.admin_token()}"},
        timeout=10,
    )
    assert cleared.status_code == 200
    expect(page.locator(".tv-notice")).to_be_hidden(timeout=LONG)
