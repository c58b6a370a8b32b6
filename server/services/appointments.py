"""Appointments (预约服务) and remote tickets (线上取号): PROTOCOL v1.2's use cases.

Places: one `appointment_slots` row per slot counts the places taken of each share; a booking takes one
with a guarded UPDATE (`taken < places`), so the last place goes to exactly one booking across
processes (PostgreSQL re-reads the row after a concurrent update; SQLite's write lock serialises).
A person's bookings are serialised by a transaction-scoped advisory lock on their hash (PostgreSQL), so
the per-person limits hold across processes too.

Personal data: the ID number is never stored in clear (a keyed hash, `person_hash`, with the
installation's key `<data_dir>/person.key` (services/identity.py), and a masked form); name and phone are
kept for staff and the reminder, and purged `personal_data_days` after the appointment's day (`purge`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.engine import appointments as rules
from server.engine.appointments import ACTIVE, AppointmentStatus, Booking
from server.engine.errors import HallError, invalid, not_found
from server.engine.events import Event, QueueChanged, TicketChanged
from server.engine.identity import (
    check_id_number,
    check_name,
    check_phone,
    id_hash,
    mask_id,
    mask_name,
    mask_phone,
    person_hash,
)
from server.engine.model import Hall, Service, TicketStatus
from server.engine.rules import Candidate, served_services
from server.store.models import AppointmentRow, AppointmentSlotRow, PersonBlockRow, TicketRow

from . import identity, ledger, outbox, print_jobs, queue, tickets
from .context import Context

log = logging.getLogger("hallq.appointments")


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def person_secret(ctx: Context) -> bytes:
    """The installation's key for keyed hashes (services/identity.py)."""
    return identity.identity_key(ctx.config.settings.data_dir)


def _hashes(ctx: Context, id_number: str | None, phone: str | None) -> tuple[str | None, str | None]:
    key = person_secret(ctx)
    return (
        id_hash(key, id_number) if id_number else None,
        person_hash(key, "phone", phone) if phone else None,
    )


def remote_token(ctx: Context, code: str) -> str:
    """A remote ticket's track token: derived from its code with the secret (only the hash is stored), so the
    kiosk that checks it in can give the resident's page again."""
    mac = hmac.new(person_secret(ctx), f"hallq-remote-track\0{code}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def new_code() -> str:
    return "".join(secrets.choice(rules.CODE_ALPHABET) for _ in range(rules.CODE_LENGTH))


# -- reading ---------------------------------------------------------------------------------------------


def booking_of(service: Service) -> Booking:
    if service.booking is None:
        raise HallError("no_appointments", 409, f"service {service.id} takes no appointments")
    return service.booking


def _iso(hall: Hall, moment: datetime | None) -> str | None:
    return None if moment is None else hall.local(moment).isoformat(timespec="seconds")


def slots(ctx: Context, hall_id: str, service_id: str, first: date, last: date, staff: bool) -> list[dict[str, Any]]:
    """GET .../slots: the bookable slots with their free places (the public share; both shares for staff)."""
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    if service.booking is None:
        rules.bookable(Booking(), hall.calendar, hall.timezone, first, last, ctx.clock.now())  # the range's 422
        return []  # a service that takes no appointments has no slots
    booking = service.booking
    now = ctx.clock.now()
    found = rules.bookable(booking, hall.calendar, hall.timezone, first, last, now)
    if not found:
        return []
    params = {"hall": hall.id, "service": service.id, "first": found[0].start, "last": found[-1].start}
    with ctx.db.read() as s:
        rows = s.connection().execute(_TAKEN, params)
        taken = {_aware(r.start): (r.public_taken, r.staff_taken) for r in rows}
    out = []
    for slot in found:
        pub, stf = taken.get(slot.start, (0, 0))
        free = max(0, booking.public_places - pub)
        if staff:
            free += max(0, booking.staff_places - stf)
        out.append({"start": slot.start_text, "end": slot.end_text, "free": free})
    return out


_C = AppointmentSlotRow.__table__.c
_TAKEN = select(_C.start, _C.public_taken, _C.staff_taken).where(
    _C.hall_id == bindparam("hall"),
    _C.service_id == bindparam("service"),
    _C.start >= bindparam("first", type_=AppointmentSlotRow.__table__.c.start.type),
    _C.start <= bindparam("last", type_=AppointmentSlotRow.__table__.c.start.type),
)


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise invalid("start must be an ISO 8601 time with its offset", "invalid_start") from None
    if start.tzinfo is None:
        raise invalid("start must carry its offset, e.g. 2026-12-08T09:00:00+08:00", "invalid_start")
    return start


# -- booking ---------------------------------------------------------------------------------------------


_SLOT_INSERT = {
    name: dialect.insert(AppointmentSlotRow.__table__)
    .values(
        hall_id=bindparam("hall"),
        service_id=bindparam("service"),
        start=bindparam("start"),
        public_taken=0,
        staff_taken=0,
    )  # fmt: skip
    .on_conflict_do_nothing()
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_S = AppointmentSlotRow.__table__.c


def _take_place(s: Session, hall: Hall, service: Service, start: datetime, share: str, places: int) -> bool:
    """Take one place of `share` in the slot if one is left; exactly once across processes."""
    dialect = "postgresql" if s.get_bind().dialect.name == "postgresql" else "sqlite"
    params = {"hall": hall.id, "service": service.id, "start": start}
    s.connection().execute(_SLOT_INSERT[dialect], params)
    column = _S.public_taken if share == "public" else _S.staff_taken
    taken = (
        s.connection()
        .execute(
            update(_table(AppointmentSlotRow))
            .where(_S.hall_id == hall.id, _S.service_id == service.id, _S.start == start, column < places)
            .values({column.key: column + 1})
            .returning(column)
        )
        .first()
    )
    return taken is not None


def _give_back(s: Session, row: AppointmentRow) -> None:
    column = _S.public_taken if row.share == "public" else _S.staff_taken
    s.connection().execute(
        update(_table(AppointmentSlotRow))
        .where(_S.hall_id == row.hall_id, _S.service_id == row.service_id, _S.start == row.start, column > 0)
        .values({column.key: column - 1})
    )


def _lock_person(s: Session, *hashes: str | None) -> None:
    """Serialise one person's bookings (PostgreSQL; SQLite's write lock already does)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for h in sorted(h for h in hashes if h):
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(h[:15], 16)})


def _same_person(columns: Any, id_hash: str | None, phone_hash: str | None) -> list[Any]:
    """The conditions that find one person's rows (appointments or blocks): the same ID hash or phone hash."""
    return [c for c, known in ((columns.id_hash == id_hash, id_hash), (columns.phone_hash == phone_hash, phone_hash))
            if known]  # fmt: skip


def _blocked_until(
    s: Session, hall: Hall, id_hash: str | None, phone_hash: str | None, now: datetime
) -> datetime | None:
    b = PersonBlockRow.__table__.c
    who = _same_person(b, id_hash, phone_hash)
    if not who:
        return None
    until = s.connection().scalar(
        select(func.max(b.until)).where(b.hall_id == hall.id, b.lifted_at.is_(None), b.until > now, or_(*who))
    )
    return None if until is None else _aware(until)


def book(
    ctx: Context,
    hall_id: str,
    service_id: str,
    start_text: str,
    name: str,
    phone: str,
    id_number: str,
    manage_base: str,
    staff: str | None = None,
    channel: str | None = None,
) -> tuple[dict[str, Any], list[Event]]:
    """POST .../appointments: book a place in a slot (the staff share too when `staff` books)."""
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    booking = booking_of(service)
    name = check_name(name)
    phone = check_phone(phone)
    id_number = check_id_number(id_number)
    start = parse_start(start_text)
    if channel is not None and staff is None:
        raise HallError("forbidden", 403, "only staff book by phone or at the desk (channel)")
    now = ctx.clock.now()
    slot = rules.check_slot(booking, hall.calendar, hall.timezone, start, now)
    id_hash, phone_hash = _hashes(ctx, id_number, phone)
    a = AppointmentRow.__table__.c
    with ctx.db.write() as s:
        _lock_person(s, id_hash, phone_hash)
        now = ctx.clock.now()
        rules.check_blocked(_blocked_until(s, hall, id_hash, phone_hash, now), now, hall.timezone)
        mine = s.connection().execute(
            select(a.start).where(
                a.hall_id == hall.id,
                a.service_id == service.id,
                a.status.in_(ACTIVE),
                or_(a.id_hash == id_hash, a.phone_hash == phone_hash),
            )
        )
        rules.check_limits(booking, hall.timezone, slot.start, [_aware(r.start) for r in mine])
        share = None
        for wanted, places in (("staff", booking.staff_places), ("public", booking.public_places)):
            if wanted == "staff" and staff is None:
                continue
            if places > 0 and _take_place(s, hall, service, slot.start, wanted, places):
                share = wanted
                break
        if share is None:
            raise HallError("slot_full", 409, "this slot has no free place left")
        row = AppointmentRow(
            id=tickets.new_id(),
            code=new_code(),
            hall_id=hall.id,
            service_id=service.id,
            start=slot.start,
            end=slot.end,
            day=hall.day_of(slot.start),
            share=share,
            channel=channel or ("desk" if staff else "online"),
            status=AppointmentStatus.BOOKED,
            name=name,
            phone=phone,
            id_masked=mask_id(id_number),
            id_hash=id_hash,
            phone_hash=phone_hash,
            created_at=now,
            created_by=staff,
        )
        s.add(row)
        s.flush()
        ledger.insert(
            s, hall.id, "appointment_booked", now, clerk=staff, appointment=row.id, service=service.id,
            start=_iso(hall, slot.start), share=share, channel=row.channel,
        )  # fmt: skip
        outbox.emit(s, hall, "appointment.booked", _event_data(hall, row), now, subject=row.id)
        answer = {
            "id": row.id,
            "code": row.code,
            "service": service.id,
            "start": _iso(hall, row.start),
            "end": _iso(hall, row.end),
            "status": row.status,
            "manage_url": manage_url(manage_base, hall.id, row.code),
        }
    log.info("appointment %s booked for %s at %s (%s)", row.id, service.id, answer["start"], row.channel)
    return answer, []


def manage_url(base: str, hall_id: str, code: str) -> str:
    return f"{base.rstrip('/')}/book/{hall_id}/{code}"


def _event_data(hall: Hall, row: AppointmentRow) -> dict[str, Any]:
    """An appointment's outbound event: no personal data (the receiver has the code's owner elsewhere)."""
    return {
        "id": row.id,
        "service": row.service_id,
        "start": _iso(hall, row.start),
        "end": _iso(hall, row.end),
        "status": row.status,
        "channel": row.channel,
    }


def _find(s: Session, code: str, lock: bool = False) -> AppointmentRow:
    normal = rules.normal_code(code)
    if normal is None:
        raise not_found("appointment", code)
    statement = select(AppointmentRow).where(AppointmentRow.code == normal)
    if lock:
        statement = statement.with_for_update()
    row = s.scalars(statement).first()
    if row is None:
        raise not_found("appointment", code)
    return row


def show(ctx: Context, code: str, full: bool = False, hall_id: str | None = None) -> dict[str, Any]:
    """GET /appointments/{code}: the booking with name, phone and ID number masked (in full for staff). With
    `hall_id` (a hall's booking page) a booking of another hall is not found there."""
    with ctx.db.read() as s:
        row = _find(s, code)
        if hall_id is not None and row.hall_id != hall_id:
            raise HallError("not_found", 404, "no appointment with this code here")
        ticket = None
        if row.ticket_id is not None:
            ticket = s.connection().execute(_TICKET, {"id": row.ticket_id}).first()
        return describe(ctx.hall(row.hall_id), row, ticket, full)


_TICKET = select(TicketRow.__table__.c.number, TicketRow.__table__.c.status).where(
    TicketRow.__table__.c.id == bindparam("id")
)


def describe(hall: Hall, row: AppointmentRow, ticket: Any | None, full: bool = False) -> dict[str, Any]:
    """An appointment as the API answers it; `ticket` (its number and status) once checked in."""
    name, phone = row.name or "", row.phone or ""
    status = row.status
    if status == AppointmentStatus.CHECKED_IN and ticket is not None and ticket.status == TicketStatus.DONE.value:
        status = AppointmentStatus.SERVED  # its ticket was finished at a counter
    number = ticket.number if ticket is not None else None
    return {
        "id": row.id,
        "code": row.code,
        "service": row.service_id,
        "start": _iso(hall, row.start),
        "end": _iso(hall, row.end),
        "status": status,
        "ticket": number,
        "name": (name if full else mask_name(name)) if name else None,
        "phone": (phone if full else mask_phone(phone)) if phone else None,
        "id_number": row.id_masked,
        "channel": row.channel,
    }


def cancel(ctx: Context, code: str, who: str | None = None, hall_id: str | None = None) -> dict[str, Any]:
    """DELETE /appointments/{code}: cancelled, its place free again; 409 too_late_to_cancel near its start.
    With `hall_id` (a hall's booking page) a booking of another hall is not found there."""
    with ctx.db.write() as s:
        row = _find(s, code, lock=True)
        if hall_id is not None and row.hall_id != hall_id:
            raise HallError("not_found", 404, "no appointment with this code here")
        hall = ctx.hall(row.hall_id)
        service = ctx.service(hall, row.service_id)
        now = ctx.clock.now()
        if row.status != AppointmentStatus.BOOKED:
            raise HallError("not_booked", 409, f"the appointment is {row.status}")
        rules.check_cancel(booking_of(service), _aware(row.start), now)
        row.status, row.cancelled_at = AppointmentStatus.CANCELLED, now
        _give_back(s, row)
        ledger.insert(s, hall.id, "appointment_cancelled", now, clerk=who, appointment=row.id, service=row.service_id)
        outbox.emit(s, hall, "appointment.cancelled", _event_data(hall, row), now, subject=row.id)
        return describe(hall, row, None)


# -- check-in --------------------------------------------------------------------------------------------


def check_in(
    ctx: Context, hall_id: str, code: str, kiosk_id: str | None, track_base: str
) -> tuple[tickets.Issued, str, list[Event]]:
    """POST .../check-in: an appointment's code issues its ticket; a remote ticket's code makes it wait."""
    hall = ctx.hall(hall_id)
    normal = rules.normal_code(code)
    if normal is None:
        raise not_found("code", code)
    with ctx.db.read() as s:
        appointment = s.scalars(
            select(AppointmentRow).where(AppointmentRow.code == normal, AppointmentRow.hall_id == hall.id)
        ).first()
        remote = None
        if appointment is None:
            remote = s.scalars(
                select(TicketRow).where(TicketRow.remote_code == normal, TicketRow.hall_id == hall.id)
            ).first()
    if appointment is not None:
        issued, events = _check_in_appointment(ctx, hall, appointment, kiosk_id, track_base)
        return issued, normal, events
    if remote is not None:
        issued, events = _check_in_remote(ctx, hall, remote.id, kiosk_id, track_base)
        return issued, normal, events
    raise not_found("code", code)


def _already(s: Session, ticket_id: str | None) -> HallError:
    number = s.connection().scalar(select(TicketRow.number).where(TicketRow.id == ticket_id)) if ticket_id else None
    return HallError("already_checked_in", 409, f"already checked in: ticket {number}", extra={"number": number})


def _check_in_appointment(
    ctx: Context, hall: Hall, found: AppointmentRow, kiosk_id: str | None, track_base: str
) -> tuple[tickets.Issued, list[Event]]:
    service = ctx.service(hall, found.service_id)
    booking = booking_of(service)
    a = AppointmentRow.__table__.c

    def within(s: Session, row: TicketRow, now: datetime) -> None:
        current = s.get(AppointmentRow, found.id, with_for_update=True, populate_existing=True)
        assert current is not None
        if current.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.SERVED):
            raise _already(s, current.ticket_id)
        if current.status == AppointmentStatus.CANCELLED:
            raise HallError("appointment_cancelled", 409, "this appointment was cancelled")
        if current.status == AppointmentStatus.MISSED:
            raise _expired(service.id)
        _window(booking, _aware(current.start), now, hall, service.id)
        done = s.connection().execute(
            update(_table(AppointmentRow))
            .where(a.id == current.id, a.status == AppointmentStatus.BOOKED)
            .values(status=AppointmentStatus.CHECKED_IN, checked_in_at=now, ticket_id=row.id)
        )
        if done.rowcount != 1:
            raise _already(s, current.ticket_id)
        row.appointment_id = current.id
        row.appointment_at = _aware(current.start)
        ledger.insert(s, hall.id, "appointment_checked_in", now, ticket_id=row.id, appointment=current.id,
                      kiosk=kiosk_id)  # fmt: skip

    # a check-in refused by the window says so before a number is taken
    with ctx.db.read() as s:
        if found.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.SERVED):
            raise _already(s, found.ticket_id)
    if found.status == AppointmentStatus.MISSED:
        raise _expired(service.id)
    if found.status == AppointmentStatus.BOOKED:
        _window(booking, _aware(found.start), ctx.clock.now(), hall, service.id)
    admission = tickets.Admission("appointment", within)
    issued, events = tickets.issue_ticket(ctx, hall.id, service.id, False, kiosk_id, track_base, admission=admission)
    # a booked appointment may go before walk-ins: everyone's place in that queue may move
    events = [QueueChanged(hall.id, frozenset({service.id}), places_moved=True), *events[1:]]
    return issued, events


def _expired(service_id: str) -> HallError:
    """appointment_expired, naming the service: the kiosk offers an ordinary ticket of it in one tap."""
    return HallError("appointment_expired", 409, "the check-in time is over", extra={"service": service_id})


def _window(booking: Booking, start: datetime, now: datetime, hall: Hall, service_id: str) -> None:
    try:
        rules.check_check_in(booking, start, now, hall.timezone)
    except HallError as e:
        if e.code == "appointment_expired":
            raise _expired(service_id) from None
        raise


def _check_in_remote(
    ctx: Context, hall: Hall, ticket_id: str, kiosk_id: str | None, track_base: str
) -> tuple[tickets.Issued, list[Event]]:
    kiosk = ctx.kiosk(hall, kiosk_id) if kiosk_id is not None else None
    t = TicketRow.__table__.c
    with ctx.db.write() as s:
        row = s.get(TicketRow, ticket_id, with_for_update=True, populate_existing=True)
        assert row is not None
        now = ctx.clock.now()
        if row.status == TicketStatus.EXPIRED.value or (
            row.status == TicketStatus.REMOTE.value and row.check_in_by is not None and now > row.check_in_by
        ):
            raise _expired(row.service_id)
        if row.status != TicketStatus.REMOTE.value:
            raise HallError(
                "already_checked_in", 409, f"already checked in: ticket {row.number}", extra={"number": row.number}
            )
        s.connection().execute(
            update(_table(TicketRow)).where(t.id == row.id).values(status=TicketStatus.WAITING.value)
        )
        row.status = TicketStatus.WAITING.value
        ledger.append(s, hall.id, "checked_in", now, ticket=row, kiosk=kiosk_id)
        token = remote_token(ctx, row.remote_code or "")
        url = tickets.track_url(track_base, token)
        job = print_jobs.add(s, hall, kiosk, row, url, now) if kiosk is not None else None
        s.flush()
        ahead = queue.ahead_count(s, row)
    with ctx.db.read() as s:
        where = ctx.boards.place(s, hall, row, ahead, ctx.clock.now())
    events: list[Event] = [
        QueueChanged(hall.id, frozenset({row.service_id}), places_moved=True),
        TicketChanged(hall.id, row.id),
    ]
    if job is not None:
        from server.engine.events import PrintQueued

        events.append(PrintQueued(hall.id, job.kiosk_id, job.id))
    return tickets.Issued(row, token, where.ahead, where.est_wait_s, where.served_now), events


# -- remote tickets --------------------------------------------------------------------------------------


def issue_remote(
    ctx: Context, hall_id: str, service_id: str, phone_text: str, track_base: str, anonymous_cap: int | None = None
) -> tuple[tickets.Issued, list[Event]]:
    """POST .../tickets with `remote`: a number for today, not called until checked in with its code.
    Taken with no kiosk's or staff's credential, it counts in that share of the day (`anonymous_cap`)."""
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    if not hall.takes_remote(service):
        raise HallError("remote_closed", 409, "this service takes no remote tickets (线上取号)")
    phone = check_phone(phone_text)
    _, phone_hash = _hashes(ctx, None, phone)
    code = new_code()

    def within(s: Session, row: TicketRow, now: datetime) -> None:
        taken = s.connection().scalar(
            select(TicketRow.id).where(
                TicketRow.hall_id == hall.id,
                TicketRow.issued_service == service.id,
                TicketRow.day == row.day,
                TicketRow.phone_hash == phone_hash,
            )
        )
        if taken is not None:
            raise _one_a_day()
        row.status = TicketStatus.REMOTE.value
        row.waiting_since = None  # its wait starts at check-in
        row.remote_code = code
        row.phone, row.phone_hash = phone, phone_hash
        row.check_in_by = remote_deadline(hall, service, now)

    admission = tickets.Admission("remote", within, token=remote_token(ctx, code))
    try:
        issued, events = tickets.issue_ticket(
            ctx, hall.id, service.id, False, None, track_base, admission=admission, anonymous_cap=anonymous_cap
        )
    except IntegrityError as e:  # the same phone in another process at the same instant
        if "phone" in str(e.orig):
            raise _one_a_day() from None
        raise
    return issued, events


def _one_a_day() -> HallError:
    return HallError("booking_limit", 409, "one remote ticket per phone per service per day")


def remote_deadline(hall: Hall, service: Service, now: datetime) -> datetime:
    """Issue + remote_check_in_min, never after the end of the opening period it was taken in."""
    by = now + timedelta(minutes=hall.remote_check_in_min)
    hours = service.hours
    if hours.always:
        return by
    local = hall.local(now)
    for start, end in hours.periods:
        if start <= local.time() < end:
            closing = datetime.combine(local.date(), end, local.tzinfo)
            return min(by, closing.astimezone(by.tzinfo))
    return by


# -- call-next: checked-in appointments ------------------------------------------------------------------

_T = TicketRow.__table__.c
_APPOINTMENT_HEADS = (
    select(*queue._QUEUE_COLUMNS)
    .where(
        _T.hall_id == bindparam("hall"),
        _T.status == TicketStatus.WAITING.value,
        _T.id.not_in(bindparam("taken", expanding=True)),
        _T.service_id.in_(bindparam("services", expanding=True)),
        _T.target_counter.is_(None),
        _T.appointment_at.is_not(None),
    )
    .order_by(_T.appointment_at, _T.order_at, _T.seq)
    .limit(queue.CALL_WINDOW)
)


def appointment_candidates(
    s: Session, hall_id: str, services: set[str], taken: set[str], known: list[Candidate]
) -> list[Candidate]:
    """Checked-in appointments of these services in booked order (the heads call-next may not see otherwise)."""
    seen = {c.id for c in known}
    params = {"hall": hall_id, "services": list(services), "taken": list(taken)}
    rows = s.connection().execute(_APPOINTMENT_HEADS, params)
    return [c for c in map(queue.candidate, rows) if c.id not in seen]


# -- jobs ------------------------------------------------------------------------------------------------


def mark_missed(ctx: Context, hall_id: str) -> int:
    """Appointments neither checked in nor cancelled by start + late minutes: `missed`; the no-show rule blocks."""
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    a = AppointmentRow.__table__.c
    count = 0
    for service in hall.services:
        if service.booking is None:
            continue
        booking = service.booking
        cutoff = now - timedelta(minutes=booking.late_min)
        with ctx.db.write() as s:
            rows = list(
                s.scalars(
                    select(AppointmentRow)
                    .where(
                        a.hall_id == hall.id,
                        a.service_id == service.id,
                        a.status == AppointmentStatus.BOOKED,
                        a.start < cutoff,
                    )
                    .with_for_update()
                )
            )
            for row in rows:
                row.status, row.missed_at = AppointmentStatus.MISSED, now
                ledger.insert(s, hall.id, "appointment_missed", now, appointment=row.id, service=service.id)
                outbox.emit(s, hall, "appointment.missed", _event_data(hall, row), now, subject=row.id)
                s.flush()
                _apply_no_show_rule(s, hall, service, booking, row, now)
                count += 1
    return count


def _apply_no_show_rule(
    s: Session, hall: Hall, service: Service, booking: Booking, row: AppointmentRow, now: datetime
) -> None:
    a = AppointmentRow.__table__.c
    b = PersonBlockRow.__table__.c
    who_a = _same_person(a, row.id_hash, row.phone_hash)
    who_b = _same_person(b, row.id_hash, row.phone_hash)
    if not who_a:
        return
    last_block = s.connection().scalar(select(func.max(b.since)).where(b.hall_id == hall.id, or_(*who_b)))
    since = _aware(last_block) if last_block is not None else None
    statement = select(a.start).where(a.hall_id == hall.id, a.status == AppointmentStatus.MISSED, or_(*who_a))
    misses = [_aware(r.start) + timedelta(minutes=booking.late_min) for r in s.connection().execute(statement)]
    if since is not None:
        misses = [m for m in misses if m > since]
    until = rules.block_after(booking, misses)
    if until is None:
        return
    block = PersonBlockRow(
        hall_id=hall.id,
        service_id=service.id,
        id_hash=row.id_hash,
        phone_hash=row.phone_hash,
        id_masked=row.id_masked,
        phone_masked=mask_phone(row.phone) if row.phone else None,
        misses=len(misses),
        since=now,
        until=max(until, now + timedelta(days=booking.block_days)) if until < now else until,
    )
    s.add(block)
    s.flush()
    ledger.insert(s, hall.id, "person_blocked", now, block=block.id, misses=len(misses), until=_iso(hall, block.until),
                  person=row.id_masked)  # fmt: skip


def expire_remote(ctx: Context, hall_id: str) -> list[Event]:
    """Remote tickets not checked in by their `check_in_by`: `expired`."""
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    events: list[Event] = []
    with ctx.db.write() as s:
        rows = list(
            s.scalars(
                select(TicketRow)
                .where(
                    TicketRow.hall_id == hall.id,
                    TicketRow.status == TicketStatus.REMOTE.value,
                    TicketRow.check_in_by < now,
                )
                .with_for_update()
            )
        )
        for row in rows:
            row.status, row.finished_at = TicketStatus.EXPIRED.value, now
            ledger.append(s, hall.id, "expired", now, ticket=row)
            events.append(TicketChanged(hall.id, row.id))
    return events


def remind(ctx: Context, hall_id: str) -> int:
    """`appointment.reminder` once for each booked appointment of tomorrow (hall-local), from the day before."""
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    tomorrow = (hall.local(now).date() + timedelta(days=1)).isoformat()
    a = AppointmentRow.__table__.c
    count = 0
    with ctx.db.write() as s:
        rows = list(
            s.scalars(
                select(AppointmentRow)
                .where(
                    a.hall_id == hall.id,
                    a.status == AppointmentStatus.BOOKED,
                    a.reminded_at.is_(None),
                    or_(a.day == tomorrow, and_(a.start > now, a.day <= tomorrow)),
                )
                .with_for_update()
            )
        )
        for row in rows:
            row.reminded_at = now
            data = {**_event_data(hall, row), "code": row.code, "phone": row.phone}
            outbox.emit(s, hall, "appointment.reminder", data, now, subject=row.id)
            count += 1
    return count


def near_front(ctx: Context, hall_id: str) -> int:
    """One `ticket.near_front` for each waiting or remote ticket with a phone once `ahead` <= near_ahead."""
    hall = ctx.hall(hall_id)
    if not hall.wants("ticket.near_front"):
        return 0
    count = 0
    with ctx.db.write() as s:
        rows = list(
            s.scalars(
                select(TicketRow)
                .where(
                    TicketRow.hall_id == hall.id,
                    TicketRow.status.in_((TicketStatus.WAITING.value, TicketStatus.REMOTE.value)),
                    TicketRow.phone_hash.is_not(None),
                    TicketRow.near_at.is_(None),
                )
                .with_for_update()
            )
        )
        now = ctx.clock.now()
        served = served_services(list(queue.desks(s, hall).values())) if rows else set()
        for row in rows:
            if row.service_id not in served:  # nobody serves its queue now: never "about to be called" (v1.1)
                continue
            ahead = queue.ahead_count(s, row)
            if ahead > hall.near_ahead:
                continue
            row.near_at = now
            data = {"ticket": row.id, "number": row.number, "service": row.service_id, "ahead": ahead,
                    "status": row.status, "phone": row.phone, "code": row.remote_code}  # fmt: skip
            outbox.emit(s, hall, "ticket.near_front", data, now, subject=row.id)
            count += 1
    return count


def purge(ctx: Context, hall_id: str) -> int:
    """Personal data of appointments and remote tickets older than `personal_data_days`: erased."""
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    before = (hall.local(now).date() - timedelta(days=hall.personal_data_days)).isoformat()
    a = AppointmentRow.__table__.c
    t = TicketRow.__table__.c
    with ctx.db.write() as s:
        done = s.connection().execute(
            update(_table(AppointmentRow))
            .where(a.hall_id == hall.id, a.day < before, a.purged_at.is_(None))
            .values(name=None, phone=None, id_masked=None, purged_at=now)
        )
        s.connection().execute(
            update(_table(TicketRow))
            .where(t.hall_id == hall.id, t.day < before, t.phone.is_not(None))
            .values(phone=None)
        )
        b = PersonBlockRow.__table__.c
        s.connection().execute(
            update(_table(PersonBlockRow))
            .where(b.hall_id == hall.id, b.until < now - timedelta(days=hall.personal_data_days))
            .values(id_masked=None, phone_masked=None)
        )
        count = int(done.rowcount or 0)
        if count:
            ledger.insert(s, hall.id, "personal_data_purged", now, appointments=count, before=before)
    return count


# -- staff: blocks and the day's bookings ----------------------------------------------------------------


def blocks(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    hall = ctx.hall(hall_id)
    now = ctx.clock.now()
    b = PersonBlockRow.__table__.c
    with ctx.db.read() as s:
        rows = s.connection().execute(
            select(PersonBlockRow.__table__).where(b.hall_id == hall.id, b.lifted_at.is_(None), b.until > now)
            .order_by(b.since)
        )  # fmt: skip
        return [
            {"id": r.id, "service": r.service_id, "id_number": r.id_masked, "phone": r.phone_masked,
             "misses": r.misses, "since": _iso(hall, _aware(r.since)), "until": _iso(hall, _aware(r.until))}
            for r in rows
        ]  # fmt: skip


def lift_block(ctx: Context, block_id: str, who: str | None, reason: str, hall_id: str | None) -> dict[str, Any]:
    reason = (reason or "").strip()
    if not reason:
        raise invalid("a reason is required to lift a block", "reason_required")
    if not (block_id.isascii() and block_id.isdigit()) or len(block_id) > 12:  # not "²" nor "١"
        raise not_found("block", block_id)
    with ctx.db.write() as s:
        row = s.get(PersonBlockRow, int(block_id), with_for_update=True)
        if row is None or (hall_id is not None and row.hall_id != hall_id):
            raise not_found("block", block_id)
        if row.lifted_at is not None:
            raise HallError("already_lifted", 409, "this block was lifted already")
        now = ctx.clock.now()
        row.lifted_at, row.lifted_by, row.lift_reason = now, who, reason[:200]
        ledger.insert(s, row.hall_id, "block_lifted", now, clerk=who, block=row.id, reason=reason[:200])
        hall = ctx.hall(row.hall_id)
        return {"id": row.id, "lifted_at": _iso(hall, now), "lifted_by": who, "reason": row.lift_reason}


def day_list(ctx: Context, hall_id: str, day: date, services: set[str] | None = None) -> list[dict[str, Any]]:
    """The day's appointments for staff (name and phone in full), in slot order."""
    hall = ctx.hall(hall_id)
    a = AppointmentRow.__table__.c
    with ctx.db.read() as s:
        statement = select(AppointmentRow).where(a.hall_id == hall.id, a.day == day.isoformat()).order_by(a.start)
        if services is not None:
            statement = statement.where(a.service_id.in_(list(services)))
        rows = list(s.scalars(statement))
        t = TicketRow.__table__.c
        ids = [r.ticket_id for r in rows if r.ticket_id]
        found = {x.id: x for x in s.connection().execute(select(t.id, t.number, t.status).where(t.id.in_(ids)))}
        return [describe(hall, r, found.get(r.ticket_id or ""), full=True) for r in rows]
