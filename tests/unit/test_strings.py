"""The strings catalogue: every key in both languages with the same placeholders; language choice and toggle."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask

from server import i18n

STRINGS = Path(i18n.__file__).resolve().parent / "strings"
PLACEHOLDER = re.compile(r"\{(\w*)\}")
AREA_FILES = sorted(STRINGS.glob("*.json"))


def test_the_catalogue_has_the_common_file_and_only_known_languages() -> None:
    assert "common" in i18n.areas()
    for path in AREA_FILES:
        body = json.loads(path.read_text(encoding="utf-8"))
        assert set(body) == set(i18n.LANGS), f"{path.name}: languages {sorted(body)}"


@pytest.mark.parametrize("path", AREA_FILES, ids=lambda p: p.stem)
def test_every_key_exists_in_both_languages_with_the_same_placeholders(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    zh, en = body["zh-CN"], body["en"]
    assert set(zh) == set(en), f"{path.name}: only in zh-CN {set(zh) - set(en)}, only in en {set(en) - set(zh)}"
    for key in zh:
        assert isinstance(zh[key], str) and zh[key].strip() and isinstance(en[key], str) and en[key].strip(), key
        assert sorted(PLACEHOLDER.findall(zh[key])) == sorted(PLACEHOLDER.findall(en[key])), f"{path.name}:{key}"
        assert all(PLACEHOLDER.findall(zh[key])), f"{path.name}:{key} has an empty {{}}"


@pytest.mark.parametrize("path", [p for p in AREA_FILES if p.stem != "common"], ids=lambda p: p.stem)
def test_an_area_does_not_shadow_a_common_key(path: Path) -> None:
    common = set(json.loads((STRINGS / "common.json").read_text(encoding="utf-8"))["en"])
    area = set(json.loads(path.read_text(encoding="utf-8"))["en"])
    assert not common & area, f"{path.name} redefines common keys {common & area}"


def _app() -> Flask:
    return Flask(__name__)


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", "", "zh-CN"),
        ("?lang=en", "zh-CN", "en"),
        ("?lang=zh-CN", "en", "zh-CN"),
        ("?lang=fr", "en-GB,en;q=0.9", "en"),
        ("", "en-US,en;q=0.8", "en"),
        ("", "zh-TW,zh;q=0.9,en;q=0.5", "zh-CN"),
        ("", "de", "zh-CN"),
    ],
)
def test_the_page_language_follows_the_query_then_the_browser_then_chinese(
    query: str, accept: str, expected: str
) -> None:
    with _app().test_request_context("/login" + query, headers={"Accept-Language": accept} if accept else {}):
        assert i18n.lang() == expected
        assert i18n.strings()["login"] == i18n.catalogue("common")[expected]["login"]


def test_the_toggle_links_to_the_same_page_in_the_other_language_keeping_its_query() -> None:
    with _app().test_request_context("/display/town?lang=en&x=1&x=2"):
        toggle = i18n.lang_toggle()
        assert toggle["href"] == "/display/town?x=1&x=2&lang=zh-CN"
        assert toggle["lang"] == "zh-CN" and toggle["label"] == "中文"
        assert i18n.lang_query() == "?lang=en"
    with _app().test_request_context("/login"):
        assert i18n.lang_toggle()["href"] == "/login?lang=en" and i18n.lang_query() == ""


def test_strings_json_cannot_close_its_script_element() -> None:
    text = str(i18n.strings_json({"k": "</script><b>&\u2028"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"k": "</script><b>&\u2028"}


def test_a_page_gets_common_and_its_areas_only() -> None:
    with _app().test_request_context("/?lang=en"):
        t = i18n.strings("track")
    assert "login" in t and "track_title" in t and "kiosk_title" not in t
