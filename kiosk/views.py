"""The kiosk's touch screen, its enrollment link, and the QR code it shows after a ticket."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, request

from server import devices
from server.engine.errors import HallError
from server.i18n import strings
from server.pages import page
from server.services import tickets

bp = Blueprint("kiosk", __name__)


def _hq() -> Any:
    return current_app.extensions["hallq"]


@bp.get("/kiosk/<kiosk>")
def kiosk_page(kiosk: str) -> Any:
    t = strings()
    if _hq().ctx.config.find_kiosk(kiosk) is None:
        return page(t["kiosk_title"], t["not_found"], 404)
    return page(t["kiosk_title"], t["kiosk_soon"])


@bp.get("/kiosk/<kiosk>/enroll")
def enroll(kiosk: str) -> Any:
    """Open once on the kiosk's browser: it becomes that kiosk (a long-lived device cookie), then its page."""
    t = strings()
    app = _hq()
    if app.ctx.config.find_kiosk(kiosk) is None:
        return page(t["kiosk_title"], t["not_found"], 404)
    landing = redirect(f"/kiosk/{kiosk}", 303)
    if devices.device_kiosk(app.ctx, request.cookies.get(devices.COOKIE)) == kiosk:
        return landing  # enrolled already (the same link opened again): keep the code for nobody
    try:
        value = devices.enroll(app.ctx, kiosk, request.args.get("code", ""))
    except HallError:
        return page(t["kiosk_title"], t["kiosk_enroll_failed"], 403)
    public_url = app.ctx.config.settings.public_url or ""
    landing.set_cookie(
        devices.COOKIE,
        value,
        max_age=devices.COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=public_url.startswith("https"),
    )
    landing.headers["Cache-Control"] = "no-store"
    return landing


@bp.get("/kiosk/qr/<token>.svg")
def ticket_qr(token: str) -> Any:
    """The ticket's QR code (its track URL) as SVG, so a resident can photograph it off the screen."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    app = _hq()
    try:
        with app.ctx.db.read() as s:
            tickets.find_by_token(s, token)
    except HallError:
        return Response(status=404)
    image = qrcode.make(app.track_url(token), image_factory=SvgPathImage, box_size=10, border=2)
    response = Response(image.to_string(encoding="unicode"), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
