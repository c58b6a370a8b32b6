"""Matters that outlive the visit (办件, PROTOCOL v1.2): open, carry forward, list."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from server.auth import Principal, may_manage
from server.engine.errors import HallError
from server.printing import commission_slip, receipt_slip
from server.services import desk, exports, matters, tickets
from server.services.notice_print import NOT_PRINTED

from . import api
from .body import read_body, read_query
from .guard import clerk_name, hq, principal, require_kiosk, require_manager
from .route import operation
from .shapes import answers as a
from .shapes import matters as m


def _staff(hall_id: str) -> Principal:
    """Staff of the hall: a counter's token, a clerk, a supervisor or an admin (PROTOCOL v1.2)."""
    p = principal()
    if p.role == "kiosk" or (p.hall not in (None, hall_id) and hall_id not in p.halls):  # halls: a supervisor's
        raise HallError("forbidden", 403, "staff of this hall only")
    if p.role == "counter":
        found = hq().ctx.config.find_counter(p.counter or "")
        if found is None or found[0].id != hall_id:
            raise HallError("forbidden", 403, "staff of this hall only")
    return p


def _window_of(hall: Any, p: Principal) -> str | None:
    """The window a logged-in clerk is signed in at in this hall: it owns what they open there, so the matter
    counts in that window's 及时办结率 and deductions (None when they are signed in nowhere in this hall)."""
    if p.role == "counter" or not p.name:
        return None
    signed = desk.signed_in_at(hq().ctx, p.name)
    return signed if signed is not None and hall.counter(signed) is not None else None


@operation(api, "post", "/halls/<hall>/matters", ok=m.Matter, status=201, tag="matters", secured=True,
           body=m.MatterRequest, ok_description="the matter, accepted and owned by the caller",
           errors={404: "not_found: unknown hall or service"})  # fmt: skip
def open_matter(hall: str) -> Any:
    """Open a matter without a ticket: 全程代办 on a resident's behalf, or a home visit (上门服务)."""
    app = hq()
    app.ctx.hall(hall)
    p = _staff(hall)
    body = read_body(m.MatterRequest)
    row = matters.open_matter(
        app.ctx, hall, body.service,
        matters.Applicant(body.applicant.name, body.applicant.phone, body.applicant.id_number),
        proxy=body.proxy, home_visit=body.home_visit, note=body.note, clerk=clerk_name(p),
        counter=p.counter or _window_of(app.ctx.hall(hall), p),
    )  # fmt: skip
    return jsonify(matters.view(app.ctx.hall(hall), row, app.ctx.clock.now())), 201


@operation(api, "post", "/matters/<matter>/progress", ok=m.Matter, tag="matters", secured=True,
           body=m.ProgressRequest, ok_description="the matter after the step",
           errors={404: "not_found: unknown matter", 409: "bad_transition: not forward along its path"})  # fmt: skip
def progress_matter(matter: str) -> Any:
    """Carry a matter one step forward, or reject it (its owner, a supervisor or an admin)."""
    app = hq()
    hall_id, _ = matters.owner_of(app.ctx, matter)
    p = _staff(hall_id)
    body = read_body(m.ProgressRequest)
    who, device = (None, p.counter) if p.role == "counter" else (p.name, None)
    row, events = matters.progress(
        app.ctx, matter, body.status.value, body.note, who, manager=p.is_manager, counter=device
    )
    app.publisher.publish(events)
    return jsonify(matters.view(app.ctx.hall(hall_id), row, app.ctx.clock.now()))


@operation(api, "get", "/halls/<hall>/matters", ok=list[m.Matter], tag="matters", secured=True,
           query=m.MattersQuery, ok_description="the hall's matters, due soonest first",
           media={"text/csv": "the same as CSV, UTF-8 with a BOM (Chinese column labels)",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "the same as an XLSX workbook"},
           errors={422: "invalid_query: a bad status, day or format"})  # fmt: skip
def list_matters(hall: str) -> Any:
    """The hall's matters by status, overdue and acceptance day (supervisor or admin)."""
    app = hq()
    app.ctx.hall(hall)
    require_manager(hall)
    q = read_query(m.MattersQuery)
    overdue = None if q.overdue is None else q.overdue == "true"
    rows = matters.listing(app.ctx, hall, q.status, overdue, q.first, q.last, service=q.service, owner=q.owner)
    if q.format == "json":
        return jsonify(rows)
    columns, cells = matters.export_rows(app.ctx.hall(hall), rows)
    if q.format == "csv":
        response = Response(exports.table_csv(columns, cells), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    else:
        response = Response(exports.table_xlsx("matters", columns, cells), mimetype=exports.XLSX_MIME)
    response.headers["Content-Disposition"] = exports.disposition(f"matters-{hall}.{q.format}")
    return response


@operation(api, "post", "/matters/<matter>/owner", ok=m.Matter, tag="matters", secured=True,
           body=m.HandOverRequest, ok_description="the matter with its new owner",
           errors={404: "not_found: unknown matter", 409: "bad_transition: the matter is closed"})  # fmt: skip
def hand_over_matter(matter: str) -> Any:
    """Hand an open matter over to another clerk or window, with the reason (supervisor or admin)."""
    app = hq()
    hall_id, _ = matters.owner_of(app.ctx, matter)
    p = require_manager(hall_id)
    body = read_body(m.HandOverRequest)
    row = matters.hand_over(app.ctx, matter, body.owner, body.counter, body.reason, p.name)
    return jsonify(matters.view(app.ctx.hall(hall_id), row, app.ctx.clock.now()))


@operation(api, "post", "/halls/<hall>/pickups", ok=a.PickupTicket, status=201, tag="matters",
           body=m.PickupRequest, ok_description="a ticket (领取) for the window that owns the matter",
           errors={403: "forbidden: a kiosk named without its credential",
                   404: "not_found: unknown hall, or no matter with this case number or ticket",
                   409: "not_ready: the result is not ready (or already picked up); pickup_waiting: a 领取 ticket"
                        " for it already waits", 429: None})  # fmt: skip
def pick_up(hall: str) -> Any:
    """领取结果: a ticket to pick a matter's result up, sent to its owner window (no staff credential)."""
    app = hq()
    hall_def = app.ctx.hall(hall)
    body = read_body(m.PickupRequest)
    if body.kiosk:
        require_kiosk(body.kiosk)
        app.ctx.kiosk(hall_def, body.kiosk)
    if not app.ticket_limiter.allow(f"kiosk:{body.kiosk}" if body.kiosk else f"addr:{request.remote_addr}"):
        raise HallError("rate_limited", 429, "too many tickets from this kiosk or address; try again shortly")
    matter = matters.find_for_pickup(app.ctx, hall, body.case)
    issued, events = tickets.issue_ticket(
        app.ctx, hall, matter.service_id, False, body.kiosk, app.track_base(), pickup=matter.id
    )
    app.after_commit(events, print_hint=(issued.ahead, issued.est_wait_s, issued.served_now))
    row = issued.ticket
    return jsonify(
        id=row.id, number=row.number, service=row.issued_service, status=row.status, priority=row.priority,
        ahead=issued.ahead, est_wait_s=issued.est_wait_s, served_now=issued.served_now,
        **tickets.issued_opening(app.ctx, issued),
        issued_at=hall_def.local(row.issued_at).isoformat(timespec="seconds"), track_url=app.track_url(issued.token),
        matter=matters.brief(hall_def, matter),
    ), 201  # fmt: skip


@operation(api, "post", "/matters/<matter>/receipt", ok=a.ReceiptPrinted, tag="matters", secured=True,
           body=m.ReceiptRequest, ok_description="the receipt slip (受理回执) printed again, marked 补打, and where",
           errors={404: "not_found: unknown matter, or a counter not of its hall",
                   409: "bad_transition: the matter is closed; no_printer: neither the counter nor a kiosk of the"
                        " hall has a printer"})  # fmt: skip
def reprint_receipt(matter: str) -> Any:
    """Print a matter's receipt again (its owner, a supervisor or an admin); a new QR link replaces the old."""
    app = hq()
    hall_id, _ = matters.owner_of(app.ctx, matter)
    p = _staff(hall_id)
    body = read_body(m.ReceiptRequest)
    return jsonify(print_again(matter, p, body.counter))


@operation(api, "post", "/matters/<matter>/commission", ok=a.ReceiptPrinted, tag="matters", secured=True,
           body=m.ReceiptRequest, ok_description="the 代理服务委托书 printed as a slip, and where",
           errors={404: "not_found: unknown matter, or a counter not of its hall",
                   409: "no_commission: not a 全程代办 or home-visit matter; no_printer: neither the counter nor"
                        " a kiosk of the hall has a printer"})  # fmt: skip
def print_commission(matter: str) -> Any:
    """Print the 代理服务委托书 of a 全程代办 or home-visit matter as a slip to sign (its owner, a supervisor
    or an admin), where its receipt would print."""
    app = hq()
    hall_id, _ = matters.owner_of(app.ctx, matter)
    p = _staff(hall_id)
    body = read_body(m.ReceiptRequest)
    return jsonify(print_again(matter, p, body.counter, "commission"))


def print_again(matter: str, p: Principal, named: str | None, what: str = "receipt") -> dict[str, Any]:
    """Print a matter's receipt again (补打), or its commission (`what`), for `p` (its owner, a supervisor or
    an admin) on the counter named, else the caller's counter, the one the clerk is signed in at, or the owner
    window; a kiosk's printer when that counter has none. The answer's fields: number and where it printed."""
    app = hq()
    hall_id, _ = matters.owner_of(app.ctx, matter)
    hall = app.ctx.hall(hall_id)
    if p.hall not in (None, hall_id) and hall_id not in p.halls:  # the pages' forms reach here unchecked
        raise HallError("forbidden", 403, "staff of this hall only")
    manager = may_manage(p, hall_id)
    who, device = (None, p.counter) if p.role == "counter" else (p.name, None)
    with app.ctx.db.read() as s:
        found = matters.get(s, matter)
        owner, owner_window = (found.owner, found.owner_counter) if found is not None else (None, None)
        signed = found is not None and (found.proxy or found.home_visit)
    if not (manager or (who is not None and who == owner) or (device is not None and device == owner_window)):
        raise HallError("forbidden", 403, "only the matter's owner (代理责任人), a supervisor or an admin prints it")
    if what == "commission" and not signed:
        raise HallError("no_commission", 409, "only a 全程代办 or home-visit matter has a 代理服务委托书")
    named = named or device or (desk.signed_in_at(app.ctx, p.name) if who else None)
    counter = hall.counter(named) if named else None
    if named and counter is None:
        raise HallError("not_found", 404, f"unknown counter in this hall: {named:.40}")
    counter = counter or hall.counter(owner_window or "")
    # A 代理服务委托书 names the applicant in full (to sign): never on a kiosk's printer in the public hall,
    # only at a counter's own (or the printable page, /matters/{id}/commission).
    kiosk_ok = what != "commission"
    if not app.can_print(hall, counter, kiosk_ok):
        if not kiosk_ok:
            raise HallError("no_printer", 409, "a commission prints only on a counter's own printer; print its page")
        raise HallError("no_printer", 409, "neither this counter nor a kiosk of the hall has a printer")
    if what == "commission":
        with app.ctx.db.read() as s:
            row = matters.get(s, matter)
            assert row is not None
            slip = commission_slip(matters.commission(hall, row))
    else:
        row, ticket, token = matters.reprint_receipt(app.ctx, matter, who, manager=manager, counter=device)
        slip = receipt_slip(matters.receipt(hall, row, ticket, app.track_url(token) if token else "", reprint=True))
    printed = app.print_slip(hall, counter, slip, kiosk_ok)
    return {"number": row.number, **(printed.fields() if printed is not None else NOT_PRINTED)}
