"""The clerk's counter client."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, session

from server.i18n import strings
from server.rendering import page

# Templates go in counter/templates/counter/; files in counter/static/ are served at /counter/static/...
bp = Blueprint(
    "counter", __name__, template_folder="templates", static_folder="static", static_url_path="/counter/static"
)


@bp.get("/counter")
def counter_page() -> Any:
    if not session.get("user"):
        return redirect("/login?next=/counter")
    t = strings("counter")
    return page(t["counter_title"], t["counter_soon"], "counter")
