"""Unauthenticated calls: health, the hall's catalogue, kiosks taking tickets, residents' pages."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from server.engine.errors import HallError
from server.services import halls, ratings, tickets

from . import api
from .body import Field, json_object, parse
from .guard import hq


@api.get("/health")
def health() -> Any:
    if hq().ctx.db.ping():
        return jsonify(status="ok")
    return jsonify(status="degraded", database="unreachable"), 503


@api.get("/halls")
def list_halls() -> Any:
    return jsonify(halls.halls(hq().ctx))


@api.get("/halls/<hall>/services")
def list_services(hall: str) -> Any:
    return jsonify(halls.services(hq().ctx, hall))


@api.get("/halls/<hall>/counters")
def list_counters(hall: str) -> Any:
    return jsonify(halls.counters(hq().ctx, hall))


@api.get("/halls/<hall>/kiosks")
def list_kiosks(hall: str) -> Any:
    return jsonify(halls.kiosks(hq().ctx, hall, hq().printer_state))


TICKET_FIELDS = [
    Field("service", str, required=True, max_len=40),
    Field("priority", bool),
    Field("kiosk", str, max_len=40, nullable=True),
]


@api.post("/halls/<hall>/tickets")
def issue_ticket(hall: str) -> Any:
    app = hq()
    app.ctx.hall(hall)  # 404 before 422 for an unknown hall
    body = parse(json_object(), TICKET_FIELDS)
    key = f"kiosk:{body['kiosk']}" if body.get("kiosk") else f"addr:{request.remote_addr}"
    if not app.ticket_limiter.allow(key):
        raise HallError("rate_limited", 429, "too many tickets from this kiosk or address; try again shortly")
    issued, events = tickets.issue_ticket(
        app.ctx, hall, body["service"], body.get("priority", False), body.get("kiosk")
    )
    app.publisher.publish(events)
    row = issued.ticket
    track_url = app.track_url(issued.token)
    if body.get("kiosk"):
        app.print_ticket(body["kiosk"], issued, track_url)
    hall_def = app.ctx.hall(hall)
    return jsonify(
        id=row.id,
        number=row.number,
        service=row.service_id,
        status=row.status,
        priority=row.priority,
        ahead=issued.ahead,
        est_wait_s=issued.est_wait_s,
        served_now=issued.served_now,
        issued_at=hall_def.local(row.issued_at).isoformat(timespec="seconds"),
        track_url=track_url,
    ), 201


@api.get("/track/<token>")
def track(token: str) -> Any:
    return jsonify(tickets.track(hq().ctx, token))


RATING_FIELDS = [Field("level", int, required=True), Field("comment", str, max_len=ratings.MAX_COMMENT, nullable=True)]


@api.post("/track/<token>/rating")
def rate(token: str) -> Any:
    app = hq()
    with app.ctx.db.read() as s:
        tickets.find_by_token(s, token)  # 404 for an unknown token before anything else
    body = parse(json_object(), RATING_FIELDS)
    if not app.rating_limiter.allow(f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many ratings from this address; try again shortly")
    result, events = ratings.rate(app.ctx, token, body["level"], body.get("comment"))
    app.publisher.publish(events)
    return jsonify(result), 201
