"""The clerk's counter client."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, session

from server.i18n import strings
from server.pages import page

bp = Blueprint("counter", __name__)


@bp.get("/counter")
def counter_page() -> Any:
    if not session.get("user"):
        return redirect("/login?next=/counter")
    t = strings()
    return page(t["counter_title"], t["counter_soon"])
