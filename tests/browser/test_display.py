"""The call screen and the window screen in a real Chromium.

A call made through the REST API shows within 500 ms (page clock), flashes, and is announced as chime →
announcement → announcement whose played lengths match the server's WAV files (espeak-ng's, or assembled
from a hall's recorded clips); a recall flashes and is announced again; a server restart resyncs the page
without announcing anything twice; a TV nobody clicked (Chromium's default autoplay policy) shows the
sound banner and plays the waiting call after one click. Screenshots at
1920×1080, 3840×2160 and portrait 1080×1920 go to test-artifacts/screenshots/display-*.png.
"""

from __future__ import annotations

import io
import shutil
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from support.env import ROOT
from support.server import Server, serving

from display.clips import DEFAULT_FOLDER

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


def assert_announced(server: Server, page: Page, ticket: dict[str, Any], window: int, times: int = 1) -> None:
    """The page played chime -> announcement -> announcement (`times` over) for this call in hall "town":
    the hall's chime and the server's WAV for this number and window, each as long as the file (its WAV
    header), each played to its end, and nothing else of the page's audio overlapping."""
    chime_url = "/display/chime/town.wav"
    voice_url = f"/display/audio/town/{ticket['number']}-{window}.wav"
    chime, voice = wav_seconds(server, chime_url), wav_seconds(server, voice_url)
    clips = wait_played(page, ticket["id"], 3 * times)
    assert [c["kind"] for c in clips] == ["chime", "speech", "speech"] * times
    assert [c["src"].removeprefix(server.url) for c in clips] == [chime_url, voice_url, voice_url] * times
    for clip, seconds in zip(clips, (chime, voice, voice) * times, strict=True):
        assert abs(clip["duration"] - seconds) < 0.05, (clip, seconds)
        assert (clip["ended"] - clip["started"]) / 1000 >= seconds - 0.25, clip  # really played, not skipped
    everything = page.evaluate("hqDisplay.audio")
    for a, b in zip(everything, everything[1:], strict=False):
        assert b["started"] >= a["ended"] - 1, f"announcements overlapped: {a} {b}"


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
    assert_announced(hall, page, ticket, window=1)
    # Started with the autoplay flag, as docs/display.md tells a hall: no banner, nothing ever refused.
    expect(page.locator("#sound-banner")).to_be_hidden()
    assert page.evaluate("hqDisplay.blocked") == 0

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
    assert_announced(hall, page, ticket, window=1, times=2)
    clips = played(page, ticket["id"])
    assert clips[0]["at"] != clips[3]["at"]
    expect(page.locator("#now-title")).to_have_text("重复叫号")
    expect(page.locator("#calls li")).to_have_count(0)  # the same resident: not listed again under the recall
    hall.issue("id-card")
    following = hall.act("w1", "call-next")  # w1 still holds the ticket: finish it first
    assert following.status_code == 409
    hall.act("w1", "finish", {"outcome": "completed"})
    hall.act("w1", "call-next")
    expect(page.locator("#now-title")).to_have_text("正在叫号", timeout=LONG)
    expect(page.locator("#calls li")).to_have_count(1)
    expect(page.locator("#calls li")).to_contain_text(ticket["number"])


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


def test_a_tv_nobody_clicked_shows_the_sound_banner_and_plays_the_call_after_one_click(
    hall: Server, open_page_sound_blocked: OpenPage, screenshot: Callable[..., Path]
) -> None:
    # Every evaluation Playwright makes in a page (page.evaluate, expect(locator)...) counts as a user
    # gesture, so until the browser has refused the chime this test only watches the network: the chime is
    # requested after the page has called play() on it, and the browser decides on the spot.
    hall.issue("id-card")
    hall.act("w1", "open")
    page = open_page_sound_blocked("about:blank")  # Chromium's default autoplay policy
    frames: list[str | bytes] = []  # what the page's socket receives: watched from outside, no evaluation
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    page.goto(hall.url + "/display/town")
    deadline = time.monotonic() + LONG / 1000
    while not any('"snapshot"' in str(f) for f in frames):  # connected: a call from now on reaches the page
        assert time.monotonic() < deadline, "the display's socket sent no snapshot"
        page.wait_for_timeout(50)
    with page.expect_request(lambda r: r.url.endswith("/display/chime/town.wav"), timeout=LONG):
        ticket = hall.act("w1", "call-next").json()["ticket"]
    banner = page.locator("#sound-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("声音未开启：请点击屏幕任意处以开启叫号语音")
    expect(page.locator("#now-number")).to_have_text("A001", timeout=LONG)  # shown at once, sound or not
    page.wait_for_function("() => hqDisplay.blocked > 0", timeout=LONG)  # the browser refused the chime
    assert page.evaluate("hqDisplay.audio") == []  # so nothing has played yet, and the call is kept
    expect(banner).to_be_visible()
    screenshot(page, "display-sound-blocked")

    page.mouse.click(960, 700)  # one touch anywhere
    expect(banner).to_be_hidden()
    assert_announced(hall, page, ticket, window=1)  # the queued call, whole: chime, announcement twice


def test_recorded_clips_are_what_the_page_plays(
    tmp_path: Path, start_server: Callable[..., Server], open_page: OpenPage
) -> None:
    folder = Path(shutil.copytree(DEFAULT_FOLDER, tmp_path / "recordings"))  # a hall's own recordings
    server = start_server(extra_server=f'[voice]\nsource = "clips"\nclips = "{folder}"\ngap_ms = 120\n')
    page = open_display(open_page, server.url + "/display/town")
    server.issue("id-card")
    server.act("w1", "open")
    ticket = server.act("w1", "call-next").json()["ticket"]
    assert_announced(server, page, ticket, window=1)
    # The announcement the page played is the clips of 请 A 零零一 号 到 一 号窗口 办理 plus 120 ms gaps.
    parts = "qing A 0 0 1 hao dao 1 hao chuangkou banli".split()
    expected = sum(clip_seconds(folder / f"{name}.wav") for name in parts) + 0.12 * (len(parts) - 1)
    assert wav_seconds(server, "/display/audio/town/A001-1.wav") == pytest.approx(expected, abs=0.001)
    assert played(page, ticket["id"])[1]["duration"] == pytest.approx(expected, abs=0.05)


def clip_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


@pytest.mark.parametrize("viewport", [(1920, 1080), (1366, 768), (1080, 1920)], ids=["1080p", "768p", "portrait"])
def test_the_whole_screen_of_a_full_hall_fits_with_its_notice(
    start_server: Callable[..., Server], open_page: OpenPage, screenshot: Callable[..., Path], viewport: tuple[int, int]
) -> None:
    """The demo hall's 14 services: the waiting counts ran below a 1080p screen and took the manager's
    notice line with them; nothing of the screen may be out of sight (it cannot scroll)."""
    server = start_server(hall_toml=ROOT / "server" / "demo_hall.toml")
    server.issue("id-card")
    assert server.act("w1", "open").status_code == 200
    assert server.act("w1", "call-next").json()["ticket"]["number"] == "A001"
    notice = {"text": "今日下午三点起系统维护，社保业务暂停办理，请谅解。"}
    auth = {"Authorization": f"Bearer {server.admin_token()}"}
    assert requests.put(server.url + "/api/v1/halls/town/notice", json=notice, headers=auth, timeout=10).ok
    page = open_display(open_page, server.url + "/display/town", viewport)
    expect(page.locator("#now-number")).to_have_text("A001", timeout=LONG)
    expect(page.locator("#waiting li")).to_have_count(14, timeout=LONG)
    expect(page.locator(".tv-notice")).to_be_visible()
    height = viewport[1]
    boxes = page.evaluate(
        """() => Object.fromEntries(
            ['#now-number', '#now-counter', '#waiting li:last-child', '.tv-notice', '#now']
              .map(s => [s, document.querySelector(s).getBoundingClientRect().toJSON()]))"""
    )
    assert page.evaluate("document.documentElement.scrollHeight") <= height
    for selector, box in boxes.items():
        assert box["top"] >= 0 and box["bottom"] <= height + 0.5, (selector, box, viewport)
    for part in ("#now-number", "#now-counter"):  # the call inside its panel, not cut by it
        assert boxes[part]["bottom"] <= boxes["#now"]["bottom"] + 0.5, (part, boxes)
    screenshot(page, f"display-full-hall-{viewport[0]}x{height}")
