"""Server-rendered pages that are not a device's own: login, managers, the resident's ticket page."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session
from werkzeug.wrappers import Response

from server.api.guard import hq, session_person
from server.auth import end_session, may_manage, start_session
from server.auth import login as check_login
from server.engine.errors import HallError
from server.i18n import lang, strings
from server.rendering import page, render_page
from server.services import desk, matters, ratings, tickets

# The app's own static folder (server/static at /static) is set in app.create_app; templates are shared by name.
pages = Blueprint("pages", __name__, template_folder="templates")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


DEFAULT_NEXT = "/counter"


def _safe_next(value: str | None) -> str:
    """Only a path of this site, so the login form cannot bounce anyone elsewhere; anything else: the default.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so `/<TAB>/evil.example` and
    `/<BACKSLASH>evil.example` are other sites: no control characters, no backslash, no `//` at the start, nothing
    with a scheme or a host, and nothing a header cannot carry.
    """
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c.isspace() for c in value):
        return DEFAULT_NEXT
    try:
        parts = urlsplit(value)
    except ValueError:
        return DEFAULT_NEXT
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return DEFAULT_NEXT
    return value


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
    app = hq()
    username, password = request.form.get("username", "")[:64], request.form.get("password", "")[:200]
    address, now = request.remote_addr or "-", app.ctx.clock.now().timestamp()
    # Throttled per account and per address (server/throttle.py): while locked, no password is checked; a try
    # counts as failed from the moment it is let through, so tries sent at once are held to the same limits.
    wait = app.login_throttle.attempt(username, address, now)
    if wait:
        return _login_page(nxt, t["login_throttled"].format(seconds=wait), 429, username)
    p = check_login(app.ctx, username, password)
    if p is None:
        return _login_page(nxt, t["login_failed"], 401, username)
    app.login_throttle.succeeded(username, address)
    session.clear()
    session["user"] = p.name
    session["sid"] = start_session(app.ctx, p.name)  # server-side: logout, a new password, disabling end it
    session["csrf"] = secrets.token_urlsafe(24)  # a fresh token after login (no fixation)
    return redirect("/admin" if p.is_manager and nxt == "/counter" else nxt)  # managers land on their page


@pages.post("/logout")
def logout() -> Response:
    sent = request.form.get("csrf", "") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf", "")
    if expected and hmac.compare_digest(sent, expected):
        app = hq()
        user = session.get("user")
        ended = end_session(app.ctx, session.get("sid"))  # the cookie, kept or copied, is worth nothing now
        if isinstance(user, str):  # 考勤: logging out signs the clerk out of the counter
            app.publisher.publish(desk.sign_out(app.ctx, user))
        if ended is not None:
            app.live.ended(session=ended)  # its pages' live connections end too, in every process
        session.clear()
    return redirect("/login")


@pages.get("/admin/complaints")
def admin_complaints() -> Any:
    """差评整改: a supervisor's list of open and overdue cases with verify / resolve / dismiss (complaints.js)."""
    t = strings("admin")
    p = session_person()
    if p is None:
        return redirect("/login?next=/admin/complaints")
    ctx = hq().ctx
    if not p.is_manager:
        return page(t["admin_title"], t["complaints_forbidden"], "admin", status=403)
    halls = [h for h in ctx.config.halls if may_manage(p, h.id)]
    asked = request.args.get("hall")
    hall = next((h for h in halls if h.id == asked), None if asked else halls[0])
    if hall is None:  # not another hall's cases shown under a hall the manager asked for
        return page(t["admin_title"], strings()["not_found"], "admin", status=404)
    cases = ratings.complaints(ctx, hall.id, full_phone=True)  # the case view: supervisors call back from here
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
        done=_complaint_done(t, cases),
    )


def _complaint_done(t: dict[str, str], cases: list[dict[str, Any]]) -> str | None:
    """The confirmation after a step (complaints.js comes back with ?done=<action>&case=<number>)."""
    action, number = request.args.get("done"), request.args.get("case", "")
    if action not in ("verify", "resolve", "dismiss") or not any(c["number"] == number for c in cases):
        return None
    return t["complaints_done_" + action].format(number=number)


def _track_state(token: str) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """The ticket's public body, after service the resident's rating and case, and its hall; None when unknown."""
    ctx = hq().ctx
    try:
        with ctx.db.read() as s:
            row = tickets.find_by_token(s, token)
            body = tickets.track_body(ctx, s, row)
            after = ratings.resident_view(ctx, s, row) if row.status == "done" else {}
            if row.status == "done":  # the matter (办件) its acceptance opened, followed after the visit
                english = lang() != "zh-CN"
                after["matter"] = matters.resident_view(ctx.hall(row.hall_id), matters.for_ticket(s, row.id), english)
    except HallError:
        return None
    return body, after, row.hall_id


@pages.get("/t/")
@pages.get("/t/<path:rest>")
def track_unknown(rest: str = "") -> Any:
    """Any other path under /t/ is a resident's mistyped or cut link: the page's own 404, not JSON."""
    t = strings("track")
    return page(t["not_found_title"], t["not_found_text"], "track", status=404)


@pages.get("/t/<token>")
def track_page(token: str) -> Any:
    """The resident's page behind the ticket's QR code: server-rendered, live with track.js."""
    t = strings("track")
    state = _track_state(token)
    if state is None:
        return page(t["track_title"], t["track_unknown"], "track", status=404)
    body, after, hall_id = state
    ctx = hq().ctx
    hall = ctx.hall(hall_id)
    service = hall.service(body["service"])
    english = lang() == "en"
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
        hall_name=hall.name_en if english else hall.name,
        service_name=(service.name_en if english else service.name) if service is not None else body["service"],
        counter_name=next((c.name_in(english) for c in hall.counters if c.name == body["counter"]), body["counter"]),
        # a missing item the clerk ticked from the service's list reads in English where configured
        material_names=dict(zip(service.materials, service.materials_in(english), strict=True)) if service else {},
        after=after,
        token=token,
        levels=[5, 4, 3, 2, 1],
        tags=ratings.RATING_TAGS,
        max_comment=ratings.MAX_COMMENT,
        open_days=hq().ctx.config.settings.rating_open_days,
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
    return int(raw) if raw in ("1", "2", "3", "4", "5") else 0  # not "²": isdigit() says yes, int() no


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
            phone = request.form.get("phone", "").replace("\x00", "")[:64] or None  # checked, never echoed back
            _, events = ratings.rate(app.ctx, token, _form_level(), comment, tags, phone)
        else:
            _, events = ratings.follow_up(app.ctx, token, _form_level(), comment)
    except HallError as e:
        return _back(token, error=e.code)
    app.publisher.publish(events)
    return _back(token, ok=kind)
