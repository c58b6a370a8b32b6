"""The kiosk's touch screen, its enrollment link, and the QR code it shows after a ticket."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request
from markupsafe import Markup

from server import devices
from server.engine.appointments import CODE_ALPHABET
from server.engine.errors import HallError
from server.i18n import lang, minutes_text, strings
from server.rendering import page, render_page
from server.services import halls, notices, tickets

# Templates go in kiosk/templates/kiosk/ (names are shared app-wide); files in kiosk/static/ are /kiosk/static/...
bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static", static_url_path="/kiosk/static")

GROUPS = ("admin", "life")  # 行政事务, 生活服务: the order residents see them in
IDLE_S, DONE_S, DONE_PRINTERLESS_S = 60, 20, 45  # back to the start: idle, after a ticket, after one without paper
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _hq() -> Any:
    return current_app.extensions["hallq"]


def _seconds(name: str, default: int) -> int:
    """A timing the hall may set in the kiosk's URL (?idle=, ?done=), kept within sane bounds."""
    value = request.args.get(name, "")
    return max(3, min(600, int(value))) if value.isascii() and value.isdigit() and len(value) < 6 else default


def _json_block(value: Any) -> Markup:
    text = json.dumps(value, ensure_ascii=False)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028")):
        text = text.replace(raw, escaped)
    return Markup(text)  # noqa: S704 - escaped above for a script data block


def service_state(s: dict[str, Any], t: dict[str, str], today: str) -> tuple[str, str]:
    """(state, words) of a service tile; kiosk.js's serviceState says the same for live updates."""
    if not s["open"]:
        opens = s.get("opens_at")
        if not opens:
            return "closed", t["closed_disabled"]
        when = datetime.fromisoformat(opens)
        day = when.date().isoformat()
        tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
        key = "opens_today" if day == today else "opens_tomorrow" if day == tomorrow else "opens_on"
        month: object = MONTHS[when.month - 1] if lang() == "en" else when.month  # 12月7日 / 7 Dec, never 12/7
        return "closed", t[key].format(time=when.strftime("%H:%M"), month=month, day=when.day)
    if s.get("served_now") is False and s.get("before_opening"):
        # before the day's first window opens: the number is called in order, no need for the help desk
        time = s.get("windows_open_at")
        return "before", t["before_opening_short"].format(time=time) if time else t["before_opening_short_any"]
    if s.get("served_now") is False:
        return "unserved", t["not_served_short"]
    est = int(s["est_wait_s"])
    wait = minutes_text(est, t, about=True) if est > 0 else t["wait_none"]
    return "open", f"{t['ahead_tile'].format(n=s.get('ahead', s['waiting']))} · {wait}"


@bp.get("/kiosk/<kiosk>")
def kiosk_page(kiosk: str) -> Any:
    t = strings("kiosk")
    app = _hq()
    found = app.ctx.config.find_kiosk(kiosk)
    if found is None:
        return page(t["kiosk_title"], t["not_found"], "kiosk", status=404)
    hall, k = found
    enrolled = devices.device_kiosk(app.ctx, request.cookies.get(devices.COOKIE)) == kiosk
    services = halls.services(app.ctx, hall.id)
    today = hall.local(app.ctx.clock.now()).date().isoformat()
    english = lang() == "en"
    groups = [
        {
            "id": group,
            "title": t[f"group_{group}"],
            "services": [
                {**s, "label": s["name_en"] if english else s["name"], "state": service_state(s, t, today)}
                for s in services
                if s.get("group", "admin") == group
            ],
        }
        for group in GROUPS
    ]
    return render_page(
        "kiosk/kiosk.html",
        "kiosk",
        title=t["kiosk_title"],
        hall_name=hall.name_en if english else hall.name,
        hall_id=hall.id,
        kiosk=k,
        enrolled=enrolled,
        printer=app.printer_state(k) if enrolled else "none",
        groups=[g for g in groups if g["services"]],
        services_json=_json_block(services),
        notice_alphabet=notices.ALPHABET,
        appt_alphabet=CODE_ALPHABET,  # 我有预约: appointment and remote-ticket codes (PROTOCOL v1.2)
        pickup_alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-",  # 领取结果: a case number's characters
        idle_s=_seconds("idle", IDLE_S),
        done_s=_seconds("done", DONE_S),
        done_printerless_s=max(_seconds("done", DONE_S), DONE_PRINTERLESS_S),
    )


@bp.get("/kiosk/<kiosk>/enroll")
def enroll(kiosk: str) -> Any:
    """Open once on the kiosk's browser: it becomes that kiosk (a long-lived device cookie), then its page."""
    t = strings("kiosk")
    app = _hq()
    if app.ctx.config.find_kiosk(kiosk) is None:
        return page(t["kiosk_title"], t["not_found"], "kiosk", status=404)
    landing = redirect(f"/kiosk/{kiosk}", 303)
    if devices.device_kiosk(app.ctx, request.cookies.get(devices.COOKIE)) == kiosk:
        return landing  # enrolled already (the same link opened again): keep the code for nobody
    try:
        value = devices.enroll(app.ctx, kiosk, request.args.get("code", ""))
    except HallError:
        return page(t["kiosk_title"], t["kiosk_enroll_failed"], "kiosk", status=403)
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
