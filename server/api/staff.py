"""Staff calls: counter actions (that counter's token, its hall's staff, or an admin) and managers' reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify

from server.auth import Principal
from server.printing import receipt_slip
from server.services import counters, desk, matters, notices, ratings, views
from server.services.counters import Result
from server.services.notice_print import NOT_PRINTED, Printed

from . import api
from .body import read_body
from .guard import clerk_name, hq, person, require_counter, require_counter_action, require_manager
from .route import F, operation
from .shapes import answers as a
from .shapes.bodies import AwayRequest, ComplaintNote, FinishRequest, NoBody, SignInRequest, TransferRequest


def _answer(result: Result, printed: Printed | None = None, receipt: Printed | None = None) -> Any:
    hall = result.hall
    ticket = views.ticket(hall, result.ticket) if result.ticket is not None else None
    body: dict[str, Any] = {"counter": views.counter(result.counter, result.counter_row), "ticket": ticket}
    if ticket is not None and result.matter is not None:  # PROTOCOL v1.2: a promised matter accepted
        ticket["matter"] = matters.brief(hall, result.matter)
        # its receipt slip (受理回执): where it printed, as the notice says it
        body["receipt"] = {"number": result.matter.number, **(receipt.fields() if receipt is not None else NOT_PRINTED)}
    if result.notice is not None:  # finish as incomplete wrote a 一次性告知 notice
        body["notice"] = {
            "code": notices.shown(result.notice.code),
            "missing": list(result.notice.missing),
            **(printed.fields() if printed is not None else NOT_PRINTED),
        }
    return jsonify(body)


def _authorize(counter: str, signed_in: bool = True, *, in_action: bool = False) -> Principal:
    """404 for an unknown counter, then 401/403: both before the body is looked at.

    Every counter action passes here: a logged-in person must be the clerk signed in at the counter
    (guard.require_counter_action); only signing in and out (`signed_in` false) need not be.
    `in_action`: the action that follows (through `_run`) checks the bearer token's revocation in its own
    transaction, so a token verified once in this process is not read again here.
    """
    hall, _ = hq().ctx.counter(counter)
    if signed_in:
        return require_counter_action(hall.id, counter, revocation_checked_later=in_action)
    return require_counter(hall.id, counter)


def _run(counter: str, p: Principal, action: Callable[..., tuple[Result, list[Any]]], *args: Any) -> Any:
    """Run a counter action; the bearer token (if any) is checked inside its transaction (services.counters)."""
    app = hq()
    result, events = action(app.ctx, counter, clerk_name(p), *args, token=p.token_id)
    app.publisher.publish(events)
    return _answer(result)


def _simple(counter: str, action: Callable[..., tuple[Result, list[Any]]]) -> Any:
    """An action without a body (an empty body or {} is accepted)."""
    p = _authorize(counter, in_action=True)
    read_body(NoBody)
    return _run(counter, p, action)


def counter_action(
    action: str, conflicts: str = "no_ticket or wrong_status: the counter holds no ticket fit for this", **kw: Any
) -> Callable[[F], F]:
    """POST /counters/{counter}/ACTION: answers the counter and the ticket it now holds or touched."""
    kw.setdefault("body", NoBody)
    kw.setdefault("body_required", kw["body"] is not NoBody)
    errors = {
        403: "forbidden: this credential may not act for that counter; csrf_failed for a session without"
        " X-CSRF-Token; not_signed_in: a logged-in clerk acts only at the counter they are signed in at",
        404: "not_found: unknown counter",
        409: conflicts,
        **kw.pop("errors", {}),
    }
    return operation(
        api, "post", f"/counters/<counter>/{action}", ok=a.CounterAnswer, tag="counters", secured=True,
        ok_description="the counter and the ticket it now holds or touched", errors=errors, **kw,
    )  # fmt: skip


@operation(api, "get", "/counters/<counter>", ok=a.CounterAnswer, tag="counters", secured=True,
           ok_description="the counter and its held ticket")  # fmt: skip
def counter_state(counter: str) -> Any:
    """A counter and the ticket it holds (for a counter page or call button after a restart)."""
    app = hq()
    hall, _ = app.ctx.counter(counter)
    require_counter(hall.id, counter)
    return _answer(counters.current(app.ctx, counter))


@counter_action("open", conflicts="counter_away: the counter is away; use back")
def open_counter(counter: str) -> Any:
    """Open the counter."""
    return _simple(counter, counters.open_counter)


@counter_action(
    "close", conflicts="ticket_in_progress: finish, transfer or no-show the held ticket first;"
    " covering: the away partner must come back first (不得空岗)",
)  # fmt: skip
def close_counter(counter: str) -> Any:
    """Close the counter."""
    return _simple(counter, counters.close_counter)


@counter_action("call-next", conflicts="ticket_in_progress, or counter_not_open")
def call_next(counter: str) -> Any:
    """Call the next ticket (ticket null when none waits)."""
    return _simple(counter, counters.call_next)


@counter_action("recall")
def recall(counter: str) -> Any:
    """Announce the held ticket again."""
    return _simple(counter, counters.recall)


@counter_action("start")
def start(counter: str) -> Any:
    """Start serving the held ticket."""
    return _simple(counter, counters.start)


@counter_action("finish", body=FinishRequest)
def finish(counter: str) -> Any:
    """Finish the held ticket."""
    p = _authorize(counter, in_action=True)
    body = read_body(FinishRequest)
    app = hq()
    result, events = counters.finish(
        app.ctx, counter, clerk_name(p), body.outcome.value, body.note, body.missing, token=p.token_id
    )
    app.publisher.publish(events)
    printed = receipt = None
    if result.notice is not None and body.print_notice:
        printed = app.print_notice(result.hall, result.counter, notices.show(app.ctx, result.notice.code))
    if result.matter is not None and result.receipt_token is not None and body.print_receipt:
        facts = matters.receipt(result.hall, result.matter, result.ticket, app.track_url(result.receipt_token))
        receipt = app.print_slip(result.hall, result.counter, receipt_slip(facts))
    return _answer(result, printed, receipt)


@counter_action("no-show")
def no_show(counter: str) -> Any:
    """The held ticket's resident did not come."""
    return _simple(counter, counters.no_show)


@counter_action(
    "transfer", body=TransferRequest,
    errors={404: "not_found: unknown counter, or unknown target service or counter of the hall"},
    conflicts="no_ticket or wrong_status; same_counter; counter_not_open: the target counter is not open"
    " and no partner covers it",
)  # fmt: skip
def transfer(counter: str) -> Any:
    """Send the held ticket to another service or counter."""
    p = _authorize(counter, in_action=True)
    body = read_body(TransferRequest)
    return _run(counter, p, counters.transfer, body.service, body.counter, body.reason)


@counter_action(
    "away", body=AwayRequest, body_required=False,
    conflicts="no_cover (the partner is not open), counter_not_open, or ticket_in_progress",
)  # fmt: skip
def away(counter: str) -> Any:
    """Step away; the partner counter covers."""
    p = _authorize(counter, in_action=True)
    body = read_body(AwayRequest)
    return _run(counter, p, counters.away, body.reason)


@counter_action("back", conflicts="counter_not_away")
def back(counter: str) -> Any:
    """Come back; the partner stops covering."""
    return _simple(counter, counters.back)


@operation(api, "get", "/counters/<counter>/desk", ok=a.Desk, tag="counters", secured=True,
           ok_description="the counter, its held ticket, its queue in call order and today's figures")  # fmt: skip
def counter_desk(counter: str) -> Any:
    """Everything the counter screen shows."""
    app = hq()
    hall, _ = app.ctx.counter(counter)
    p = require_counter(hall.id, counter)
    return jsonify(desk.snapshot(app.ctx, counter, clerk_name(p)))


@counter_action(
    "sign-in", body=SignInRequest, body_required=False,
    conflicts="counter_taken: another clerk is signed in there (send takeover)",
    errors={403: "forbidden: not allowed at this counter, or a token (it names no person: log in at /login)"},
)  # fmt: skip
def sign_in(counter: str) -> Any:
    """The logged-in clerk signs in at the counter (考勤)."""
    p = _authorize(counter, signed_in=False)
    body = read_body(SignInRequest)
    person()  # after the body: a token may act here, it just names nobody to sign in
    app = hq()
    result, events = desk.sign_in(app.ctx, counter, p.name, body.takeover)
    app.publisher.publish(events)
    return _answer(result)


@counter_action(
    "sign-out", conflicts="none",
    errors={403: "forbidden: not allowed at this counter, or a token (it names no person)"},
)  # fmt: skip
def sign_out(counter: str) -> Any:
    """The logged-in clerk signs out of the counter."""
    p = _authorize(counter, signed_in=False)
    read_body(NoBody)
    person()
    app = hq()
    app.publisher.publish(desk.sign_out(app.ctx, p.name, counter))
    return _answer(counters.current(app.ctx, counter))


def manager(rule: str, ok: Any, **kw: Any) -> Callable[[F], F]:
    """GET /halls/{hall}/...: complaints, ledger and reports, for a supervisor or an admin."""
    return operation(api, "get", rule, ok=ok, tag="reports", secured=True, **kw)


@manager("/halls/<hall>/complaints", list[a.Complaint], ok_description="complaints, newest first")
def complaints(hall: str) -> Any:
    """Complaint cases opened by bad ratings."""
    hq().ctx.hall(hall)
    p = require_manager(hall)
    # the call-back number in full for a supervisor (who calls back); masked for other callers (admin tokens)
    return jsonify(ratings.complaints(hq().ctx, hall, full_phone=p.role == "supervisor"))


def _complaint_step(action: str) -> Callable[[F], F]:
    return operation(
        api, "post", f"/complaints/<complaint>/{action}", ok=a.Complaint, tag="reports", secured=True,
        body=ComplaintNote, ok_description="the case after the step",
        errors={404: "not_found: unknown complaint", 409: "invalid_transition: the case's status does not allow it",
                422: "invalid_body or invalid_note"},
    )  # fmt: skip


def _step(complaint: str, action: str) -> Any:
    app = hq()
    hall_id = ratings.complaint_hall(app.ctx, complaint)
    p = require_manager(hall_id)
    body = read_body(ComplaintNote)
    result, events = ratings.handle(app.ctx, complaint, action, body.note, p.name, full_phone=p.role == "supervisor")
    app.publisher.publish(events)
    return jsonify(result)


@_complaint_step("verify")
def complaint_verify(complaint: str) -> Any:
    """The resident was called back (回访); the note says what they were told."""
    return _step(complaint, "verify")


@_complaint_step("resolve")
def complaint_resolve(complaint: str) -> Any:
    """The case is answered: the note says what was done; the resident sees it and may rate again."""
    return _step(complaint, "resolve")


@_complaint_step("dismiss")
def complaint_dismiss(complaint: str) -> Any:
    """The case is closed without a fix: the note says why."""
    return _step(complaint, "dismiss")
