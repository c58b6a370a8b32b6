"""The kiosk writes dates as the hall does: 12月7日 in Chinese, 7 Dec in English, never 12/7 (kiosk/views.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from kiosk.views import service_state
from server.i18n import strings

CLOSED = {"open": False, "opens_at": "2026-12-07T08:30:00+08:00", "served_now": False}


@pytest.mark.parametrize(("lang", "words"), [("zh-CN", "12月7日 08:30 开始取号"), ("en", "opens 7 Dec at 08:30")])
def test_a_later_opening_day_is_written_in_the_hall_s_format(lang: str, words: str) -> None:
    with Flask(__name__).test_request_context(f"/?lang={lang}"):
        state, said = service_state(CLOSED, strings("kiosk"), "2026-12-04")
    assert (state, said) == ("closed", words)
    assert "/" not in said


def test_before_the_first_window_opens_a_tile_says_when_and_in_order() -> None:
    before = {"open": True, "served_now": False, "before_opening": True, "windows_open_at": "08:30"}
    with Flask(__name__).test_request_context("/?lang=zh-CN"):
        assert service_state(before, strings("kiosk"), "2026-12-07") == ("before", "08:30 开始办理，按序叫号")
