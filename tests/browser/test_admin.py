"""/admin in a real browser: the demo's manager logs in, watches the hall live, looks a number up, sets the
notice line and reads the printable monthly report; axe-core on each, screenshots kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect
from support.env import ROOT
from support.server import end_process, free_port


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`hallq demo` as a newcomer runs it: its URL and the manager's password from its data folder."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    log = open(tmp_path / "demo.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", str(tmp_path / "data")],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                if requests.get(url + "/api/v1/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        logins = (tmp_path / "data" / "demo-logins.txt").read_text().split()
        yield url, logins[logins.index("manager") + 2]
    finally:
        end_process(proc)
        log.close()


def test_the_demo_manager_watches_the_hall_live(
    demo: tuple[str, str],
    open_page: Callable[..., Page],
    check_axe: Callable[[Page], object],
    screenshot: Callable[..., Path],
) -> None:
    url, password = demo
    page = open_page(url + "/admin", viewport=(1920, 1080))
    expect(page.locator("h1")).to_have_text("工作人员登录")  # sent to log in first
    page.get_by_label("用户名").fill("manager")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text("管理后台")
    row = page.locator('tr[data-service="id-card"]')
    expect(row.locator('[data-field="waiting"]')).to_have_text("0")
    expect(page.locator("#today-issued")).to_have_text("0")
    expect(page.locator("html")).to_have_attribute("data-hq-connection", "online", timeout=15000)

    issued = requests.post(url + "/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=10).json()
    expect(row.locator('[data-field="waiting"]')).to_have_text("1", timeout=10000)
    expect(page.locator("#today-issued")).to_have_text("1")
    expect(row.locator('[data-field="served_now"]')).to_have_text("无人办理")
    # The alert scan runs every 30 s: on a busy machine it may have run by now and seen what is true of the demo
    # (this ticket nobody serves; the agent-printed kiosk whose agent is not started); any other would be wrong.
    expect(page.locator("#alert-list li:not(.hq-alert-uncovered):not(.hq-alert-printer)")).to_have_count(0)
    # The agent-printed kiosk whose agent is not started: its alert names the kiosk as the hall knows it.
    k2 = next(k for k in requests.get(url + "/api/v1/halls/town/kiosks", timeout=10).json() if k["id"] == "k2")
    expect(page.locator(".hq-alert-printer")).to_contain_text(f" {k2['name']} 打印机：离线", timeout=45000)

    page.get_by_label("号码", exact=True).fill(issued["number"])
    page.get_by_role("button", name="查找号票").click()
    expect(page.locator("#lookup-output caption")).to_contain_text(issued["number"])
    expect(page.locator("#lookup-output tbody tr")).to_have_count(1)
    # One Chinese name per thing: the event, the ticket's status and the call's reason, no English words.
    expect(page.locator("#lookup-output tbody")).to_contain_text("取号（记录 ")
    expect(page.locator("#lookup-output caption")).to_contain_text("等候中")
    assert not re.search(r"[A-Za-z]{3,}", page.locator("#lookup-output").inner_text())

    page.get_by_label("公告内容（最多200字，留空则不显示）").fill("今日下午三点后暂停办理户口迁移")
    page.get_by_role("button", name="保存并发布").click()
    expect(page.locator("#notice-result")).to_have_text("公告已发布。")
    assert (
        requests.get(url + "/api/v1/halls/town/notice", timeout=10).json()["text"] == "今日下午三点后暂停办理户口迁移"
    )

    expect(page.locator("#report-output dl")).to_contain_text("取号")
    check_axe(page)
    screenshot(page, "admin-live-zh-1920x1080", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot(page, "admin-live-zh-1440x900", full_page=True)

    page.goto(url + "/admin/reports/monthly?month=" + issued["issued_at"][:7])
    expect(page.locator("h1")).to_contain_text("月度报告")
    expect(page.locator("svg.hq-chart")).to_have_count(3)
    check_axe(page)
    page.emulate_media(media="print")
    screenshot(page, "admin-monthly-print", full_page=True)
    # Printed on A4: one page for a month's figures, the title whole (not broken at "2026-\n12").
    pdf = page.pdf(format="A4", print_background=True)
    (ROOT / "test-artifacts" / "admin-monthly.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    title = page.locator("h1 .hq-nowrap").last
    assert title.evaluate("e => e.getClientRects().length") == 1


def test_admin_needs_a_manager(demo: tuple[str, str], open_page: Callable[..., Page]) -> None:
    url, _ = demo
    r = requests.get(url + "/admin", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert requests.get(url + "/api/v1/halls/town/dashboard", timeout=10).status_code == 401
