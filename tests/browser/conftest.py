"""Browser tests: Playwright (sync API, in the pytest process) driving Debian's Chromium against real servers.

The hallq servers run in subprocesses (tests/support/server.py), so eventlet never meets Playwright's own
event loop. Chromium is /usr/bin/chromium (scripts/bootstrap.sh installs it); `playwright install` is never used.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright
from support.databases import reset
from support.env import ROOT
from support.server import Server, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How docs/display.md starts a hall's TV: sound without a click. Chromium's default autoplay policy holds
# sound back until someone interacts (browser_sound_blocked keeps that default).
UNATTENDED_SOUND = "--autoplay-policy=no-user-gesture-required"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE = "/static/vendor/axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("thread") or patcher.is_monkey_patched("socket"):
            pytest.fail("eventlet monkey-patched the pytest process; browser tests need real threads and sockets")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `sudo bash scripts/bootstrap.sh test` (installs Debian's chromium)")
    with sync_playwright() as p:
        yield p


def _launch(playwright: Playwright, *extra_args: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium as a hall's unattended TV runs it: sound plays without a click."""
    yield from _launch(playwright, UNATTENDED_SOUND)


@pytest.fixture(scope="session")
def browser_sound_blocked(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with its default autoplay policy: a page's sound waits for a first click or key."""
    yield from _launch(playwright)


@pytest.fixture(scope="session")
def hall_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real hallq server on SQLite (tests/data/test_hall.toml) shared by the session's browser tests."""
    with serving("sqlite", tmp_path_factory.mktemp("browser-hall")) as server:
        yield server


@pytest.fixture
def hall(hall_server: Server) -> Server:
    """hall_server with an empty queue and every counter closed."""
    reset(hall_server.database)
    return hall_server


class _Watch:
    """What a page did wrong: uncaught exceptions and Content-Security-Policy refusals fail the test."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def page_error(self, error: Any) -> None:
        self.problems.append(f"uncaught: {error}")


@contextmanager
def _opening_pages(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []
    watch = _Watch()

    def _open(
        url: str, viewport: tuple[int, int] = (1920, 1080), locale: str = "zh-CN", **context_options: Any
    ) -> Page:
        if url.startswith("/"):
            url = request.getfixturevalue("hall_server").url + url
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale=locale, **context_options
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", watch.console)
        page.on("pageerror", watch.page_error)
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """open_page(url, viewport=(w, h), locale="zh-CN", **context_options) -> a loaded Page.

    A url starting with "/" is on hall_server. Each call gets its own browser context (cookies); the test
    fails at teardown if any page threw an uncaught exception or the CSP refused something.
    """
    with _opening_pages(browser, request) as opener:
        yield opener


@pytest.fixture
def open_page_sound_blocked(
    browser_sound_blocked: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """open_page in Chromium with its default autoplay policy (browser_sound_blocked): a TV nobody clicked yet."""
    with _opening_pages(browser_sound_blocked, request) as opener:
        yield opener


def _describe(violation: dict[str, Any]) -> str:
    targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
    return f"[{violation['impact']}] {violation['id']}: {violation['help']} ({targets}) {violation['helpUrl']}"


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations for the page as it is now (the vendored axe.min.js, loaded from 'self' for the CSP)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
    result = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return list(result)


@pytest.fixture
def check_axe() -> Callable[[Page], list[dict[str, Any]]]:
    """check_axe(page): fails on any serious or critical axe-core violation; prints every violation."""

    def _check(page: Page) -> list[dict[str, Any]]:
        violations = run_axe(page)
        for v in violations:
            print("axe:", _describe(v))
        failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not failing, f"axe-core on {page.url}:\n" + "\n".join(_describe(v) for v in failing)
        return violations

    return _check


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """screenshot(page, name, full_page=False): a PNG in test-artifacts/screenshots/<name>.png, returns its path."""

    def _shot(page: Page, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot
