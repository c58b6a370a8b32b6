"""The waiting-area call screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from server.i18n import strings
from server.rendering import page, render_page

# Templates go in display/templates/display/; files in display/static/ are served at /display/static/...
bp = Blueprint(
    "display", __name__, template_folder="templates", static_folder="static", static_url_path="/display/static"
)


@bp.get("/display/<hall>")
def display_page(hall: str) -> Any:
    t = strings("display")
    found = current_app.extensions["hallq"].ctx.config.hall(hall)
    if found is None:
        return page(t["display_title"], t["not_found"], "display", status=404)
    return render_page("display/display.html", "display", title=t["display_title"], hall=found.id)
