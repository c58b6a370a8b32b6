"""The kiosk's touch screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from server.i18n import strings
from server.rendering import page

# Templates go in kiosk/templates/kiosk/ (names are shared app-wide); files in kiosk/static/ are /kiosk/static/...
bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static", static_url_path="/kiosk/static")


@bp.get("/kiosk/<kiosk>")
def kiosk_page(kiosk: str) -> Any:
    t = strings("kiosk")
    if current_app.extensions["hallq"].ctx.config.find_kiosk(kiosk) is None:
        return page(t["kiosk_title"], t["not_found"], "kiosk", status=404)
    return page(t["kiosk_title"], t["kiosk_soon"], "kiosk")
