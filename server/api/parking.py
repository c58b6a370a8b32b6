"""PROTOCOL v1.2 staff calls: a named call (指呼), park (挂起) and resume at a counter; a supervisor's cancel and
reactivate; a ticket's history. Counter actions go through the same guard as every other one (staff._authorize).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify

from server.auth import Principal
from server.engine.errors import HallError
from server.engine.events import CounterChanged
from server.services import counters, help_calls, parking, views

from . import api
from .body import read_body
from .guard import clerk_name, hq, principal, require_counter, require_manager
from .route import F, operation
from .shapes import answers as a
from .shapes.bodies import CorrectionRequest, NamedCallRequest, NoBody, ParkRequest, ResumeRequest
from .staff import _answer, _authorize, _run, counter_action


@counter_action(
    "call", body=NamedCallRequest,
    errors={
        403: "forbidden: the ticket's service (or named counter) is not this counter's, and the caller is a"
        " counter or clerk; or the ticket belongs to another hall",
        404: "not_found: unknown counter, or no such ticket",
        422: "invalid_reason: no reason; invalid_body",
    },
    conflicts="not_waiting: the ticket is not waiting; ticket_in_progress; counter_not_open",
)  # fmt: skip
def named_call(counter: str) -> Any:
    """Call a named waiting ticket out of order (指呼)."""
    # PROTOCOL v1.2: a supervisor or admin calls for any counter (from /admin), signed in there or not;
    # a clerk's login still acts only where it is signed in.
    hall, _ = hq().ctx.counter(counter)
    p = require_counter(hall.id, counter)
    if not p.is_manager:
        p = _authorize(counter)
    body = read_body(NamedCallRequest)
    return _run(counter, p, parking.named_call, body.ticket, body.reason, p.is_manager, body.number)


@counter_action(
    "park", body=ParkRequest,
    conflicts="no_ticket or wrong_status: the counter holds no called or serving ticket",
)  # fmt: skip
def park(counter: str) -> Any:
    """Park (挂起) the held ticket; the counter is free."""
    p = _authorize(counter, in_action=True)
    body = read_body(ParkRequest)
    return _run(counter, p, parking.park, body.kind, body.note)


@counter_action(
    "resume", body=ResumeRequest,
    errors={
        403: "forbidden: the ticket comes back to another counter, or belongs to another hall",
        404: "not_found: unknown counter or ticket",
    },
    conflicts="not_parked: the ticket is not parked; ticket_in_progress; counter_not_open",
)  # fmt: skip
def resume(counter: str) -> Any:
    """Call a parked ticket again at this counter."""
    p = _authorize(counter, in_action=True)
    body = read_body(ResumeRequest)
    return _run(counter, p, parking.resume, body.ticket, p.is_manager)


def _correction(action: str) -> Callable[[F], F]:
    return operation(
        api, "post", f"/tickets/<ticket>/{action}", ok=a.Ticket, tag="tickets", secured=True,
        body=CorrectionRequest, ok_description="the ticket after the correction",
        errors={
            403: "forbidden: supervisors and admins of the ticket's hall only",
            404: "not_found: unknown ticket",
            409: "wrong_status: the ticket's status does not allow it; not_today: reactivate a ticket of today only",
            422: "invalid_reason: no reason; invalid_body",
        },
    )  # fmt: skip


def _correct(ticket: str, use_case: Any) -> Any:
    app = hq()
    hall = parking.ticket_hall(app.ctx, ticket)
    p = require_manager(hall.id)
    body = read_body(CorrectionRequest)
    done, events = use_case(app.ctx, ticket, p.name, body.reason)
    app.publisher.publish(events)
    return jsonify(views.ticket(done.hall, done.ticket))


@_correction("cancel")
def cancel_ticket(ticket: str) -> Any:
    """Cancel a waiting or parked ticket (supervisor or admin)."""
    return _correct(ticket, parking.cancel)


@_correction("reactivate")
def reactivate_ticket(ticket: str) -> Any:
    """A no-show, cancelled or expired ticket of today waits again in its original place."""
    return _correct(ticket, parking.reactivate)


def _staff_of(p: Principal, hall_id: str) -> bool:
    """Staff of the hall: its counter tokens, clerks, supervisors and admins (a kiosk is not staff)."""
    return p.role in ("counter", "clerk", "supervisor", "admin") and p.hall in (None, hall_id)


@operation(
    api, "get", "/tickets/<ticket>/history", ok=list[a.HistoryLine], tag="tickets", secured=True,
    ok_description="every ledger line of the ticket, in order",
    errors={403: "forbidden: not staff of the ticket's hall", 404: "not_found: unknown ticket"},
)  # fmt: skip
def ticket_lines(ticket: str) -> Any:
    """A ticket's history: who did what to it, where and why."""
    app = hq()
    hall = parking.ticket_hall(app.ctx, ticket)
    if not _staff_of(principal(), hall.id):
        raise HallError("forbidden", 403, "staff of the ticket's hall only")
    return jsonify(parking.history(app.ctx, ticket))


# -- 求助 (issue 24) ------------------------------------------------------------------------------------


@counter_action("help", conflicts="none: asking again while a request is open changes nothing")
def ask_help(counter: str) -> Any:
    """求助: call a supervisor to this counter (an alert on /admin, live)."""
    p = _authorize(counter)
    read_body(NoBody)
    app = hq()
    hall, _ = app.ctx.counter(counter)
    alert = help_calls.ask(app.ctx, counter, clerk_name(p) or counters.current(app.ctx, counter).counter_row.clerk)
    app.publisher.alert_changed(hall.id, alert)
    app.publisher.publish([CounterChanged(hall.id, counter)])
    return _answer(counters.current(app.ctx, counter))


@operation(
    api, "post", "/alerts/<alert>/acknowledge", ok=a.Alert, tag="reports", secured=True, body=NoBody,
    body_required=False, ok_description="the help request, now cleared (acknowledged_by in its detail)",
    errors={
        403: "forbidden: supervisors and admins of the alert's hall only",
        404: "not_found: no such help request",
        409: "already_acknowledged",
    },
)  # fmt: skip
def acknowledge_help(alert: str) -> Any:
    """A supervisor acknowledges a counter's 求助."""
    app = hq()
    if not alert.isascii() or not alert.isdigit() or len(alert) > 12:
        raise HallError("not_found", 404, "no such help request")
    hall = help_calls.alert_hall(app.ctx, int(alert))
    p = require_manager(hall.id)
    read_body(NoBody)
    body = help_calls.acknowledge(app.ctx, int(alert), p.name)
    app.publisher.alert_changed(hall.id, body)
    counter = (body.get("detail") or {}).get("counter")
    if counter:
        app.publisher.publish([CounterChanged(hall.id, counter)])
    return jsonify(body)
