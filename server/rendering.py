"""Rendering a page on base.html: its strings, language, CSRF token and the JSON block for its module."""

from __future__ import annotations

from typing import Any

from flask import render_template, session

from server.i18n import lang, lang_query, lang_toggle, minutes_text, minutes_up, strings, strings_json


class _Blanks(dict[str, Any]):
    """Values for a string's placeholders; one that was not given reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, **values: Any) -> str:
    """`text.format(**values)` for strings chosen by data (an alert's kind): a placeholder the caller did not
    supply is left empty instead of failing the whole page (a KeyError was a 500 for every manager)."""
    try:
        return text.format_map(_Blanks(values))
    except (ValueError, IndexError, AttributeError):  # a malformed string: shown as written
        return text


def render_page(template: str, *areas: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render `template` (which extends base.html) with `common` plus `areas` strings.

    The template sees `t` (the strings), `lang`, `lang_toggle` (href/lang/label/title of the other
    language), `lang_query` (`?lang=X` when asked explicitly, for form actions), `minutes_text` and
    `minutes_up` (the one rule for minutes), `fill` (a string's placeholders, forgiving) and `csrf` (the session's
    token, or None); base.html puts the strings into #hq-strings and the token into <meta name="csrf-token">.
    """
    t = strings(*areas)
    csrf = session.get("csrf")
    values: dict[str, Any] = {
        "t": t,
        "lang": lang(),
        "lang_toggle": lang_toggle(),
        "lang_query": lang_query(),
        "csrf": csrf if isinstance(csrf, str) else None,
        "hq_strings": strings_json(t),
        "title": context.pop("title", t.get("app_name", "")),
        # the one rule for minutes (server/i18n.py): {{ minutes_text(s) }}, {{ minutes_text(s, True) }} for estimates
        "minutes_text": lambda seconds, about=False: minutes_text(seconds, t, about),
        "minutes_up": minutes_up,
        "fill": fill,
    }
    values.update(context)
    return render_template(template, **values), status


def page(title: str, message: str, *areas: str, status: int = 200) -> tuple[str, int]:
    """A plain page saying what is (or will be) here."""
    return render_page("hq_message.html", *areas, status=status, title=title, message=message)
