"""UI strings: zh-CN by default, English with ?lang=en (or the browser's preference).

The catalogue is one JSON file per area in server/strings/ (`common`, `kiosk`, `display`, `counter`,
`track`, `admin`), each `{"zh-CN": {...}, "en": {...}}`, read once. A page gets `common` plus its own
areas, both in the template (`t.key`) and as JSON in `<script type="application/json" id="hq-strings">`
for its ES module (server/static/js/i18n.js).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import request
from markupsafe import Markup

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"
STRINGS_DIR = Path(__file__).resolve().parent / "strings"


@cache
def catalogue(area: str) -> dict[str, dict[str, str]]:
    """One area's file, both languages; an unknown area is a programming error (KeyError)."""
    path = STRINGS_DIR / f"{area}.json"
    if not path.is_file():
        raise KeyError(f"no strings file for area {area!r}")
    body = json.loads(path.read_text(encoding="utf-8"))
    return {code: dict(body[code]) for code in LANGS}


def areas() -> list[str]:
    return sorted(p.stem for p in STRINGS_DIR.glob("*.json"))


# The hall's own screens: whoever set up the machine, residents read them in the hall's language.
SHARED_SCREENS = frozenset({"kiosk", "display"})


def lang() -> str:
    """The page language: ?lang=en|zh-CN, else zh-CN on the hall's shared screens (kiosk, display: the
    browser's locale is the installer's, not the resident's), else the browser's best match, else zh-CN."""
    asked = request.args.get("lang")
    if asked in LANGS:
        return asked
    if request.blueprint in SHARED_SCREENS:
        return DEFAULT_LANG
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"]) or DEFAULT_LANG
    return "en" if best == "en" else DEFAULT_LANG


def strings(*page_areas: str) -> dict[str, str]:
    """`common` plus the named areas, in the page language (later areas win on a shared key)."""
    code = lang()
    merged: dict[str, str] = {}
    for area in ("common", *page_areas):
        merged.update(catalogue(area)[code])
    return merged


def strings_json(t: dict[str, str]) -> Markup:
    """The strings as JSON that is safe inside a <script type="application/json"> element."""
    text = json.dumps(t, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028")):
        text = text.replace(raw, escaped)
    return Markup(text)  # noqa: S704 - escaped above for a script data block


def lang_query() -> str:
    """`?lang=X` when the page was asked for a language explicitly, so forms keep it."""
    asked = request.args.get("lang")
    return f"?lang={asked}" if asked in LANGS else ""


def lang_toggle() -> dict[str, str]:
    """The link to this same page in the other language: href, the target code, and its label."""
    current = lang()
    other = "en" if current == DEFAULT_LANG else DEFAULT_LANG
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", other)]
    return {
        "href": f"{request.path}?{urlencode(pairs)}",
        "lang": other,
        "label": catalogue("common")[current]["lang_switch"],
        "title": catalogue("common")[current]["lang_switch_label"],
    }


# -- minutes: one rule for every page, chart and slip ---------------------------------------------


def minutes_up(seconds: float) -> int:
    """Whole minutes, rounded up: 59 s and 60 s are 1, 96 s is 2, 0 is 0 (the number charts draw)."""
    return max(0, -(-int(seconds) // 60))


def minutes_text(seconds: float, t: dict[str, str], about: bool = False) -> str:
    """Seconds as words, the one rule (the same as `minutesText` in server/static/js/i18n.js): under a
    minute is 不到1分钟 / under 1 min (an estimate of 0 too), else whole minutes rounded up; `about` marks
    an estimate (约 N 分钟). A figure of 0 s is 0 分钟."""
    n = minutes_up(seconds)
    if 0 < seconds < 60 or (about and n == 0):
        return t["minutes_under"]
    return t["minutes_about" if about else "minutes_n"].format(n=n)
