"""Pages of matters (办件): the managers' list (/admin/matters), a clerk's own (/counter/matters) and the
printable 代理服务委托书 (/matters/<id>/commission). Pages only: changes go through /api/v1/matters."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from datetime import date
from typing import Any, Concatenate, ParamSpec
from urllib.parse import quote, urlencode

from flask import Blueprint, redirect, request, session

from server.api.guard import hq, session_person
from server.api.matters import print_again
from server.auth import Principal, may_manage
from server.engine.errors import HallError
from server.engine.matters import MatterStatus
from server.i18n import lang, strings
from server.pages import csrf_token
from server.rendering import page, render_page
from server.services import identity, matters

bp = Blueprint("matters_pages", __name__, template_folder="templates")


Args = ParamSpec("Args")


def _person_page(view: Callable[Concatenate[Principal, Args], Any]) -> Callable[Args, Any]:
    """A page for a logged-in person: the view gets them first; without a live login session, /login and back."""

    @functools.wraps(view)
    def page_of_person(*args: Args.args, **kwargs: Args.kwargs) -> Any:
        p = session_person()  # a live login session (it ends at logout, a new password, disabling, idleness)
        return redirect("/login?next=" + request.path) if p is None else view(p, *args, **kwargs)

    return page_of_person


def _names(hall: Any) -> tuple[dict[str, str], dict[str, str]]:
    english = lang() != "zh-CN"
    services = {sv.id: sv.name_en if english else sv.name for sv in hall.services}
    return services, {c.id: c.name for c in hall.counters}


@bp.get("/admin/matters")
@_person_page
def admin_matters(p: Principal) -> Any:
    """Every matter of the hall, filtered by status, service, owner and overdue, with exports."""
    t = strings("matters")
    ctx = hq().ctx
    halls = [h for h in ctx.config.halls if may_manage(p, h.id)]
    if not halls:
        return page(t["matters_title"], t["matters_forbidden"], "matters", status=403)
    asked = request.args.get("hall")
    hall = next((h for h in halls if h.id == asked), None if asked else halls[0])
    if hall is None:
        return page(t["matters_title"], strings()["not_found"], "matters", status=404)
    status = request.args.get("status") or None
    status = status if status in {s.value for s in MatterStatus} else None
    service = request.args.get("service") or None
    service = service if service and hall.service(service) else None
    owner = (request.args.get("owner") or "").strip()[:64] or None
    overdue = True if request.args.get("overdue") == "true" else None
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))  # accepted on these days
    problem = None
    try:
        rows = matters.listing(ctx, hall.id, status, overdue, first, last, service=service, owner=owner)
    except HallError:  # an owner nobody is: say so, list nothing
        rows, problem = [], t["matters_unknown_owner"]
    csrf_token()
    services, counters = _names(hall)
    chosen_args = {
        "status": status, "service": service, "owner": owner, "overdue": "true" if overdue else None,
        "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
    }  # fmt: skip
    query = urlencode({k: v for k, v in chosen_args.items() if v})
    return render_page(
        "admin_matters.html", "admin", "matters", title=t["matters_title"], hall=hall, halls=halls, rows=rows,
        mine=False, statuses=[s.value for s in MatterStatus], services=services, counters=counters,
        chosen={"status": status, "service": service, "owner": owner or "", "overdue": overdue,
                "from": chosen_args["from"] or "", "to": chosen_args["to"] or ""}, query=query,
        kind=matters.kind, problem=problem,
    )  # fmt: skip


def _day(text: str | None) -> date | None:
    """A filter's day (YYYY-MM-DD); anything else is no bound, as an unknown status is no filter."""
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


@bp.get("/counter/matters")
@_person_page
def my_matters(p: Principal) -> Any:
    """A clerk's own matters (代理责任人), due soonest first, overdue marked."""
    t = strings("matters")
    ctx = hq().ctx
    if p.role not in ("clerk", "supervisor", "admin"):
        return page(t["matters_mine_title"], t["matters_staff_only"], "matters", status=403)
    hall = ctx.hall(p.hall) if p.hall else ctx.config.halls[0]
    open_states = [s.value for s in MatterStatus if s not in (MatterStatus.PICKED_UP, MatterStatus.REJECTED)]
    rows = [
        r for r in matters.listing(ctx, hall.id, None, None, None, None, owner=p.name) if r["status"] in open_states
    ]
    csrf_token()
    services, counters = _names(hall)
    done = request.args.get("done")
    number = (request.args.get("number") or "")[:40]
    said = t["matters_done_" + done].format(number=number) if done in ("progress", "receipt", "commission") else ""
    return render_page(
        "admin_matters.html", "admin", "matters", title=t["matters_mine_title"], hall=hall, halls=[hall], rows=rows,
        mine=True, statuses=[], services=services, counters=counters, chosen={}, query="", kind=matters.kind,
        problem=None, steps=_steps, said=said,
    )  # fmt: skip


def _steps(status: str) -> list[str]:
    """Where a matter in `status` may go next (the owner's choices on /counter/matters)."""
    forward = [s.value for s in MatterStatus if s is not MatterStatus.REJECTED]
    return [*forward[forward.index(status) + 1 :], MatterStatus.REJECTED.value] if status in forward else []


def _staff_form(matter: str) -> tuple[Principal | None, Any]:
    """A clerk's form on /counter/matters: a live login and the form's CSRF token, else the answer."""
    p = session_person()  # a live login session (it ends at logout, a new password, disabling, idleness)
    if p is None:
        return None, redirect("/login?next=/counter/matters")
    t = strings("matters")
    sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        return None, page(t["matters_mine_title"], t["matters_expired"], "matters", status=400)
    if p.role not in ("clerk", "supervisor", "admin"):
        return None, page(t["matters_mine_title"], t["matters_staff_only"], "matters", status=403)
    return p, None


def _refused(e: HallError) -> Any:
    t = strings("matters")
    words = t.get("matters_error_" + e.code, t["matters_error"])
    return page(t["matters_mine_title"], words, "matters", status=e.status)


@bp.post("/counter/matters/<matter>/progress")
def my_progress(matter: str) -> Any:
    """The owner carries a matter one step forward (or rejects it, with the reason) from /counter/matters."""
    p, answer = _staff_form(matter)
    if p is None:
        return answer
    app = hq()
    note = (request.form.get("note") or "").replace("\x00", "").strip()[:1000] or None  # PostgreSQL refuses NUL
    try:
        hall_id, _ = matters.owner_of(app.ctx, matter)
        row, events = matters.progress(
            app.ctx, matter, request.form.get("status", ""), note, p.name, manager=may_manage(p, hall_id)
        )
    except HallError as e:
        return _refused(e)
    app.publisher.publish(events)
    return redirect(f"/counter/matters?done=progress&number={quote(row.number)}")


@bp.post("/counter/matters/<matter>/<any(receipt, commission):what>")
def my_slip(matter: str, what: str) -> Any:
    """The owner prints the receipt again (补打), or a 全程代办's commission to sign, from /counter/matters: at
    the window they are signed in at (else the owner window; a kiosk's printer when that has none)."""
    p, answer = _staff_form(matter)
    if p is None:
        return answer
    try:
        printed = print_again(matter, p, None, what)
    except HallError as e:
        return _refused(e)
    return redirect(f"/counter/matters?done={what}&number={quote(printed['number'])}")


@bp.get("/matters/<matter>/commission")
@_person_page
def commission(p: Principal, matter: str) -> Any:
    """代理服务委托书 of a 全程代办 or home-visit matter, to print and sign (staff of its hall)."""
    t = strings("matters")
    ctx = hq().ctx
    try:
        m = matters.find(ctx, matter)
    except HallError:
        m = None
    if (
        m is None or (p.hall not in (None, m.hall_id) and m.hall_id not in p.halls) or not (m.proxy or m.home_visit)
    ):  # a window's 承诺件: none
        return page(t["commission_title"], strings()["not_found"], "matters", status=404)
    hall = ctx.hall(m.hall_id)
    services, _ = _names(hall)
    return render_page(
        "matter_commission.html", "matters", title=f"{t['commission_title']} {m.number}", hall=hall, m=m,
        service=services.get(m.service_id, m.service_id), phone=identity.mask_phone(m.applicant_phone or ""),
        due=hall.local(m.due_at).strftime("%Y-%m-%d"), accepted=hall.local(m.accepted_at).strftime("%Y-%m-%d"),
    )  # fmt: skip
