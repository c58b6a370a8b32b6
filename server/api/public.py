"""Unauthenticated calls: health, the hall's catalogue, kiosks taking tickets, residents' pages."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request

from server.auth import forget_token
from server.engine.errors import HallError
from server.services import appointments, halls, notices, ratings, tickets

from . import api
from . import appointments as appointment_api
from .body import read_body
from .guard import hq, optional_principal, require_kiosk
from .route import operation
from .shapes import answers as a
from .shapes.bodies import FollowUpRequest, RatingRequest, TicketRequest


@operation(api, "get", "/health", ok=a.Health, tag="meta", ok_description="up",
           answers={503: ("degraded: the database is unreachable", a.Degraded)})  # fmt: skip
def health() -> Any:
    """Is the server and its database up."""
    if hq().ctx.db.ping():
        return jsonify(status="ok")
    return jsonify(status="degraded", database="unreachable"), 503


@operation(api, "get", "/halls", ok=list[a.Hall], tag="halls", ok_description="every hall")
def list_halls() -> Any:
    """The halls this server runs."""
    return jsonify(halls.halls(hq().ctx))


@operation(api, "get", "/halls/<hall>/services", ok=list[a.Service], tag="halls")
def list_services(hall: str) -> Any:
    """The hall's services and their queues."""
    return jsonify(halls.services(hq().ctx, hall))


@operation(api, "get", "/halls/<hall>/counters", ok=list[a.Counter], tag="halls")
def list_counters(hall: str) -> Any:
    """The hall's counters and their states."""
    return jsonify(halls.counters(hq().ctx, hall))


@operation(api, "get", "/halls/<hall>/kiosks", ok=list[a.Kiosk], tag="halls")
def list_kiosks(hall: str) -> Any:
    """The hall's kiosks and their printers."""
    return jsonify(halls.kiosks(hq().ctx, hall, hq().printer_state))


@operation(api, "get", "/halls/<hall>/display", ok=a.DisplaySnapshot, tag="halls",
           ok_description="the latest calls and the waiting counts")  # fmt: skip
def display_snapshot(hall: str) -> Any:
    """What the waiting-area display shows (for LED signs without Socket.IO)."""
    return jsonify(halls.display_snapshot(hq().ctx, hall))


IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{16,64}$")
IDEMPOTENCY_HEADER = {
    "description": "one random key per tap (a UUID): the same key again answers the same ticket, never a second one",
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern},
}


def _idempotency_key() -> str | None:
    """The `Idempotency-Key` header: one random key per tap, so a double tap issues once."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise HallError("invalid_idempotency_key", 422, "Idempotency-Key is 16-64 letters, digits, '_', '-', '.', ':'")
    return key


@operation(
    api, "post", "/halls/<hall>/tickets", ok=a.IssuedTicket, status=201, tag="tickets", body=TicketRequest,
    ok_description="the new ticket (or, for an Idempotency-Key already used, the same answer again)",
    headers={"Idempotency-Key": IDEMPOTENCY_HEADER},
    errors={
        401: "unauthorized: a bearer token this server verified before and that was revoked since (nothing is "
        "issued, and an Idempotency-Key answered before is not answered again)",
        403: "forbidden: the body names a kiosk but the call carries neither that kiosk's bearer token nor the "
        "device cookie of a page enrolled for it (nothing is issued or printed); or `priority: true` from a caller "
        "with neither a kiosk nor a staff credential",
        404: "not_found: unknown hall, service or notice code, or a kiosk of another hall",
        409: "service_closed (outside opening hours, or disabled, or appointment-only), daily_limit (also: the share"
        " of tickets taken without a kiosk or staff credential is used up), or notice_used; remote tickets:"
        " remote_closed, booking_limit (one per phone per service per day)",
        422: "invalid_body, unknown_field; invalid_idempotency_key; idempotency_key_reused (a key already used "
        "with another body); invalid_phone",
        429: None,
    },
)  # fmt: skip
def issue_ticket(hall: str) -> Any:
    """Take a ticket (the kiosk's call)."""
    app = hq()
    hall_def = app.ctx.hall(hall)  # 404 before 422 for an unknown hall
    body = read_body(TicketRequest)
    if body.remote or body.phone is not None:  # PROTOCOL v1.2: 线上取号 from a phone
        return _issue_remote(hall_def, body)
    request_key = _idempotency_key()
    # A bearer token this process verified before is not read again here: the issue's own statement checks
    # that it was not revoked since (services.tickets), one read less on every kiosk's tap.
    token: str | None = None
    if body.kiosk:
        # PROTOCOL.md v1.1: naming a kiosk without its credential is 403, whether or not the kiosk exists
        # (no credential is that of an unknown kiosk); a kiosk's own credential in another hall is 404.
        token = require_kiosk(body.kiosk, revocation_checked_later=True)
        app.ctx.kiosk(hall_def, body.kiosk)
        caller = None
    else:
        caller = optional_principal(revocation_checked_later=True)
        token = caller.token_id if caller is not None else None
    # Anonymous: neither a kiosk nor staff. No priority on its own word, and its own share of the numbers.
    anonymous = not body.kiosk and caller is None
    if anonymous and body.priority:
        raise HallError("forbidden", 403, "priority tickets are issued at a kiosk or by staff; ask at the help desk")
    # The kiosk is verified by now, so a stranger naming it cannot spend its limit. A tap answered before is
    # answered again without counting: a kiosk retrying a lost answer is not a second ticket.
    limited = f"kiosk:{body.kiosk}" if body.kiosk else f"addr:{request.remote_addr}"
    try:
        if app.ticket_limiter.allow(limited):
            issued, events = tickets.issue_ticket(
                app.ctx, hall, body.service, body.priority, body.kiosk, app.track_base(), request_key=request_key,
                notice=body.notice, credential=token,
                anonymous_cap=app.ctx.config.settings.limits.anonymous_tickets_per_day if anonymous else None,
            )  # fmt: skip
            if issued.replayed:
                app.ticket_limiter.give_back(limited)
        else:  # over the limit: a verified kiosk's or staff's retry is still answered (strangers: 429, no read)
            earlier = None
            if not anonymous and request_key:
                earlier = tickets.answered_before(
                    app.ctx, hall, body.service, body.priority, body.kiosk, request_key, body.notice, token
                )
            if earlier is None:
                raise HallError("rate_limited", 429, "too many tickets from this kiosk or address; try again shortly")
            issued, events = earlier, []
    except HallError as e:
        if e.code == "unauthorized" and token is not None:
            forget_token(token)  # revoked since this process verified it: its next request is refused up front
        raise
    if not issued.replayed:  # a replayed tap answers its ticket again: no events, no second slip
        app.after_commit(events, print_hint=(issued.ahead, issued.est_wait_s, issued.served_now))
    row = issued.ticket
    track_url = app.track_url(issued.token)
    extra = {"repeat_of": row.repeat_of} if row.repeat_of else {}  # a return visit: the first visit's ticket id
    return jsonify(
        **extra,
        id=row.id,
        number=row.number,
        service=row.issued_service,
        status=row.status,
        priority=row.priority,
        ahead=issued.ahead,
        est_wait_s=issued.est_wait_s,
        served_now=issued.served_now,
        **tickets.issued_opening(app.ctx, issued),
        issued_at=hall_def.local(row.issued_at).isoformat(timespec="seconds"),
        track_url=track_url,
    ), 201


def _issue_remote(hall: Any, body: TicketRequest) -> Any:
    assert body.phone is not None  # TicketRequest refuses a remote ticket without its phone (and a phone without it)
    app = hq()
    if not app.ticket_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many tickets from this address; try again shortly")
    cap = app.ctx.config.settings.limits.anonymous_tickets_per_day  # a phone is no credential: the anonymous share
    issued, events = appointments.issue_remote(app.ctx, hall.id, body.service, body.phone, app.track_base(), cap)
    app.after_commit(events)
    return jsonify(appointment_api.ticket_answer(app.ctx, hall, issued, app.track_url(issued.token))), 201


@operation(api, "get", "/notices/<code>", ok=a.Notice, tag="tickets", errors={404: "not_found: unknown code"},
           ok_description="what the notice lists")  # fmt: skip
def notice(code: str) -> Any:
    """A 一次性告知 notice by the code printed on it."""
    return jsonify(notices.show(hq().ctx, code))


@operation(api, "get", "/track/<token>", ok=a.Track, tag="tickets", errors={404: "not_found: unknown token"},
           ok_description="the ticket's place in the queue")  # fmt: skip
def track(token: str) -> Any:
    """A resident's ticket."""
    return jsonify(tickets.track(hq().ctx, token))


@operation(
    api, "post", "/track/<token>/rating", ok=a.Rating, status=201, tag="tickets", body=RatingRequest,
    ok_description="the rating",
    errors={
        404: "not_found: unknown token",
        409: "already_rated; not_served before the ticket was finished; rating_closed after the rating window",
        422: "invalid_body, unknown_field, invalid_level for a level outside 1..5, invalid_tag, invalid_phone",
        429: None,
    },
)  # fmt: skip
def rate(token: str) -> Any:
    """Rate a served ticket (好差评)."""
    app = hq()
    with app.ctx.db.read() as s:
        tickets.find_by_token(s, token)  # 404 for an unknown token before anything else
    body = read_body(RatingRequest)
    if not app.rating_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many ratings from this address; try again shortly")
    result, events = ratings.rate(app.ctx, token, body.level, body.comment, body.tags, body.phone)
    app.publisher.publish(events)
    return jsonify(result), 201


@operation(
    api, "post", "/track/<token>/followup", ok=a.Rating, status=201, tag="tickets", body=FollowUpRequest,
    ok_description="the follow-up rating",
    errors={
        404: "not_found: unknown token",
        409: "no_answer before the complaint case was resolved; already_rated for a second follow-up",
        422: "invalid_body, unknown_field, or invalid_level",
        429: None,
    },
)  # fmt: skip
def follow_up(token: str) -> Any:
    """追评: rate once more after the complaint was answered."""
    app = hq()
    with app.ctx.db.read() as s:
        tickets.find_by_token(s, token)
    body = read_body(FollowUpRequest)
    if not app.rating_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many ratings from this address; try again shortly")
    result, events = ratings.follow_up(app.ctx, token, body.level, body.comment)
    app.publisher.publish(events)
    return jsonify(result), 201
