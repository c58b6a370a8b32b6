"""Server-rendered pages that are not a device's own: login, managers, the resident's ticket page."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, redirect, request, session
from werkzeug.wrappers import Response

from server.api.guard import hq
from server.auth import login as check_login
from server.engine.errors import HallError
from server.i18n import strings
from server.rendering import page, render_page
from server.services import desk, tickets

# The app's own static folder (server/static at /static) is set in app.create_app; templates are shared by name.
pages = Blueprint("pages", __name__, template_folder="templates")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _safe_next(value: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce anyone elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/counter"


@pages.get("/")
def index() -> Any:
    return redirect("/login")


def _login_page(nxt: str, error: str | None = None, status: int = 200, username: str = "") -> tuple[str, int]:
    csrf_token()  # made before rendering so the form and the meta tag carry it
    title = strings()["login_title"]
    return render_page("login.html", status=status, title=title, next=nxt, error=error, username=username)


@pages.route("/login", methods=["GET", "POST"])
def login() -> Any:
    t = strings()
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return _login_page(nxt)
    sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        return _login_page(nxt, t["login_expired"], 400)
    if not hq().login_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many login attempts; wait a minute")
    username, password = request.form.get("username", ""), request.form.get("password", "")
    p = check_login(hq().ctx, username[:64], password[:200])
    if p is None:
        return _login_page(nxt, t["login_failed"], 401, username[:64])
    session.clear()
    session["user"] = p.name
    session["csrf"] = secrets.token_urlsafe(24)  # a fresh token after login (no fixation)
    return redirect("/admin" if p.is_manager and nxt == "/counter" else nxt)  # managers land on their page


@pages.post("/logout")
def logout() -> Response:
    sent = request.form.get("csrf", "") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf", "")
    if expected and hmac.compare_digest(sent, expected):
        user = session.get("user")
        if isinstance(user, str):  # 考勤: logging out signs the clerk out of the counter
            hq().publisher.publish(desk.sign_out(hq().ctx, user))
        session.clear()
    return redirect("/login")


@pages.get("/admin")
def admin() -> Any:
    t = strings("admin")
    if not session.get("user"):
        return redirect("/login?next=/admin")
    return page(t["admin_title"], t["admin_soon"], "admin")


@pages.get("/t/<token>")
def track_page(token: str) -> Any:
    """The resident's page behind the ticket's QR code."""
    t = strings("track")
    try:
        body = tickets.track(hq().ctx, token)
    except HallError:
        return page(t["track_title"], t["track_unknown"], "track", status=404)
    if body["status"] == "waiting" and not body["served_now"]:  # PROTOCOL v1.1: no promise of a call
        return page(f"{t['track_title']} {body['number']}", t["track_not_served"].format(ahead=body["ahead"]), "track")
    return page(
        f"{t['track_title']} {body['number']}",
        t["track_status"].format(
            status=t["status_" + body["status"]], ahead=body["ahead"], minutes=round(body["est_wait_s"] / 60)
        ),
        "track",
    )
