"""The waiting-area call screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from server.i18n import strings
from server.pages import page

bp = Blueprint("display", __name__)


@bp.get("/display/<hall>")
def display_page(hall: str) -> Any:
    t = strings()
    if current_app.extensions["hallq"].ctx.config.hall(hall) is None:
        return page(t["display_title"], t["not_found"], 404)
    return page(t["display_title"], t["display_soon"])
