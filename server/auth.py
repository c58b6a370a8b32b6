"""Staff authentication: API tokens (hashed, revocable) and clerk logins (argon2)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, update

from server.engine.errors import HallError
from server.services.context import Context
from server.store.models import ApiTokenRow, PrinterStateRow, StaffSessionRow, UserHallRow, UserRow

ROLES = ("clerk", "supervisor", "admin")
TOKEN_RE = re.compile(r"^hq_([0-9a-f]{12})\.([A-Za-z0-9_-]{20,100})$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_hasher = PasswordHasher()
T = TypeVar("T")
_K = ApiTokenRow.__table__.c
_TOKEN = select(_K.id, _K.secret_hash, _K.role, _K.hall_id, _K.counter_id, _K.kiosk_id, _K.label, _K.revoked_at).where(
    _K.id == bindparam("id")
)


def off_hub(fn: Callable[..., T], *args: Any) -> T:
    """A call that holds the CPU for a good part of a second (argon2), made in a worker thread when the server
    runs green threads (eventlet or gevent, monkey-patched): the hub meanwhile serves every other request, where
    a login would have stopped them all (logins sent at once held health checks for seconds). A plain call
    otherwise (threads: the GIL is released by argon2's C code)."""
    if "eventlet" in sys.modules:
        from eventlet import patcher, tpool

        if patcher.is_monkey_patched("thread"):
            return cast(T, tpool.execute(fn, *args))
    if "gevent" in sys.modules:
        from gevent import get_hub, monkey

        if monkey.is_module_patched("threading"):
            return cast(T, get_hub().threadpool.apply(fn, args))
    return fn(*args)


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps an unknown username as slow as a wrong password.

    Made on the first login, not at import: an argon2 hash takes a good part of a second, which every
    server start and every `hallq token` command would otherwise pay.
    """
    return _hasher.hash(secrets.token_hex(8))


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, the hall it belongs to (None = every hall) and its counter, if any."""

    role: str  # counter | kiosk | clerk | supervisor | admin
    name: str
    hall: str | None = None
    counter: str | None = None
    kiosk: str | None = None
    token_id: str | None = None  # the bearer token it came from (revocation ends its live connections)
    session_id: str | None = None  # the staff session it came from (hash of the cookie's secret)
    halls: frozenset[str] = frozenset()  # a supervisor's other halls (user_halls)

    @property
    def is_manager(self) -> bool:
        return self.role in ("supervisor", "admin")


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    ctx: Context,
    role: str,
    counter: str | None = None,
    hall: str | None = None,
    label: str | None = None,
    kiosk: str | None = None,
) -> str:
    """A new bearer token, printed once; only its hash is kept."""
    if role == "counter":
        found_hall, _ = ctx.counter(counter or "")
        hall = found_hall.id
    elif role == "kiosk":
        found = ctx.config.find_kiosk(kiosk or "")
        if found is None:
            raise HallError("not_found", 404, f"unknown kiosk: {kiosk!s:.80}")
        hall = found[0].id
    elif role in ("supervisor", "admin"):
        if hall is not None:
            ctx.hall(hall)
    else:
        raise HallError("invalid_role", 422, f"unknown role: {role}")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with ctx.db.write() as s:
        s.add(
            ApiTokenRow(
                id=token_id,
                secret_hash=_sha(secret),
                role=role,
                hall_id=hall,
                counter_id=counter,
                kiosk_id=kiosk if role == "kiosk" else None,
                label=label,
                created_at=ctx.clock.now(),
            )
        )
    return f"hq_{token_id}.{secret}"


def revoke_token(ctx: Context, token_id: str) -> bool:
    with ctx.db.write() as s:
        row = s.get(ApiTokenRow, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = ctx.clock.now()
        forget_token(token_id)  # this process asks again (others: in the action's transaction, then forget it)
        if row.role == "kiosk" and row.kiosk_id:
            # No process hands this kiosk's agent another job from now on (the agent's row names a live
            # connection; the revoked agent is disconnected, a valid one connects again and is noted anew).
            s.execute(update(PrinterStateRow).where(PrinterStateRow.kiosk_id == row.kiosk_id).values(agent_sid=None))
        return True


def forget_token(token_id: str) -> None:
    """This process no longer takes the token as verified: its next request reads the token's row again (a
    revocation heard from another process, or found by an action's own transaction)."""
    for key in [k for k in _verified if k[0] == token_id]:
        _verified.pop(key, None)


_VERIFIED_MAX = 4096
# (token id, hash of its secret) → its principal, for tokens this process found valid once. A token's row
# never changes but for its revocation, which the caller of `authenticate_token(..., cached=True)` checks
# in its own write transaction (services.counters: the counter-lock statement reads it).
_verified: dict[tuple[str, str], Principal] = {}


def authenticate_token(ctx: Context, token: str, *, cached: bool = False) -> Principal | None:
    """The principal of a bearer token, or None when it is malformed, unknown or revoked.

    `cached`: a token this process verified before is taken without reading its row again; only for a
    caller that checks revocation itself inside its write transaction (the counter actions).
    """
    match = TOKEN_RE.match(token)
    if match is None:
        return None
    token_id, secret = match.groups()
    key = (token_id, _sha(secret))
    if cached and (known := _verified.get(key)) is not None:
        return known
    with ctx.db.query() as conn:  # read on every staff request: one prepared Core statement, no ORM
        row = conn.execute(_TOKEN, {"id": token_id}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, key[1]):
        _verified.pop(key, None)
        return None
    kiosk = row.kiosk_id if row.role == "kiosk" else None
    device = row.counter_id if row.role == "counter" else kiosk
    name = row.label or f"{row.role}:{device or row.id}"
    counter = row.counter_id if row.role == "counter" else None
    found = Principal(row.role, name, row.hall_id, counter, kiosk, token_id=row.id)
    if len(_verified) >= _VERIFIED_MAX:  # bounded: a flood of distinct valid tokens only costs reads
        _verified.clear()
    _verified[key] = found
    return found


def add_user(ctx: Context, username: str, password: str, role: str, hall: str | None, now: datetime) -> None:
    """Create or replace a staff login."""
    if not USERNAME_RE.match(username):
        raise HallError("invalid_username", 422, "a username is 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise HallError("invalid_role", 422, f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise HallError("weak_password", 422, "a password has at least 8 characters")
    if hall is not None:
        ctx.hall(hall)
    elif role == "clerk":
        if len(ctx.config.halls) != 1:
            raise HallError("hall_required", 422, "name the clerk's hall with --hall")
        hall = ctx.config.halls[0].id
    with ctx.db.write() as s:
        row = s.get(UserRow, username)
        if row is None:
            row = UserRow(username=username, created_at=now)
            s.add(row)
        row.password_hash, row.role, row.hall_id, row.disabled = _hasher.hash(password), role, hall, False
        # A new password (or role) ends every session of the old one.
        s.execute(delete(StaffSessionRow).where(StaffSessionRow.username == username))


def login(ctx: Context, username: str, password: str) -> Principal | None:
    """Check a username and password; None on any mismatch (without saying which)."""
    with ctx.db.read() as s:
        row = s.get(UserRow, username) if USERNAME_RE.match(username) else None
    try:
        off_hub(_hasher.verify, row.password_hash if row else off_hub(_dummy_hash), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    return Principal(row.role, row.username, row.hall_id)


SESSION_TOUCH_S = 60  # a session's last use is written at most once a minute (not on every request)
_S = StaffSessionRow.__table__.c
_U = UserRow.__table__.c
_SESSION = (
    select(_S.id, _S.username, _S.seen_at, _U.role, _U.hall_id, _U.disabled)
    .join_from(StaffSessionRow.__table__, UserRow.__table__, _S.username == _U.username)
    .where(_S.id == bindparam("id"))
)


def _idle(ctx: Context) -> timedelta:
    return timedelta(minutes=ctx.config.settings.session_idle_minutes)


def start_session(ctx: Context, username: str) -> str:
    """A new server-side session for a logged-in user: its secret goes into the (signed) cookie."""
    secret = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        s.execute(delete(StaffSessionRow).where(StaffSessionRow.seen_at < now - _idle(ctx)))  # idle ones, of anyone
        s.add(StaffSessionRow(id=_sha(secret), username=username, created_at=now, seen_at=now))
    return secret


def session_principal(ctx: Context, secret: Any) -> Principal | None:
    """The user of a live session: None once it was ended, went idle, or its user was disabled or removed."""
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    sid = _sha(secret)
    with ctx.db.query() as conn:
        row = conn.execute(_SESSION, {"id": sid}).first()
    if row is None or row.disabled:
        return None
    now, seen = ctx.clock.now(), row.seen_at
    if now - seen > _idle(ctx):
        end_session(ctx, secret)
        return None
    if (now - seen).total_seconds() >= SESSION_TOUCH_S:
        with ctx.db.write() as s:
            s.execute(update(StaffSessionRow).where(StaffSessionRow.id == sid).values(seen_at=now))
    others: frozenset[str] = frozenset()
    if row.role == "supervisor":  # a supervisor of several halls (user_halls)
        with ctx.db.read() as s:
            others = frozenset(s.scalars(select(UserHallRow.hall_id).where(UserHallRow.username == row.username)))
    return Principal(row.role, row.username, row.hall_id, session_id=sid, halls=others)


def session_id_of(secret: Any) -> str | None:
    """The stored id (hash) of a cookie's session secret."""
    return _sha(secret) if isinstance(secret, str) else None


def end_session(ctx: Context, secret: Any) -> str | None:
    """End one session (logout); its id, or None when there was none."""
    sid = session_id_of(secret)
    if sid is None:
        return None
    with ctx.db.write() as s:
        s.execute(delete(StaffSessionRow).where(StaffSessionRow.id == sid))
    return sid


def live_sessions(ctx: Context, ids: set[str]) -> set[str]:
    """Which of these session ids are still live (not ended, not idle, their user enabled)."""
    if not ids:
        return set()
    cutoff = ctx.clock.now() - _idle(ctx)
    with ctx.db.query() as conn:
        rows = conn.execute(
            select(_S.id)
            .join_from(StaffSessionRow.__table__, UserRow.__table__, _S.username == _U.username)
            .where(_S.id.in_(sorted(ids)), _S.seen_at >= cutoff, _U.disabled.is_(False))
        )
        return {r.id for r in rows}


def live_tokens(ctx: Context, ids: set[str]) -> set[str]:
    """Which of these token ids are not revoked."""
    if not ids:
        return set()
    with ctx.db.query() as conn:
        rows = conn.execute(select(_K.id).where(_K.id.in_(sorted(ids)), _K.revoked_at.is_(None)))
        return {r.id for r in rows}


def set_disabled(ctx: Context, username: str, disabled: bool) -> bool:
    """Disable (ending every session) or enable a user; False for an unknown user."""
    with ctx.db.write() as s:
        row = s.get(UserRow, username) if USERNAME_RE.match(username) else None
        if row is None:
            return False
        row.disabled = disabled
        if disabled:
            s.execute(delete(StaffSessionRow).where(StaffSessionRow.username == username))
        return True


def users(ctx: Context) -> list[dict[str, Any]]:
    """Every staff login (no password hash), for `hallq user list`."""
    with ctx.db.read() as s:
        rows = s.scalars(select(UserRow).order_by(UserRow.username)).all()
        live = dict(
            s.execute(
                select(StaffSessionRow.username, func.count())
                .where(StaffSessionRow.seen_at >= ctx.clock.now() - _idle(ctx))
                .group_by(StaffSessionRow.username)
            ).all()
        )
    return [
        {"username": r.username, "role": r.role, "hall": r.hall_id, "disabled": bool(r.disabled),
         "sessions": int(live.get(r.username, 0))}
        for r in rows
    ]  # fmt: skip


def tokens(ctx: Context) -> list[dict[str, Any]]:
    """Every API token's id and what it is for (never its secret nor its hash), for `hallq token list`."""
    with ctx.db.read() as s:
        rows = s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id)).all()
    return [
        {"id": r.id, "role": r.role, "hall": r.hall_id, "counter": r.counter_id, "kiosk": r.kiosk_id,
         "label": r.label, "created_at": r.created_at, "revoked_at": r.revoked_at}
        for r in rows
    ]  # fmt: skip


def user_principal(ctx: Context, username: str) -> Principal | None:
    """Reload a logged-in user (a disabled or removed user loses the session)."""
    with ctx.db.read() as s:
        row = s.scalars(select(UserRow).where(UserRow.username == username)).first()
        others = frozenset(s.scalars(select(UserHallRow.hall_id).where(UserHallRow.username == username)))
    if row is None or row.disabled:
        return None
    return Principal(row.role, row.username, row.hall_id, halls=others)


def set_user_halls(ctx: Context, username: str, halls: list[str]) -> None:
    """A supervisor belongs to these halls (the first on the user row, the others in user_halls)."""
    for hall in halls:
        ctx.hall(hall)
    with ctx.db.write() as s:
        row = s.get(UserRow, username)
        if row is None:
            raise HallError("not_found", 404, f"no user {username}")
        if row.role != "supervisor":
            raise HallError("invalid_role", 422, "only a supervisor belongs to several halls")
        row.hall_id = halls[0]
        s.execute(delete(UserHallRow).where(UserHallRow.username == username))
        s.add_all(UserHallRow(username=username, hall_id=h) for h in dict.fromkeys(halls[1:]))


def may_work_counter(p: Principal, hall_id: str, counter_id: str) -> bool:
    """Counter actions: that counter's token, an admin, or staff of the counter's hall."""
    if p.role == "admin":
        return p.hall is None or p.hall == hall_id
    if p.role == "counter":
        return p.counter == counter_id
    return p.role in ("clerk", "supervisor") and p.hall in (None, hall_id)  # a kiosk's token works no counter


def may_manage(p: Principal, hall_id: str) -> bool:
    """Ledger, reports and complaints: supervisors and admins of the hall."""
    return p.is_manager and (p.hall in (None, hall_id) or hall_id in p.halls)
