"""The resident's page (/t/<token>) as the server renders it: what it names, its words without JavaScript,
its English, and its own 404 page for any other path under /t/ (issue 20)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from support.app import AppHall

CHINESE_PUNCTUATION = re.compile(r"[，。：；！？（）、“”‘’《》【】]")


def _english_names(text: str) -> str:
    materials = 'materials = ["户口簿", "近期照片"]'
    text = text.replace(materials, materials + '\nmaterials_en = ["Household register", "Recent photo"]')
    return text.replace('name = "1号窗口"\n', 'name = "1号窗口"\nname_en = "Window 1"\n', 1)


@pytest.fixture
def hall(make_app_hall: Callable[..., AppHall]) -> AppHall:
    return make_app_hall(edit=_english_names)


def _page(hall: AppHall, ticket: dict, query: str = "") -> str:
    r = hall.get("/t/" + ticket["track_url"].rsplit("/", 1)[1] + query)
    assert r.status_code == 200
    return r.text.split("<body", 1)[1]


def _visible_text(page: str) -> str:
    """The words a reader sees: no tags, no attributes, no scripts."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_page_names_the_hall_and_the_service(hall: AppHall) -> None:
    ticket = hall.issue("id-card")
    zh = _visible_text(_page(hall, ticket))
    assert "测试镇便民服务中心" in zh and "身份证办理" in zh
    en = _visible_text(_page(hall, ticket, "?lang=en"))
    assert "Test Town Service Centre" in en and "ID card" in en and "身份证" not in en


def test_without_javascript_the_page_does_not_claim_to_update_itself(hall: AppHall) -> None:
    ticket = hall.issue("id-card")
    text = _visible_text(_page(hall, ticket))
    assert "自动更新" not in text and "请刷新本页" in text
    assert "updates by itself" not in _visible_text(_page(hall, ticket, "?lang=en"))


@pytest.mark.parametrize("path", ["/t/", "/t/abc/def", "/t/abc/rate", "/t/x/y/z"])
def test_any_other_path_under_t_answers_the_html_404_page(hall: AppHall, path: str) -> None:
    r = hall.get(path)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html"), r.text[:200]
    assert "没有这个页面" in r.text and '"error"' not in r.text
    en = hall.get(path + "?lang=en")
    assert en.status_code == 404 and "There is no such page" in en.text


def test_unknown_token_is_still_the_page_s_404(hall: AppHall) -> None:
    r = hall.get("/t/not-a-real-token-at-all")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")


def test_english_counts_people_right_and_uses_no_chinese_punctuation(hall: AppHall) -> None:
    hall.act("w4", "open")  # the day has started: the "ask the desk" line is the one shown
    first = hall.issue("id-card")
    second = hall.issue("id-card")
    third = hall.issue("id-card")
    one = _visible_text(_page(hall, second, "?lang=en"))
    assert re.search(r"\b1\s+person\b", one) and "1 people" not in one
    two = _visible_text(_page(hall, third, "?lang=en"))
    assert re.search(r"\b2\s+people\b", two)
    for text in (one, two, _visible_text(_page(hall, first, "?lang=en"))):
        assert not CHINESE_PUNCTUATION.search(text), CHINESE_PUNCTUATION.findall(text)


def test_english_names_the_window_and_the_materials_where_configured(hall: AppHall) -> None:
    ticket = hall.issue("id-card")
    hall.act("w1", "open")
    assert hall.act("w1", "call-next").status_code == 200
    called = _visible_text(_page(hall, ticket, "?lang=en"))
    assert "Window 1" in called and "1号窗口" not in called
    assert not CHINESE_PUNCTUATION.search(called)
    assert "1号窗口" in _visible_text(_page(hall, ticket))
    hall.act("w1", "start")
    r = hall.act("w1", "finish", {"outcome": "incomplete", "missing": ["户口簿"], "print_notice": False})
    assert r.status_code == 200, r.text
    done = _visible_text(_page(hall, ticket, "?lang=en"))
    assert "Household register" in done and "户口簿" not in done
    [service] = [s for s in hall.get("/api/v1/halls/town/services").json() if s["id"] == "id-card"]
    assert service["materials_en"] == ["Household register", "Recent photo"]
