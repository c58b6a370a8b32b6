"""Who is calling: bearer tokens for devices and scripts, session cookies (with CSRF) for pages."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, Protocol, cast

from flask import current_app, g, request, session

from server.auth import Principal, authenticate_token, may_manage, may_work_counter, session_principal
from server.devices import COOKIE, device_kiosk
from server.engine.errors import HallError
from server.services.desk import signed_in_clerk

if TYPE_CHECKING:  # types only; none of these imports server.app
    from server.ratelimit import Limiter
    from server.realtime import Publisher
    from server.revocation import LiveCredentials
    from server.sender import Sender
    from server.services.context import Context
    from server.throttle import LoginThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Running(Protocol):
    """What a handler reaches through hq(): server.app.Hallq is one (checked where the app is made).

    Declared here, not imported from server.app, so the handlers do not depend on the module that builds
    the app out of them (the import contract in pyproject.toml holds that).
    """

    ctx: Context
    publisher: Publisher
    ticket_limiter: Limiter
    rating_limiter: Limiter
    code_limiter: Limiter
    login_throttle: LoginThrottle
    live: LiveCredentials
    sender: Sender

    def track_base(self) -> str: ...
    def track_url(self, token: str) -> str: ...
    def after_commit(self, events: list[Any], print_hint: tuple[int, int, bool] | None = None) -> None: ...
    def print_notice(self, hall: Any, counter: Any, notice: dict[str, Any]) -> Any: ...
    def print_slip(self, hall: Any, counter: Any, slip: Any, kiosk_ok: bool = True) -> Any: ...
    def can_print(self, hall: Any, counter: Any, kiosk_ok: bool = True) -> bool: ...
    def printer_state(self, kiosk: Any) -> str: ...


def hq() -> Running:
    """The running hallq (context, publisher, limits) of this app."""
    return cast("Running", current_app.extensions["hallq"])


def optional_principal(*, revocation_checked_later: bool = False) -> Principal | None:
    """The caller's credential when it sent a valid one (a token, or a staff login with its CSRF header); None
    for anyone else (a resident, or a credential that is not valid), who is served as anonymous."""
    if not request.headers.get("Authorization") and not session.get("user"):
        return None
    try:
        return principal(revocation_checked_later=revocation_checked_later)
    except HallError:
        return None


def principal(*, revocation_checked_later: bool = False) -> Principal:
    """The authenticated caller, or a 401.

    `revocation_checked_later`: the caller's own write transaction checks that the bearer token is not
    revoked (the counter actions: services.counters), so a token this process verified once is not read
    again here.
    """
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    found: Principal | None = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token:
            found = authenticate_token(hq().ctx, token.strip(), cached=revocation_checked_later)
        if found is None:
            raise HallError("unauthorized", 401, "missing or invalid bearer token")
    elif session.get("sid"):
        found = session_person()
        if found is not None and request.method not in SAFE_METHODS:
            check_csrf()
    if found is None:
        raise HallError("unauthorized", 401, "log in or send a bearer token")
    g.principal = found
    return found


def session_person() -> Principal | None:
    """The person of this request's login session: None when there is none, or it ended (logout, a new
    password, a disabled user, idleness: server/auth.py)."""
    if "session_person" not in g:
        g.session_person = session_principal(hq().ctx, session.get("sid"))
    return g.session_person  # type: ignore[no-any-return]


def check_csrf() -> None:
    """Cookie-authenticated writes must echo the session's CSRF token in a header."""
    sent = request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HallError("csrf_failed", 403, "missing or wrong X-CSRF-Token header")


def require_counter(hall_id: str, counter_id: str, *, revocation_checked_later: bool = False) -> Principal:
    p = principal(revocation_checked_later=revocation_checked_later)
    if not may_work_counter(p, hall_id, counter_id):
        raise HallError("forbidden", 403, "this credential may not act for that counter")
    return p


def require_counter_action(hall_id: str, counter_id: str, *, revocation_checked_later: bool = False) -> Principal:
    """A counter action (every POST /counters/{c}/ACTION but sign-in and sign-out passes here).

    As require_counter; and a person logged in (a session: clerk or supervisor) acts only at the counter
    they are signed in at, so the ledger names who really acted. Another clerk's counter is taken over
    explicitly (sign-in with takeover, a ledger line), never used in passing. Device and script tokens
    and admins act as the contract says.
    """
    p = require_counter(hall_id, counter_id, revocation_checked_later=revocation_checked_later)
    if p.session_id is not None and p.role != "admin" and signed_in_clerk(hq().ctx, counter_id) != p.name:
        raise HallError(
            "not_signed_in", 403, f"{p.name} is not signed in at counter {counter_id}: sign in there (or take it over)"
        )
    return p


def require_manager(hall_id: str) -> Principal:
    p = principal()
    if not may_manage(p, hall_id):
        raise HallError("forbidden", 403, "supervisors and admins only")
    return p


def person() -> Principal:
    """A logged-in person (session), for what only a person does: signing in at a counter."""
    p = principal()
    if request.headers.get("Authorization"):
        raise HallError("forbidden", 403, "a device or script token names no person: log in at /login")
    return p


def clerk_name(p: Principal) -> str | None:
    """The name the ledger records: the logged-in clerk; for a device token, the counter's clerk."""
    return None if p.role == "counter" else p.name


def kiosk_credential(kiosk_id: str, *, revocation_checked_later: bool = False) -> tuple[bool, str | None]:
    """Whether the caller is this kiosk (its bearer token, or the device cookie of a page enrolled for it),
    and the token's id when it came with one (`revocation_checked_later`: as for `principal`)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        p = authenticate_token(hq().ctx, token.strip(), cached=revocation_checked_later)
        if p is not None and p.role == "kiosk" and p.kiosk == kiosk_id:
            return True, p.token_id
    return device_kiosk(hq().ctx, request.cookies.get(COOKIE)) == kiosk_id, None


def is_kiosk(kiosk_id: str) -> bool:
    """Whether the caller is this kiosk: its bearer token, or the device cookie of a page enrolled for it."""
    return kiosk_credential(kiosk_id)[0]


def require_kiosk(kiosk_id: str, *, revocation_checked_later: bool = False) -> str | None:
    """Only a kiosk prints on its printer and spends its rate limit (PROTOCOL.md amendment v1.1).

    The bearer token's id, when the kiosk called with one (None: its enrolled device's cookie); with
    `revocation_checked_later` the caller's write transaction must check that id (services.tickets)."""
    ok, token_id = kiosk_credential(kiosk_id, revocation_checked_later=revocation_checked_later)
    if not ok:
        raise HallError("forbidden", 403, f"printing on kiosk {kiosk_id} needs that kiosk's token or enrolled device")
    return token_id
