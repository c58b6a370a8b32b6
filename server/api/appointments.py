"""Appointments (预约服务) and check-in (PROTOCOL v1.2): residents book without a credential; staff book on
the staff share, see the day's list and lift no-show blocks."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, session

from server.auth import Principal
from server.engine.errors import HallError
from server.services import appointments, tickets

from . import api
from .body import read_body, read_query
from .guard import hq, optional_principal, principal, require_kiosk, require_manager
from .route import operation
from .shapes import answers as a
from .shapes.bodies import AppointmentRequest, CheckInRequest, DayQuery, LiftRequest, SlotsQuery


def staff_of(hall_id: str) -> Principal | None:
    """The caller when it is staff of this hall (a counter token, a clerk, a supervisor or an admin); None for
    a resident. A credential that is sent but wrong is 401, one of another hall 403."""
    if not request.headers.get("Authorization") and not session.get("user"):
        return None
    p = principal()
    if p.role == "kiosk":
        return None
    if p.hall not in (None, hall_id):
        raise HallError("forbidden", 403, "staff of another hall")
    return p


def _who(p: Principal | None) -> str | None:
    if p is None:
        return None
    return p.name if p.role != "counter" else f"counter:{p.counter}"


@operation(
    api, "get", "/halls/<hall>/services/<service>/slots", ok=list[a.Slot], tag="appointments", query=SlotsQuery,
    ok_description="the bookable slots with their free places",
    errors={401: None, 403: None, 404: "not_found: unknown hall or service",
            422: "invalid_query: a bad date, or a range over 31 days (or inverted)"},
)  # fmt: skip
def list_slots(hall: str, service: str) -> Any:
    """The slots of a service inside its booking window (public share; both shares for staff)."""
    ctx = hq().ctx
    ctx.service(ctx.hall(hall), service)
    q = read_query(SlotsQuery)
    staff = staff_of(hall)
    return jsonify(appointments.slots(ctx, hall, service, q.first, q.last, staff is not None))


@operation(
    api, "post", "/halls/<hall>/appointments", ok=a.Booked, status=201, tag="appointments", body=AppointmentRequest,
    ok_description="the booking, with its code and the resident's page",
    errors={
        401: None, 403: "forbidden: `channel` without a staff credential",
        404: "not_found: unknown hall or service",
        409: "slot_full; booking_limit (per person: by ID number and by phone); blocked (no-show rule, `until` in"
        " the error body); no_appointments",
        422: "invalid_body, unknown_field; invalid_id_number (length or check digit); invalid_phone; invalid_name;"
        " invalid_start; invalid_slot (no slot starts then); outside_window (past, or outside the booking window)",
        429: None,
    },
)  # fmt: skip
def book(hall: str) -> Any:
    """Book an appointment (预约)."""
    app = hq()
    app.ctx.hall(hall)
    body = read_body(AppointmentRequest)
    staff = staff_of(hall)
    if staff is None and not app.ticket_limiter.allow(f"book:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many bookings from this address; try again shortly")
    answer, events = appointments.book(
        app.ctx, hall, body.service, body.start, body.name, body.phone, body.id_number, app.track_base(),
        staff=_who(staff), channel=body.channel if staff is not None else body.channel,
    )  # fmt: skip
    app.after_commit(events)
    return jsonify(answer), 201


@operation(api, "get", "/appointments/<code>", ok=a.Appointment, tag="appointments",
           errors={404: "not_found: unknown code", 429: None},
           ok_description="the booking, name, phone and ID number masked")  # fmt: skip
def show_appointment(code: str) -> Any:
    """An appointment by its code."""
    code_tried()
    return jsonify(appointments.show(hq().ctx, code))


def code_tried() -> None:
    """An appointment code sent without a staff credential counts against its address (429 beyond `[server.limits]
    codes_per_minute`): the code alone shows and cancels a booking, so it must not be guessed."""
    if optional_principal() is not None:
        return
    if not hq().code_limiter.allow(f"code:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many booking codes from this address; try again shortly")


@operation(
    api, "delete", "/appointments/<code>", ok=a.Appointment, tag="appointments",
    ok_description="the booking, now cancelled; its place is free again",
    errors={401: "unauthorized: a credential sent that is not valid (none is needed: the code cancels)",
            404: "not_found: unknown code", 409: "too_late_to_cancel; not_booked (checked in, cancelled or missed)",
            429: None},
)  # fmt: skip
def cancel_appointment(code: str) -> Any:
    """Cancel an appointment."""
    p = None
    if request.headers.get("Authorization") or session.get("user"):
        p = principal()
    else:
        code_tried()
    return jsonify(appointments.cancel(hq().ctx, code, _who(p)))


@operation(
    api, "post", "/halls/<hall>/check-in", ok=a.IssuedTicket, status=201, tag="appointments", body=CheckInRequest,
    ok_description="the ticket (an appointment's new ticket, or the remote ticket now waiting) and `appointment`",
    errors={
        403: "forbidden: names a kiosk without that kiosk's credential",
        404: "not_found: unknown hall, code or kiosk",
        409: "too_early (`opens_at` in the error body); appointment_expired (the kiosk offers an ordinary ticket);"
        " already_checked_in (`number` in the error body); appointment_cancelled",
        422: "invalid_body, unknown_field",
        429: None,
    },
)  # fmt: skip
def check_in(hall: str) -> Any:
    """Check in with an appointment's or a remote ticket's code (我有预约)."""
    app = hq()
    hall_def = app.ctx.hall(hall)
    body = read_body(CheckInRequest)
    if body.kiosk:
        require_kiosk(body.kiosk)
        app.ctx.kiosk(hall_def, body.kiosk)
    if not app.ticket_limiter.allow(f"kiosk:{body.kiosk}" if body.kiosk else f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many check-ins from this kiosk or address; try again shortly")
    issued, code, events = appointments.check_in(app.ctx, hall, body.code, body.kiosk, app.track_base())
    app.after_commit(events, print_hint=(issued.ahead, issued.est_wait_s, issued.served_now))
    extra: dict[str, Any] = {"appointment": code}
    if issued.ticket.appointment_at is not None:  # the slip and the kiosk say 预约 and the booked time
        extra["appointment_start"] = hall_def.local(issued.ticket.appointment_at).isoformat(timespec="seconds")
    return jsonify(ticket_answer(app.ctx, hall_def, issued, app.track_url(issued.token), **extra)), 201


def ticket_answer(ctx: Any, hall: Any, issued: Any, track_url: str, **extra: Any) -> dict[str, Any]:
    """The answer of POST .../tickets, for a remote ticket and a check-in too (every field IssuedTicket has)."""
    row = issued.ticket
    body: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "service": row.issued_service,
        "status": row.status,
        "priority": row.priority,
        "ahead": issued.ahead,
        "est_wait_s": issued.est_wait_s,
        "served_now": issued.served_now,
        **tickets.issued_opening(ctx, issued),
        "issued_at": hall.local(row.issued_at).isoformat(timespec="seconds"),
        "track_url": track_url,
    }
    if row.remote_code and row.status == "remote":
        body["code"] = row.remote_code
        body["check_in_by"] = hall.local(row.check_in_by).isoformat(timespec="seconds")
    body.update(extra)
    return body


@operation(
    api, "get", "/halls/<hall>/appointments", ok=list[a.Appointment], tag="appointments", query=DayQuery,
    secured=True, ok_description="the day's appointments in slot order, name and phone in full (staff)",
    errors={401: None, 403: None, 404: "not_found: unknown hall", 422: "invalid_query"},
)  # fmt: skip
def day_appointments(hall: str) -> Any:
    """The day's appointments (staff of the hall)."""
    app = hq()
    app.ctx.hall(hall)
    if staff_of(hall) is None:
        if g.get("principal") is not None:  # a kiosk's credential: valid, and not staff
            raise HallError("forbidden", 403, "the hall's staff only")
        raise HallError("unauthorized", 401, "log in or send a bearer token")
    q = read_query(DayQuery)
    return jsonify(appointments.day_list(app.ctx, hall, q.date))


@operation(api, "get", "/halls/<hall>/blocks", ok=list[a.Block], tag="appointments", secured=True,
           ok_description="people blocked from booking by the no-show rule",
           errors={401: None, 403: None, 404: "not_found: unknown hall"})  # fmt: skip
def list_blocks(hall: str) -> Any:
    """People blocked by the no-show rule (supervisor or admin)."""
    hq().ctx.hall(hall)
    require_manager(hall)
    return jsonify(appointments.blocks(hq().ctx, hall))


@operation(
    api, "post", "/halls/<hall>/blocks/<block>/lift", ok=a.Lifted, tag="appointments", body=LiftRequest,
    secured=True, ok_description="the block, lifted",
    errors={401: None, 403: None, 404: "not_found: unknown hall or block", 409: "already_lifted",
            422: "reason_required: a blank reason; invalid_body"},
)  # fmt: skip
def lift_block(hall: str, block: str) -> Any:
    """Lift a no-show block, with the reason (supervisor or admin)."""
    hq().ctx.hall(hall)
    p = require_manager(hall)
    body = read_body(LiftRequest)  # a bad body is refused before the block is looked up
    return jsonify(appointments.lift_block(hq().ctx, block, p.name, body.reason, hall))
