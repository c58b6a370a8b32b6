"""The app factory: Flask, Socket.IO, the database, and the error body at the edge."""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, g, jsonify, request
from flask_socketio import SocketIO
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from server import mq, realtime
from server.clock import SystemClock
from server.config import Config
from server.engine.errors import HallError
from server.logs import mask_path
from server.printing import Printing
from server.proxies import behind_proxies
from server.ratelimit import Limits
from server.revocation import LiveCredentials
from server.sender import Sender
from server.services import halls, print_jobs, tickets
from server.services.context import Clock, Context
from server.sessions import CachedSignerSessions
from server.store.db import Database
from server.throttle import LoginThrottle

if TYPE_CHECKING:
    from server.api.guard import Running

log = logging.getLogger("hallq")
access = logging.getLogger("hallq.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Scripts and styles only from our own files (no inline code); media and images may be data:/blob: (voice, QR).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Static files are not fingerprinted: pages revalidate (a cheap 304) so a deploy is seen at once; the
# vendored libraries change only with package-lock.json and may be kept a day.
STATIC_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"


class Hallq:
    """Everything a handler needs, kept in app.extensions["hallq"]."""

    def __init__(self, config: Config, socketio: SocketIO, clock: Clock) -> None:
        self.ctx = Context(config, Database.for_settings(config.settings), clock)
        self.publisher = realtime.Publisher(socketio, self.ctx)
        self._track_bases: dict[tuple[Any, ...], str] = {}
        limits = config.settings.limits
        # Shared by every process through Redis when they share one (message_queue), else per process.
        store = Limits(config.settings.message_queue, config.settings.message_channel)
        self.ticket_limiter = store.make("tickets", limits.tickets_per_minute)
        self.rating_limiter = store.make("ratings", limits.ratings_per_minute)
        # Appointment codes show and cancel a booking: an address trying many without a staff credential is held up
        self.code_limiter = store.make("codes", limits.codes_per_minute)
        self.login_limiter = store.make("login", 10)
        self.login_throttle = LoginThrottle(store.client, config.settings.message_channel)
        self.live = LiveCredentials(socketio, self.ctx)  # staff connections end with their credential
        self.audio_limiter = store.make("audio", limits.audio_per_minute)  # a call's voice, per address
        self.printing = Printing(self.ctx, socketio)
        self.printing.on_change.append(self._printer_changed)
        self.sender = Sender(self.ctx, socketio)  # outbound events (PROTOCOL v1.2), when a hall has receivers

    def track_base(self) -> str:
        """Where residents' phones reach this server: the start of every ticket's QR link."""
        if public := self.ctx.config.settings.public_url:
            return public.rstrip("/")
        # request.host_url is worked out afresh for each request (an IRI conversion: 2-3% of an issue); it depends
        # on these environ values alone (after the proxy fix). The first 16 are kept: a stranger's Host headers
        # can't grow the table (nor make a link wrong: past 16, a host's base is worked out as before).
        env = request.environ
        key = (env.get("wsgi.url_scheme"), env.get("HTTP_HOST"), env.get("SERVER_NAME"), env.get("SERVER_PORT"),
               env.get("SCRIPT_NAME"))  # fmt: skip
        base = self._track_bases.get(key)
        if base is None:
            base = request.host_url.rstrip("/")
            if len(self._track_bases) < 16:
                self._track_bases[key] = base
        return base

    def track_url(self, token: str) -> str:
        """The resident's page, printed as the ticket's QR code."""
        return tickets.track_url(self.track_base(), token)

    def after_commit(self, events: list[Any], print_hint: tuple[int, int, bool] | None = None) -> None:
        """Print and publish a committed use case's events: each independent, neither can fail the request."""
        self.printing.notify(events, print_hint)
        self.sender.wake()  # an outbox row may have been written: this process sends it at once if it sends
        try:
            self.publisher.publish(events)
        except Exception:  # the transaction is committed: a page missing one event resyncs on reconnect
            log.exception("publishing %d events failed", len(events))

    def print_notice(self, hall: Any, counter: Any, notice: dict[str, Any]) -> Any:
        """Print a 一次性告知 notice: on the counter's own printer when it has one (config), else at a kiosk.

        Without a counter printer the notice goes to the hall's first kiosk whose printer is ready (else its
        first kiosk with a printer), where the resident picks it up on the way out. The answer says where
        (server.services.notice_print.Printed), or None when the hall has no printer at all.
        """
        from server.services.notice_print import Printed

        if counter.printer.kind != "none":
            self.printing.submit_counter_notice(hall, counter, notice)
            return Printed("counter", None, counter.name)
        kiosk = self._paper_kiosk(hall)
        if kiosk is None:
            return None
        self.printing.submit_notice(hall, kiosk, notice)
        return Printed("kiosk", str(kiosk.id), kiosk.name)

    def print_slip(self, hall: Any, counter: Any, slip: Any, kiosk_ok: bool = True) -> Any:
        """Print a matter's slip (server.printing.Slip: the receipt 受理回执, a 代理服务委托书) where a notice
        would go: the counter's own printer, else (`kiosk_ok`) a kiosk's (the resident picks it up on the way
        out). Printed, or None when nothing can print it."""
        from server.services.notice_print import Printed

        if counter is not None and counter.printer.kind != "none":
            if self.printing.submit_slip(counter.printer, f"counter {counter.id}", slip):
                return Printed("counter", None, counter.name)
            return None
        kiosk = self._paper_kiosk(hall) if kiosk_ok else None
        if kiosk is None or not self.printing.submit_slip(kiosk.printer, f"kiosk {kiosk.id}", slip, kiosk.id):
            return None
        return Printed("kiosk", str(kiosk.id), kiosk.name)

    def can_print(self, hall: Any, counter: Any, kiosk_ok: bool = True) -> bool:
        """Whether print_slip has a printer to go to: the counter's own, or (`kiosk_ok`) a kiosk's."""
        own = counter is not None and counter.printer.kind != "none"
        return own or (kiosk_ok and self._paper_kiosk(hall) is not None)

    def _paper_kiosk(self, hall: Any) -> Any:
        """The hall's first kiosk whose printer is ready, else its first kiosk with a printer, else None."""
        printing = [k for k in hall.kiosks if k.printer.kind != "none"]
        if not printing:
            return None
        return next((k for k in printing if self.printing.state(k) in print_jobs.READY), printing[0])

    def printer_state(self, kiosk: Any) -> str:
        return self.printing.state(kiosk)

    def _printer_changed(self, kiosk: Any, state: str) -> None:
        found = self.ctx.config.find_kiosk(kiosk.id)
        if found is None:
            return
        self.publisher.printer_changed(kiosk.id, state, found[0].id)


def secret_key(data_dir: Path) -> str:
    """The session-signing key, made once per data folder and shared by its processes."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _chunked_bodies(wsgi_app: Any) -> Any:
    """A body sent `Transfer-Encoding: chunked` (no Content-Length) is read, not taken as empty.

    eventlet and gevent de-chunk the input but do not say it ends by itself (`wsgi.input_terminated`), so
    Werkzeug read nothing and the request was refused as bodiless; MAX_CONTENT_LENGTH still bounds it."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
            environ["wsgi.input_terminated"] = True
        return wsgi_app(environ, start_response)

    return app


def create_app(config: Config, clock: Clock | None = None) -> tuple[Flask, SocketIO]:
    """Build the app; the database is migrated and counters seeded before it serves."""
    settings = config.settings
    # server/static at /static; kiosk/, display/ and counter/ serve their own at /<area>/static (blueprints).
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.wsgi_app = _chunked_bodies(app.wsgi_app)  # type: ignore[method-assign]
    if settings.proxy_hops:  # rate limits and logs then see the resident's address, not the proxy's
        # ... but only on connections from the proxy itself (server/proxies.py): nobody else picks their address
        app.wsgi_app = behind_proxies(app.wsgi_app, settings.proxy_hops, settings.trusted_proxies)  # type: ignore[method-assign]
    app.config.update(
        SECRET_KEY=secret_key(settings.data_dir),
        MAX_CONTENT_LENGTH=settings.limits.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.public_url and settings.public_url.startswith("https")),
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = CachedSignerSessions()  # the cookie's signer built once, not per request
    socketio = SocketIO(
        app,
        async_mode=settings.async_mode,  # type: ignore[arg-type]  # checked at load: one of ASYNC_MODES
        # Redis: a manager that resyncs this process's clients when the queue comes back (server/mq.py)
        **mq.socketio_options(settings.message_queue, settings.message_channel),
        cors_allowed_origins=settings.public_url or None,  # type: ignore[arg-type]  # None: same origin only
        json=None,
    )
    hallq = Hallq(config, socketio, clock or SystemClock())
    hallq.ctx.db.migrate()
    halls.seed_counters(hallq.ctx)
    running: Running = hallq  # mypy holds Hallq to what guard.hq() promises the handlers
    app.extensions["hallq"] = running

    from server.admin import admin
    from server.api import api
    from server.booking import booking
    from server.pages import pages

    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.register_blueprint(admin)
    app.register_blueprint(booking)  # /book/{hall}: appointments and remote tickets (PROTOCOL v1.2)
    for module in ("kiosk.views", "display.views", "counter.views", "server.matters_pages"):
        app.register_blueprint(__import__(module, fromlist=["bp"]).bp)
    hallq.printing.on_agent = hallq.live.track
    realtime.register(
        socketio,
        hallq.ctx,
        hallq.printer_state,
        agent_connect=hallq.printing.agent_connect,
        track=hallq.live.track,
        publisher=hallq.publisher,
    )
    hallq.live.listen()
    mq.install(socketio, hallq.ctx, hallq.printer_state)
    hallq.printing.register(socketio)
    _install_edges(app)
    hallq.printing.start()
    hallq.sender.start()
    return app, socketio


def error_body(code: str, message: str) -> dict[str, Any]:
    """The contract's error body; the message is made encodable whatever input it quotes."""
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\0")
    return {"error": {"code": code, "message": safe}}


def _install_edges(app: Flask) -> None:
    # These two run on every request: `request` and `g` are resolved once each (an attribute read through
    # Flask's proxies costs about 1.4 µs, a failed lookup and a call each).
    @app.before_request
    def _request_id() -> None:
        sent = request.environ.get("HTTP_X_REQUEST_ID", "")  # headers.get raises and catches a KeyError when absent
        here = g._get_current_object()
        here.request_id = sent if REQUEST_ID.match(sent) else secrets.token_hex(8)
        here.started = time.perf_counter()

    @app.after_request
    def _headers(response: Any) -> Any:
        here, asked = g._get_current_object(), cast(Any, request)._get_current_object()
        response.headers["X-Request-Id"] = here.get("request_id", "-")
        ms = (time.perf_counter() - here.get("started", time.perf_counter())) * 1000
        # The formatter adds rid=; the path has no query string and no resident's token (logs.mask_path).
        if access.isEnabledFor(logging.INFO):  # masking costs: only for a line that is written
            path = mask_path(asked.path)
            access.info("method=%s path=%s status=%d ms=%.1f", asked.method, path, response.status_code, ms)
        response.headers.setdefault("Content-Security-Policy", CSP)
        if (asked.endpoint or "").endswith("static") and response.status_code in (200, 304):
            vendored = asked.path.startswith("/static/vendor/")
            response.headers["Cache-Control"] = VENDOR_CACHE if vendored else STATIC_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # track URLs carry the resident's token
        return response

    @app.errorhandler(HallError)
    def _hall_error(e: HallError) -> Any:
        body = error_body(e.code, e.message)
        body["error"].update(e.extra)  # PROTOCOL v1.2: `until` of a block, `opens_at` of a check-in, ...
        return jsonify(body), e.status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(e: RequestEntityTooLarge) -> Any:
        # PROTOCOL.md: oversize bodies are answered 400 or 422 (not 413).
        limit = app.config["MAX_CONTENT_LENGTH"]
        return jsonify(error_body("body_too_large", f"the body is larger than {limit} bytes")), 400

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        code = re.sub(r"[^a-z0-9]+", "_", (e.name or "error").lower()).strip("_")
        response = jsonify(error_body(code, e.description or e.name or "error"))
        response.status_code = e.code or 500
        allowed = getattr(e, "valid_methods", None)  # MethodNotAllowed's, on 405
        if e.code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(DBAPIError)
    def _database_down(e: DBAPIError) -> Any:
        if not e.connection_invalidated and not isinstance(e, OperationalError):
            return _unexpected(e)
        log.error("database unavailable on %s %s: %s", request.method, request.path, str(e).splitlines()[0])
        return jsonify(error_body("database_unavailable", "the database is not answering; try again shortly")), 503

    @app.errorhandler(PoolTimeout)
    def _pool_exhausted(e: PoolTimeout) -> Any:
        log.error("no free database connection on %s %s", request.method, request.path)
        return jsonify(error_body("database_unavailable", "the database is not answering; try again shortly")), 503

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.path)
        body = error_body("internal_error", f"unexpected error (request id {g.get('request_id', '-')})")
        return jsonify(body), 500
