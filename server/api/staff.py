"""Staff calls: counter actions (that counter's token, its hall's staff, or an admin) and managers' reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify

from server.auth import Principal
from server.services import counters, halls, ratings, views
from server.services.counters import Result

from . import api
from .body import Field, json_object, parse, string_list
from .guard import clerk_name, hq, require_counter, require_manager


def _answer(result: Result) -> Any:
    hall = result.hall
    ticket = views.ticket(hall, result.ticket) if result.ticket is not None else None
    return jsonify(counter=views.counter(result.counter, result.counter_row), ticket=ticket)


def _authorize(counter: str) -> Principal:
    """404 for an unknown counter, then 401/403: both before the body is looked at."""
    hall, _ = hq().ctx.counter(counter)
    return require_counter(hall.id, counter)


def _run(counter: str, p: Principal, action: Callable[..., tuple[Result, list[Any]]], *args: Any) -> Any:
    app = hq()
    result, events = action(app.ctx, counter, clerk_name(p), *args)
    app.publisher.publish(events)
    return _answer(result)


def _simple(counter: str, action: Callable[..., tuple[Result, list[Any]]]) -> Any:
    """An action without a body (an empty body or {} is accepted)."""
    p = _authorize(counter)
    parse(json_object(optional=True), [])
    return _run(counter, p, action)


@api.get("/counters/<counter>")
def counter_state(counter: str) -> Any:
    """The counter and the ticket it holds (for a counter page or call button after a restart)."""
    app = hq()
    hall, _ = app.ctx.counter(counter)
    require_counter(hall.id, counter)
    return _answer(counters.current(app.ctx, counter))


@api.post("/counters/<counter>/open")
def open_counter(counter: str) -> Any:
    return _simple(counter, counters.open_counter)


@api.post("/counters/<counter>/close")
def close_counter(counter: str) -> Any:
    return _simple(counter, counters.close_counter)


@api.post("/counters/<counter>/call-next")
def call_next(counter: str) -> Any:
    return _simple(counter, counters.call_next)


@api.post("/counters/<counter>/recall")
def recall(counter: str) -> Any:
    return _simple(counter, counters.recall)


@api.post("/counters/<counter>/start")
def start(counter: str) -> Any:
    return _simple(counter, counters.start)


FINISH_FIELDS = [
    Field("outcome", str, required=True, max_len=20),
    Field("note", str, max_len=1000, nullable=True),
    Field("missing", list, max_len=30, nullable=True),
]


@api.post("/counters/<counter>/finish")
def finish(counter: str) -> Any:
    p = _authorize(counter)
    body = parse(json_object(), FINISH_FIELDS)
    missing = string_list(body["missing"], "missing") if body.get("missing") is not None else None
    return _run(counter, p, counters.finish, body["outcome"], body.get("note"), missing)


@api.post("/counters/<counter>/no-show")
def no_show(counter: str) -> Any:
    return _simple(counter, counters.no_show)


AWAY_FIELDS = [Field("reason", str, max_len=200, nullable=True)]
TRANSFER_FIELDS = [
    Field("service", str, max_len=40),
    Field("counter", str, max_len=40),
    Field("reason", str, max_len=200, nullable=True),
]


@api.post("/counters/<counter>/transfer")
def transfer(counter: str) -> Any:
    p = _authorize(counter)
    body = parse(json_object(), TRANSFER_FIELDS)
    return _run(counter, p, counters.transfer, body.get("service"), body.get("counter"), body.get("reason"))


@api.post("/counters/<counter>/away")
def away(counter: str) -> Any:
    p = _authorize(counter)
    body = parse(json_object(optional=True), AWAY_FIELDS)
    return _run(counter, p, counters.away, body.get("reason"))


@api.post("/counters/<counter>/back")
def back(counter: str) -> Any:
    return _simple(counter, counters.back)


@api.get("/halls/<hall>/complaints")
def complaints(hall: str) -> Any:
    hq().ctx.hall(hall)
    require_manager(hall)
    return jsonify(ratings.complaints(hq().ctx, hall))


@api.get("/halls/<hall>/display")
def display_snapshot(hall: str) -> Any:
    """The display's snapshot over HTTP, for LED signs that do not speak Socket.IO."""
    return jsonify(halls.display_snapshot(hq().ctx, hall))
