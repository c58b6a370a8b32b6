"""The kiosk's touch screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from server.i18n import strings
from server.pages import page

bp = Blueprint("kiosk", __name__)


@bp.get("/kiosk/<kiosk>")
def kiosk_page(kiosk: str) -> Any:
    t = strings()
    if current_app.extensions["hallq"].ctx.config.find_kiosk(kiosk) is None:
        return page(t["kiosk_title"], t["not_found"], 404)
    return page(t["kiosk_title"], t["kiosk_soon"])
