"""Server-rendered pages that are not a device's own: login, managers, the resident's ticket page."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, redirect, request, session
from werkzeug.wrappers import Response

from server.api.guard import hq
from server.auth import login as check_login
from server.auth import may_manage, user_principal
from server.engine.errors import HallError
from server.i18n import lang, strings
from server.rendering import page, render_page
from server.services import desk, ratings, tickets

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


@pages.get("/favicon.ico")
def favicon() -> Any:
    """Browsers ask for it on any page without a link to an icon (a PDF or a JSON answer opened in a tab)."""
    return redirect("/static/favicon.svg", code=301)


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


@pages.get("/admin/complaints")
def admin_complaints() -> Any:
    """差评整改: a supervisor's list of open and overdue cases with verify / resolve / dismiss (complaints.js)."""
    t = strings("admin")
    user = session.get("user")
    if not isinstance(user, str):
        return redirect("/login?next=/admin/complaints")
    ctx = hq().ctx
    p = user_principal(ctx, user)
    if p is None or not p.is_manager:
        return page(t["admin_title"], t["complaints_forbidden"], "admin", status=403)
    halls = [h for h in ctx.config.halls if may_manage(p, h.id)]
    asked = request.args.get("hall")
    hall = next((h for h in halls if h.id == asked), None if asked else halls[0])
    if hall is None:  # not another hall's cases shown under a hall the manager asked for
        return page(t["admin_title"], strings()["not_found"], "admin", status=404)
    cases = ratings.complaints(ctx, hall.id)
    csrf_token()
    track_t = strings("track")
    return render_page(
        "admin_complaints.html",
        "admin",
        title=t["complaints_title"],
        hall=hall,
        halls=halls,
        active=[c for c in cases if c["status"] in ("open", "verified")],
        closed=[c for c in cases if c["status"] in ("resolved", "dismissed")][:50],
        level_names={n: track_t[f"level_{n}"] for n in range(1, 6)},
        service_names={sv.id: sv.name if lang() == "zh-CN" else sv.name_en for sv in hall.services},
        counter_names={c.id: c.name for c in hall.counters},
        tag_names={tag: track_t["tag_" + tag] for tag in ratings.RATING_TAGS},
    )


def _track_state(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The ticket's public body and, after service, the resident's rating and case; None when unknown."""
    ctx = hq().ctx
    try:
        with ctx.db.read() as s:
            row = tickets.find_by_token(s, token)
            body = tickets.track_body(ctx, s, row)
            after = ratings.resident_view(ctx, s, row) if row.status == "done" else {}
    except HallError:
        return None
    return body, after


@pages.get("/t/<token>")
def track_page(token: str) -> Any:
    """The resident's page behind the ticket's QR code: server-rendered, live with track.js."""
    t = strings("track")
    state = _track_state(token)
    if state is None:
        return page(t["track_title"], t["track_unknown"], "track", status=404)
    body, after = state
    notice = request.args.get("ok") if request.args.get("ok") in ("rated", "followup") else None
    error = request.args.get("error")
    error_text = t.get("error_" + error) if error else None
    if error and not error_text:
        error_text = t["error_unknown"]
    return render_page(
        "track.html",
        "track",
        title=f"{t['track_title']} {body['number']}",
        body=body,
        after=after,
        token=token,
        levels=[5, 4, 3, 2, 1],
        tags=ratings.RATING_TAGS,
        max_comment=ratings.MAX_COMMENT,
        open_days=hq().ctx.config.settings.rating_open_days,
        minutes=max(1, round(body["est_wait_s"] / 60)),
        notice=notice,
        error_text=error_text,
    )


def _back(token: str, **args: str) -> Response:
    query = [f"{k}={v}" for k, v in args.items()]
    asked = request.args.get("lang")
    if asked in ("en", "zh-CN"):
        query.append(f"lang={asked}")
    return redirect(f"/t/{token}" + ("?" + "&".join(query) if query else ""), code=303)


def _form_level() -> int:
    raw = request.form.get("level", "")
    return int(raw) if raw.isdigit() and len(raw) == 1 else 0


@pages.post("/t/<token>/rate")
def track_rate(token: str) -> Any:
    """The rating as a plain form post (works without JavaScript); the token in the URL authorizes it."""
    return _form_post(token, "rated")


@pages.post("/t/<token>/followup")
def track_followup(token: str) -> Any:
    """追评 as a plain form post, once the complaint case was answered."""
    return _form_post(token, "followup")


def _form_post(token: str, kind: str) -> Any:
    app = hq()
    if _track_state(token) is None:
        return page(strings("track")["track_title"], strings("track")["track_unknown"], "track", status=404)
    if not app.rating_limiter.allow(f"addr:{request.remote_addr}"):
        return _back(token, error="rate_limited")
    comment = request.form.get("comment", "").replace("\x00", "").strip() or None
    try:
        if kind == "rated":
            tags = request.form.getlist("tags")[: len(ratings.RATING_TAGS)]
            _, events = ratings.rate(app.ctx, token, _form_level(), comment, tags)
        else:
            _, events = ratings.follow_up(app.ctx, token, _form_level(), comment)
    except HallError as e:
        return _back(token, error=e.code)
    app.publisher.publish(events)
    return _back(token, ok=kind)
