"""Issuing tickets and answering a resident's ticket page."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from server.engine.errors import HallError
from server.engine.events import Event, PrintQueued, QueueChanged, TicketChanged
from server.engine.model import Hall, Kiosk, Service, TicketStatus
from server.engine.numbering import check_limit, format_number
from server.engine.rules import Desk
from server.store.db import commit_with, connection, insert_row, nothing_to_flush
from server.store.models import (
    AnonymousQuotaRow,
    ApiTokenRow,
    ComplaintRow,
    NumberSeqRow,
    RatingRow,
    TicketRequestRow,
    TicketRow,
)
from server.store.raw import Raw, every_column, transient

from . import board, ledger, matters, notices, opening, outbox, print_jobs, queue, views
from .context import Context
from .track_links import find_by_token as find_by_token  # at home in track_links; named here for the callers
from .track_links import token_hash

log = logging.getLogger("hallq.tickets")


@dataclass(frozen=True)
class Admission:
    """How a ticket comes other than a walk-in's tap (PROTOCOL v1.2): an appointment checked in, or a
    remote ticket (线上取号). `within` runs in the issuing transaction once the row is built, before it is
    written: the appointment's own change commits with its ticket or not at all."""

    kind: str  # "appointment" | "remote"
    within: Callable[[Session, TicketRow, datetime], None]
    token: str | None = None  # the track token to use (a remote ticket's is derived, so a kiosk can show it)


@dataclass(frozen=True)
class Issued:
    ticket: TicketRow
    token: str  # shown once: printed as the QR code, never stored in clear
    ahead: int
    est_wait_s: int
    served_now: bool  # PROTOCOL v1.1: false while nobody serves its queue (then the estimate is no promise)
    replayed: bool = False  # an idempotency key seen before: the same ticket again, nothing new issued
    day_started: bool | None = None  # opening.day_started, when the issue's own statement read it


def new_id() -> str:
    return secrets.token_hex(8)


def issue_ticket(
    ctx: Context,
    hall_id: str,
    service_id: str,
    priority: bool = False,
    kiosk_id: str | None = None,
    track_base: str = "",
    request_key: str | None = None,
    notice: str | None = None,
    pickup: str | None = None,
    anonymous_cap: int | None = None,
    admission: Admission | None = None,
    credential: str | None = None,
) -> tuple[Issued, list[Event]]:
    """Hand out the next number of a service, if it is open and under its daily limit.

    One transaction of three prepared statements: the number (with the ledger's last line: is the shared
    forecast still exact?), the ticket (with the people ahead from the queue index), its ledger line.
    Taken at a kiosk with a printer, its slip's print job is written in the same transaction.

    With a `request_key` (the kiosk's idempotency key per tap) a key already answered gives back the
    same ticket and no events: a double tap or a retried request never makes a second ticket. The key's
    row is the transaction's last statement (with the answer's figures); when the key turns out taken,
    the whole issue is rolled back and the earlier answer given instead.

    With a 一次性告知 notice's code the resident is back for the same matter: the ticket is linked to
    the first visit and goes first (nobody should queue twice for the hall's own missing-items list).

    `anonymous_cap`: the ticket is taken with neither a kiosk nor a staff credential, and such tickets have
    their own share of the day's numbers, at most this many per service (409 daily_limit beyond it): of a
    service's `daily_limit`, the rest stays the kiosks' and staff's, whatever anonymous callers do.

    `credential`: the id of the bearer token the request came with, taken from this process's cache of verified
    tokens (auth.authenticate_token cached): whether it is still valid is read by the number's own statement,
    and a token revoked meanwhile (by any process) is refused, 401, with nothing written.
    """
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    kiosk = ctx.kiosk(hall, kiosk_id) if kiosk_id is not None else None
    key = _Key.of(hall, kiosk_id, request_key, service, priority, notice) if request_key else None
    try:
        return _issue(
            ctx, hall, service, priority, kiosk, track_base, key, notice, pickup, anonymous_cap, admission, credential
        )
    except (HallError, _KeyTaken) as e:
        # A key answered before wins over anything this attempt ran into (the service closed since, the
        # notice redeemed by the first answer, the key itself taken): the same ticket again, or 422.
        # Not over a revoked credential: that gets nothing, not even an earlier answer.
        if key is None or isinstance(e, HallError) and e.code == "unauthorized":
            raise
        answered = _answered_before(ctx, hall, key, credential)
        if answered is not None:
            return answered, []
        if isinstance(e, _KeyTaken):  # taken, and gone by the time it was read (the day cleared): try again
            raise HallError("idempotency_conflict", 409, "this request key is being used; try again") from None
        raise


def answered_before(
    ctx: Context,
    hall_id: str,
    service_id: str,
    priority: bool,
    kiosk_id: str | None,
    request_key: str,
    notice: str | None = None,
    credential: str | None = None,
) -> Issued | None:
    """The earlier answer to this request's idempotency key, or None: read only, for a tap refused before it
    could issue (the rate limit), so a kiosk retrying a lost answer still gets its ticket."""
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    return _answered_before(ctx, hall, _Key.of(hall, kiosk_id, request_key, service, priority, notice), credential)


def _answered_before(ctx: Context, hall: Hall, key: _Key, credential: str | None) -> Issued | None:
    with ctx.db.read() as s:
        if credential is not None and s.connection().execute(_TOKEN_ROW, {"token": credential}).first() is None:
            raise HallError("unauthorized", 401, "missing or invalid bearer token") from None
        earlier = _earlier(s, key)
        return _replay(ctx, s, hall, earlier, key.key) if earlier is not None else None


def _issue(
    ctx: Context,
    hall: Hall,
    service: Service,
    priority: bool,
    kiosk: Kiosk | None,
    track_base: str,
    key: _Key | None,
    notice: str | None,
    pickup: str | None,
    anonymous_cap: int | None,
    admission: Admission | None,
    credential: str | None = None,
) -> tuple[Issued, list[Event]]:
    kiosk_id = kiosk.id if kiosk is not None else None
    _check_open(service, hall, ctx.clock.now(), admission)  # refuse early, before taking any lock
    token = admission.token if admission is not None and admission.token else secrets.token_urlsafe(24)  # 192 bits
    ticket_id = new_id()
    if notice is not None:
        with ctx.db.read() as s:
            notices.find(s, hall.id, notice)  # 404 before a number is taken
        priority = True
    with ctx.db.write() as s:
        # The clock is read while holding the lock that orders numbers (SQLite's write lock, or
        # the number row's lock on PostgreSQL, taken by the UPDATE in _next_seq and held to commit):
        # a later number can then never carry an earlier issue time (HALL_RULES 1, docs/api.md).
        # `before`, the ledger's last line before this ticket's, comes back with the number (one statement).
        day = hall.day_of(ctx.clock.now())
        seq, before = _next_seq(s, hall, service, day, anonymous_cap, credential)
        now = ctx.clock.now()
        if hall.day_of(now) != day:  # midnight passed while waiting for the lock: number it in the new day
            day = hall.day_of(now)
            seq, before = _next_seq(s, hall, service, day, anonymous_cap, credential)
        _check_open(service, hall, now, admission)
        row: TicketRow = transient(
            TicketRow,
            id=ticket_id,
            hall_id=hall.id,
            service_id=service.id,
            issued_service=service.id,
            day=day,
            seq=seq,
            number=format_number(service.prefix, seq, hall.number_width),
            priority=priority,
            status=TicketStatus.WAITING.value,
            token_hash=token_hash(token),
            kiosk_id=kiosk_id,
            issued_at=now,
            order_at=now,
            waiting_since=now,  # timing.Clock after "issued"
            serving_since=None,
            wait_s=0,
            service_s=0,
            recalls=0,
            transfers=0,
        )
        first = notices.redeem(s, hall, notice, row, now) if notice is not None else None  # sets row.repeat_of
        if pickup is not None:  # 领取: sent to the owner window, linked to the matter (PROTOCOL v1.2)
            matters.claim_pickup(s, hall, pickup, row)
        if admission is not None:
            admission.within(s, row, now)  # an appointment's check-in, or a remote ticket's code and phone
        tallied = ctx.db.is_sqlite and notice is None and pickup is None and admission is None
        desks: dict[str, Desk] | None
        started: bool | None
        counted: _Counted | None = None
        issued = ledger.values(
            hall.id, "remote_issued" if row.status == TicketStatus.REMOTE.value else "issued", now,
            ticket_id=row.id, service=service.id, priority=priority or None,
            repeat_of=first.ticket_id if first else None, notice=first.id if first else None,
            appointment=row.appointment_id,
        )  # fmt: skip
        line: int | None = None  # the ledger line's id (SQLite: the tally's mark)
        if tallied:  # SQLite, a plain tap: the queues as this process's last issue left them, when still so
            ahead, desks, started, counted = _insert_tallied(s, hall, row, ctx.boards.tallies.get(hall.id), before, day)
            line = insert_row(s, ledger.TABLE, issued)
        elif ctx.db.is_sqlite:
            ahead, desks, started = _insert_ticket(s, hall, row)  # people ahead, counters' states, day started
            line = insert_row(s, ledger.TABLE, issued)
        else:  # PostgreSQL: the ledger line goes in the ticket's INSERT, as a CTE (one round trip less)
            ahead, desks, started = _insert_ticket(s, hall, row, issued)
        job = print_jobs.add(s, hall, kiosk, row, track_url(track_base, token), now) if kiosk else None
        outbox.emit(s, hall, "ticket.issued", outbox.ticket_data(row, kiosk=kiosk_id), now, subject=row.id)
        where = ctx.boards.quick_place(s, hall, row, ahead, now, before, desks)
        board = ctx.boards.peek(hall.id)
        if where is None and key is not None and board is not None and board.waiting <= ctx.boards.sync_limit:
            # A small hall's stale board (a few tickets waiting): its forecast is quick, and worked out here
            # the key's row gets the answer now, not in a second write transaction after commit. (Should the
            # key be taken, this board is labelled with a ledger line rolled back: never taken as exact.)
            where = ctx.boards.place(s, hall, row, ahead, now)
        if key is not None and not _claim_key(s, key, row.id, _seal(token, key.key), now, where):
            raise _KeyTaken  # answered already (or being answered): roll this ticket back, replay that one
    if counted is not None and line is not None:  # committed: the next tap finds this issue's line last
        ctx.boards.tallies[hall.id] = counted.after(line, row)
    if where is None:  # a small hall, or no background refresh: work the forecast out now
        with ctx.db.read() as s:  # the forecast reads the whole hall: not while holding the write lock
            where = ctx.boards.place(s, hall, row, ahead, now)
        if key is not None:
            _remember_answer_later(ctx, key.hash, where)
    # A normal ticket joins the end of its queue: nobody else's place moves. A priority one overtakes.
    joined = QueueChanged(hall.id, frozenset({service.id}), places_moved=priority)
    events: list[Event] = [joined, TicketChanged(hall.id, row.id)]
    if job is not None:
        events.append(PrintQueued(hall.id, job.kiosk_id, job.id))
    return Issued(row, token, where.ahead, where.est_wait_s, where.served_now, day_started=started), events


def _check_open(service: Service, hall: Hall, now: datetime, admission: Admission | None = None) -> None:
    if admission is not None and admission.kind == "appointment":
        return  # a booked slot is honoured whatever the walk-in hours say (非固定窗口)
    if service.appointment_only:
        raise HallError("service_closed", 409, "this service is served by appointment only (预约办理)")
    if not hall.is_open(service, now):
        raise HallError("service_closed", 409, "this service is not taking tickets now")


def track_url(base: str, token: str) -> str:
    """The resident's page, printed as the ticket's QR code."""
    return f"{base.rstrip('/')}/t/{token}"


# -- idempotency keys ---------------------------------------------------------------------------------


class _KeyTaken(Exception):  # noqa: N818 - a signal inside this module, not an error anyone sees
    """The request's idempotency key was claimed by an earlier request."""


@dataclass(frozen=True)
class _Key:
    """A kiosk's idempotency key, as kept: scoped by hall and kiosk (one kiosk's key can never fetch another's
    ticket), hashed, with the fingerprint of what was asked (the same key with another body is refused)."""

    hall_id: str
    kiosk_id: str | None
    key: str
    service_id: str
    priority: bool

    @classmethod
    def of(
        cls, hall: Hall, kiosk_id: str | None, key: str, service: Service, priority: bool, notice: str | None
    ) -> _Key:
        """The key of a ticket request: a notice's return visit is a priority ticket, and asked as one."""
        return cls(hall.id, kiosk_id, key, service.id, priority or notice is not None)

    @property
    def hash(self) -> str:
        return hashlib.sha256(f"hallq-request\0{self.hall_id}\0{self.kiosk_id or ''}\0{self.key}".encode()).hexdigest()

    @property
    def fingerprint(self) -> str:
        asked = f"{self.service_id}\0{int(self.priority)}\0{self.kiosk_id or ''}"
        return hashlib.sha256(asked.encode()).hexdigest()


def _pad(key: str, size: int) -> bytes:
    pad, block = b"", 0
    while len(pad) < size:
        pad += hashlib.sha256(f"hallq-seal\0{block}\0{key}".encode()).digest()
        block += 1
    return pad[:size]


def _xor(data: bytes, key: str) -> bytes:
    """`data` XOR the key's pad, as whole numbers (a byte-by-byte loop was 1% of a kiosk's issue)."""
    pad = int.from_bytes(_pad(key, len(data)), "big")
    return (int.from_bytes(data, "big") ^ pad).to_bytes(len(data), "big")


def _seal(token: str, key: str) -> str:
    """The track token, recoverable only with the idempotency key (which the database keeps only hashed)."""
    return _xor(token.encode(), key).hex()


def _unseal(sealed: str, key: str) -> str:
    return _xor(bytes.fromhex(sealed), key).decode()


def _claim_key(s: Session, key: _Key, ticket_id: str, sealed: str, now: datetime, where: queue.Place | None) -> bool:
    """Write the key's row for the ticket just issued, with the answer's figures; False when it was taken.

    INSERT .. ON CONFLICT DO NOTHING as the issuing transaction's last statement: on PostgreSQL a concurrent
    claim of the same key waits for the first transaction, then finds its row taken; SQLite's write lock
    serialises them. The caller then rolls its ticket back and answers the earlier one.
    """
    conn = connection(s)
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    values = {
        "key_hash": key.hash,
        "hall_id": key.hall_id,
        "ticket_id": ticket_id,
        "fingerprint": key.fingerprint,
        "sealed_token": sealed,
        "created_at": now,
        "ahead": where.ahead if where is not None else None,
        "est_wait_s": where.est_wait_s if where is not None else None,
        "served_now": where.served_now if where is not None else None,
    }
    if dialect == "postgresql" and nothing_to_flush(s):
        # the issue's last statement: it carries the COMMIT (one round trip less); a taken key is a unique
        # violation, which skips the COMMIT (the caller rolls back)
        try:
            commit_with(_INSERT_KEY, conn, values)
        except IntegrityError as e:
            if getattr(e.orig, "pgcode", None) != UNIQUE_VIOLATION:
                raise
            return False
        return True
    return _CLAIM_KEY[dialect].first(conn, values) is not None


_REQUESTS = TicketRequestRow.__table__
_CLAIM_KEY = {
    name: Raw(every_column(dialect.insert(_REQUESTS)).on_conflict_do_nothing().returning(_REQUESTS.c.key_hash))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_INSERT_KEY = Raw(every_column(insert(cast(Table, _REQUESTS))))  # the key's primary key is its hash: only it can clash
UNIQUE_VIOLATION = "23505"


def _earlier(s: Session, key: _Key) -> TicketRequestRow | None:
    """The row of a key answered before, or None; 422 when it was answered for another request."""
    earlier = s.get(TicketRequestRow, key.hash)
    if earlier is not None and earlier.fingerprint != key.fingerprint:
        raise HallError(
            "idempotency_key_reused", 422, "this Idempotency-Key was used for another ticket request; use a new key"
        )
    return earlier


def _replay(ctx: Context, s: Session, hall: Hall, earlier: TicketRequestRow, key: str) -> Issued:
    row = s.get(TicketRow, earlier.ticket_id)
    if row is None:  # the day was cleared since: the key stands for nothing any more
        raise HallError("not_found", 404, "the ticket of this Idempotency-Key no longer exists")
    if earlier.ahead is not None and earlier.est_wait_s is not None and earlier.served_now is not None:
        where = queue.Place(earlier.ahead, earlier.est_wait_s, earlier.served_now)
    elif row.status != TicketStatus.WAITING.value:
        where = queue.NOT_WAITING
    else:  # replayed before the first answer was written down: today's figures
        where = ctx.boards.place(s, hall, row, queue.ahead_count(s, row), ctx.clock.now())
    token = _unseal(earlier.sealed_token, key)
    return Issued(row, token, where.ahead, where.est_wait_s, where.served_now, replayed=True)


def _remember_answer(s: Session, key_hash: str, where: queue.Place) -> None:
    """Keep the first answer's figures, so a replay answers exactly the same."""
    s.execute(
        update(TicketRequestRow)
        .where(TicketRequestRow.key_hash == key_hash)
        .values(ahead=where.ahead, est_wait_s=where.est_wait_s, served_now=where.served_now)
    )


def _remember_answer_later(ctx: Context, key_hash: str, where: queue.Place) -> None:
    """The same after commit, when the forecast was worked out outside the write; best effort."""
    try:
        with ctx.db.write() as s:
            _remember_answer(s, key_hash, where)
    except SQLAlchemyError as e:  # the ticket is committed; a replay then recomputes the figures
        log.warning("could not keep the answer of a ticket request: %s", str(e).splitlines()[0])


_TICKET_COLUMNS = [c.key for c in TicketRow.__table__.columns]
_TICKETS = cast(Table, TicketRow.__table__)


# The ticket's INSERT returning the people ahead in its queue (queue.ahead_statement) and every counter's state
# (queue.STATES_TEXT, for `served_now`): one round trip where there were three.
def _ticket_insert(targeted: bool, priority: bool, with_line: bool) -> Raw:
    statement = every_column(insert(_TICKETS)).returning(
        queue.ahead_statement(targeted, priority).scalar_subquery(), queue.STATES_TEXT
    )
    if with_line:  # PostgreSQL: its ledger line in the same statement (a data-modifying CTE)
        lines = ledger.TABLE
        line = lines.insert().values(
            {c: bindparam(f"line_{c.key}", type_=c.type) for c in lines.c if not c.primary_key}
        )
        statement = statement.add_cte(line.cte("line"))
    return Raw(statement)


_INSERT_TICKET = {
    (targeted, priority, with_line): _ticket_insert(targeted, priority, with_line)
    for targeted in (False, True)
    for priority in (False, True)
    for with_line in (False, True)
}


def _insert_ticket(
    s: Session, hall: Hall, row: TicketRow, line: dict[str, Any] | None = None
) -> tuple[int, dict[str, Desk] | None, bool | None]:
    """Write a new waiting ticket (and on PostgreSQL its ledger line, `line`'s columns, in the same statement):
    how many go before it in its queue (what `queue.ahead_count` reads), the counters as they are now, and
    whether the hall's day has started (opening.day_started); both None while ORM changes of this session wait
    to be flushed (then read later)."""
    statement = _INSERT_TICKET[(row.target_counter is not None, bool(row.priority), line is not None)]
    params = {**_ticket_values(row), **queue.ahead_params(row), **queue.states_params(hall, row.issued_at)}
    if line is not None:
        params |= {f"line_{k}": v for k, v in line.items()}
    found = statement.first(connection(s), params)
    assert found is not None  # an INSERT … RETURNING has its row
    ahead, states = found
    if s.dirty or s.new:
        return int(ahead or 0), None, None
    return int(ahead or 0), *queue.from_states_text(hall, states)


_INSERT_PLAIN = Raw(every_column(insert(_TICKETS)))  # a tallied issue: nothing to count, nothing returned
_INSERT_PARTS = {
    priority: Raw(
        every_column(insert(_TICKETS)).returning(
            *(part for part in queue.AHEAD_PARTS[priority] if part is not None), queue.STATES_TEXT
        )
    )
    for priority in (False, True)
}


@dataclass(frozen=True)
class _Counted:
    """What a tallied issue knew of its queues just before its ticket (`board.Tally`), to leave the next one."""

    day: str
    at: datetime
    priority: dict[str, int]
    normal: dict[str, int]
    states: str | None

    def after(self, line: int, row: TicketRow) -> board.Tally:
        """The tally after this ticket joined its queue (its ledger line `line` now the last one)."""
        priority, normal = dict(self.priority), dict(self.normal)
        if row.priority:
            priority[row.service_id] += 1
        else:
            normal[row.service_id] += 1
        return board.Tally((line, "issued", row.id), self.day, priority, normal, self.states, self.at)


def _insert_tallied(
    s: Session, hall: Hall, row: TicketRow, tally: board.Tally | None, before: tuple[Any, ...] | None, day: str
) -> tuple[int, dict[str, Desk], bool, _Counted | None]:
    """`_insert_ticket` for a plain untargeted ticket on SQLite: when nothing changed since this process's last
    issue (`tally` matches the ledger's last line), its people ahead and the counters' states are the tally's
    and the INSERT is plain; else they are counted in the INSERT, and the next issue finds them tallied."""
    service, now = row.service_id, row.order_at
    valid = tally if tally is not None and tally.matches(before, day) and now >= tally.at else None
    priority = dict(valid.priority) if valid is not None else {}
    normal = dict(valid.normal) if valid is not None else {}
    if valid is not None and service in priority and (row.priority or service in normal):
        _INSERT_PLAIN.run(connection(s), _ticket_values(row))
        states = valid.states
    else:
        params = {**_ticket_values(row), **queue.ahead_params(row), **queue.states_params(hall, row.issued_at)}
        found = _INSERT_PARTS[bool(row.priority)].first(connection(s), params)
        assert found is not None  # an INSERT … RETURNING has its row
        states, later = found[-1], bool(found[-2])
        priority[service] = int(found[0] or 0)
        if not row.priority:
            normal[service] = int(found[1] or 0)
        if later:  # not the newest of its class (a clock set back): its count is no tally; count next time too
            ahead = priority[service] + (0 if row.priority else normal[service])
            return ahead, *queue.from_states_text(hall, states), None
    ahead = priority[service] + (0 if row.priority else normal[service])
    counted = _Counted(day, now, priority, normal, states)
    return ahead, *queue.from_states_text(hall, states), counted


def _count(found: tuple[Any, ...] | None) -> int:
    assert found is not None  # an upsert … RETURNING always has its row
    return int(found[0])


def _ticket_values(row: TicketRow) -> dict[str, Any]:
    """The new ticket's columns: what was set on it (read from its dict, not through the ORM's attribute
    machinery, 42 times a ticket), None for the rest."""
    found = vars(row)
    return {key: found.get(key) for key in _TICKET_COLUMNS}


_K = ApiTokenRow.__table__.c
# The request's bearer token, read in the number's statement: its id while valid, NULL once revoked or gone.
_TOKEN_LIVE = select(_K.id).where(_K.id == bindparam("token"), _K.revoked_at.is_(None)).scalar_subquery()
_TOKEN_ROW = select(_K.id).where(_K.id == bindparam("token"), _K.revoked_at.is_(None))  # the same, on its own
_HEAD_END = 1 + len(board.HEAD_COLUMNS)
_SEQ = {
    (name, checked): Raw(
        dialect.insert(NumberSeqRow.__table__)
        .values(hall_id=bindparam("hall"), service_id=bindparam("service"), day=bindparam("day"), last=1)
        .on_conflict_do_update(
            index_elements=["hall_id", "service_id", "day"], set_={"last": NumberSeqRow.__table__.c.last + 1}
        )
        .returning(NumberSeqRow.__table__.c.last, *board.HEAD_COLUMNS, *([_TOKEN_LIVE] if checked else []))
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    for checked in (False, True)
}


def _next_seq(
    s: Session, hall: Hall, service: Service, day: str, anonymous_cap: int | None = None, token: str | None = None
) -> tuple[int, tuple[Any, ...] | None]:
    """Take the day's next sequence number in one upsert; the row lock makes it unique across processes.
    Also the ledger's last line (board.ledger_head), read in the same statement, and with a bearer `token`
    whether it is still valid (401 when not).

    An anonymous ticket (`anonymous_cap` given) also takes one of its share of the day, counted under the same
    lock (the number row's, or SQLite's write lock, held to commit). Raising rolls every increment back."""
    dialect = "postgresql" if s.get_bind().dialect.name == "postgresql" else "sqlite"
    key = {"hall": hall.id, "service": service.id, "day": day}
    if token is not None:
        key["token"] = token
    found = _SEQ[(dialect, token is not None)].first(connection(s), key)
    assert found is not None  # an upsert … RETURNING always has its row
    if token is not None and found[_HEAD_END] is None:
        raise HallError("unauthorized", 401, "missing or invalid bearer token")
    seq = int(found[0])
    check_limit(seq, service.daily_limit, hall.number_width)  # raising rolls the increment back
    if anonymous_cap is not None and _count(_ANONYMOUS[dialect].first(connection(s), key)) > anonymous_cap:
        raise HallError(
            "daily_limit", 409, "today's numbers for tickets taken without a kiosk are used up for this service;"
            " please take a ticket at a kiosk in the hall",
        )  # fmt: skip
    head = tuple(found[1:_HEAD_END])
    return seq, head if head[0] is not None else None


_QUOTA = AnonymousQuotaRow.__table__
_ANONYMOUS = {
    name: Raw(
        dialect.insert(_QUOTA)
        .values(hall_id=bindparam("hall"), service_id=bindparam("service"), day=bindparam("day"), issued=1)
        .on_conflict_do_update(index_elements=["hall_id", "service_id", "day"], set_={"issued": _QUOTA.c.issued + 1})
        .returning(_QUOTA.c.issued)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


_RATED = select(RatingRow.__table__.c.id).where(RatingRow.__table__.c.ticket_id == bindparam("ticket")).limit(1)
_CASES = ComplaintRow.__table__.c
_CASE = select(_CASES.status).where(_CASES.ticket_id == bindparam("ticket")).order_by(_CASES.opened_at).limit(1)


def track_body(ctx: Context, s: Session, row: Any, where: queue.Place | None = None) -> dict[str, Any]:
    """The resident's view of one ticket: GET /api/v1/track/{token}.

    `row` is a TicketRow or a plain row of the queue columns; `where`, when the caller already knows
    the ticket's place (the publisher reads a whole queue at once).
    """
    hall = ctx.hall(row.hall_id)
    if where is None:
        where = queue.NOT_WAITING
        if row.status in (TicketStatus.WAITING.value, TicketStatus.REMOTE.value):
            where = ctx.boards.place(s, hall, row, queue.ahead_count(s, row), ctx.clock.now())
    counter_name = None
    counter_id = row.counter_id if row.status != TicketStatus.WAITING.value else None
    if counter_id is not None:
        found = hall.counter(counter_id)
        counter_name = found.name if found is not None else None
    rated, case = False, None
    if row.status == TicketStatus.DONE.value:
        rated = s.connection().execute(_RATED, {"ticket": row.id}).first() is not None
        case = s.connection().execute(_CASE, {"ticket": row.id}).scalar() if rated else None
    return {
        "number": row.number,
        "status": row.status,
        "ahead": where.ahead,
        "est_wait_s": where.est_wait_s,
        "served_now": where.served_now,
        "counter": counter_name,
        "can_rate": row.status == TicketStatus.DONE.value and not rated,
        "service": row.service_id,
        # closed_out: why the ticket was not served (the day closed with it still in the hall)
        "reason": views.closed_reason(row),
        "complaint": case,  # the case a bad rating opened: the page shows its answer when it comes
        "matter": _matter(hall, s, row) if row.status == TicketStatus.DONE.value else None,
        **_opening(ctx, s, hall, row, where.served_now),
        # PROTOCOL v1.2: 即将到号 (a remote ticket too: time to come to the hall and check in)
        # never while nobody serves its queue (PROTOCOL v1.1: no page may say it is about to be called then)
        "near": row.status in _NEAR_STATUSES and where.served_now and where.ahead <= hall.near_ahead,
    }


def _matter(hall: Hall, s: Session, row: Any) -> dict[str, Any] | None:
    """The matter (办件) a promised service's acceptance opened: the resident's page follows it."""
    m = matters.for_ticket(s, row.id)
    return None if m is None else {"number": m.number, "status": m.status, "due_at": views.iso(hall, m.due_at)}


def _opening(ctx: Context, s: Session, hall: Hall, row: Any, served: bool) -> dict[str, object]:
    """`before_opening` / `windows_open_at` of a waiting ticket nobody serves yet (read only then)."""
    if served or row.status != TicketStatus.WAITING.value:
        return opening.NOT_BEFORE.fields()
    return opening.opening(s, hall, hall.service(row.service_id), ctx.clock.now()).fields()


def issued_opening(ctx: Context, issued: Issued) -> dict[str, object]:
    """The issue answer's `before_opening` / `windows_open_at` (a read only when nobody serves the queue yet)."""
    if issued.served_now:
        return opening.NOT_BEFORE.fields()
    hall = ctx.hall(issued.ticket.hall_id)
    if issued.day_started is not None:  # read by the issue's own INSERT: nothing more to read
        return opening.given(issued.day_started, hall, hall.service(issued.ticket.service_id), ctx.clock.now()).fields()
    with ctx.db.read() as s:
        return opening.opening(s, hall, hall.service(issued.ticket.service_id), ctx.clock.now()).fields()


_NEAR_STATUSES = (TicketStatus.WAITING.value, TicketStatus.REMOTE.value)


def track(ctx: Context, token: str) -> dict[str, Any]:
    with ctx.db.read() as s:
        return track_body(ctx, s, find_by_token(s, token))


_ISSUED_LATELY = (
    select(TicketRow.__table__.c.id)
    .where(
        TicketRow.__table__.c.hall_id == bindparam("hall"),
        TicketRow.__table__.c.day.in_(bindparam("days", expanding=True)),
        TicketRow.__table__.c.number == bindparam("number"),
    )
    .limit(1)
)


def recently_issued(ctx: Context, hall: Hall, number: str) -> bool:
    """Whether the hall gave out this number today or yesterday (e.g. under a daily limit lowered since)."""
    today = hall.day_of(ctx.clock.now())
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    with ctx.db.read() as s:
        found = s.execute(_ISSUED_LATELY, {"hall": hall.id, "days": [today, yesterday], "number": number}).first()
    return found is not None
