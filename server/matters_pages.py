"""Pages of matters (办件): the managers' list (/admin/matters), a clerk's own (/counter/matters) and the
printable 代理服务委托书 (/matters/<id>/commission). Pages only: changes go through /api/v1/matters."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from flask import Blueprint, redirect, request, session

from server.api.guard import hq, session_person
from server.api.matters import print_again
from server.auth import Principal, may_manage
from server.engine.errors import HallError
from server.engine.matters import MatterStatus
from server.engine.model import Hall
from server.i18n import LANGS, lang, strings
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
        if p is None:  # back to this very page after the login, in the language it was asked in
            return redirect("/login" + _query({"next": request.full_path.rstrip("?"), **_kept(hall=False)}))
        return view(p, *args, **kwargs)

    return page_of_person


def _names(hall: Hall) -> tuple[dict[str, str], dict[str, str]]:
    english = lang() != "zh-CN"
    services = {sv.id: sv.name_en if english else sv.name for sv in hall.services}
    return services, {c.id: c.name for c in hall.counters}


def _hall_name(hall: Hall) -> str:
    return hall.name_en if lang() != "zh-CN" else hall.name


def _named(hall: Hall, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the names the table shows: their hall's, its service's and its window's (a clerk's page
    may list several halls, whose services can share an id)."""
    services, counters = _names(hall)
    hall_name = _hall_name(hall)
    return [
        {
            **r,
            "hall": hall.id,
            "hall_name": hall_name,
            "service_name": services.get(r["service"], r["service"]),
            "window_name": counters.get(r["owner_counter"], r["owner_counter"] or "—"),
        }
        for r in rows
    ]


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
    services, _ = _names(hall)
    chosen_args = {
        "status": status, "service": service, "owner": owner, "overdue": "true" if overdue else None,
        "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
    }  # fmt: skip
    query = urlencode({k: v for k, v in chosen_args.items() if v})
    return render_page(
        "admin_matters.html", "admin", "matters", title=t["matters_title"], hall=hall, halls=halls,
        rows=_named(hall, rows), mine=False, statuses=[s.value for s in MatterStatus], services=services,
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
    """A clerk's own matters (代理责任人), due soonest first, overdue marked: of every hall they may manage
    (a supervisor of several halls, an admin), or of the one `?hall=` names. A new matter opens in that
    hall, else in their own."""
    t = strings("matters")
    ctx = hq().ctx
    if p.role not in ("clerk", "supervisor", "admin"):
        return page(t["matters_mine_title"], t["matters_staff_only"], "matters", status=403)
    halls = _my_halls(p)
    if not halls:  # a supervisor of a hall the config no longer has
        return page(t["matters_mine_title"], t["matters_forbidden"], "matters", status=403)
    asked = request.args.get("hall")
    chosen = next((h for h in halls if h.id == asked), None)
    if asked and chosen is None:  # not a hall of theirs (or none at all)
        return page(t["matters_mine_title"], strings()["not_found"], "matters", status=404)
    shown = [chosen] if chosen else halls
    hall = chosen or halls[0]  # where the form opens a matter
    open_states = [s.value for s in MatterStatus if s not in (MatterStatus.PICKED_UP, MatterStatus.REJECTED)]
    rows = [
        r
        for h in shown
        for r in _named(h, matters.listing(ctx, h.id, None, None, None, None, owner=p.name))
        if r["status"] in open_states
    ]
    rows.sort(key=lambda r: (datetime.fromisoformat(r["due_at"]), r["number"]))  # halls' clocks may differ
    csrf_token()
    services, _ = _names(hall)
    done = request.args.get("done")
    number = (request.args.get("number") or "")[:40]
    said = t["matters_done_" + done].format(number=number) if done in ("progress", "receipt", "commission") else ""
    lang_only = {"lang": request.args["lang"]} if request.args.get("lang") in LANGS else {}
    choices = [
        {"href": _query({"hall": h.id, **lang_only}), "name": _hall_name(h), "current": h is chosen}
        for h in halls
    ] if len(halls) > 1 else []  # fmt: skip
    return render_page(
        "admin_matters.html", "admin", "matters", title=t["matters_mine_title"], hall=hall, halls=halls, rows=rows,
        mine=True, statuses=[], services=services, chosen={}, query="", kind=matters.kind, problem=None,
        steps=_steps, said=said, keep=_query(_kept()), all_halls=_query(lang_only), choices=choices,
        several=len(shown) > 1, hall_name=_hall_name(hall),
    )  # fmt: skip


def _my_halls(p: Principal) -> list[Hall]:
    """The halls whose matters a person's own page lists: a manager's every hall they may manage (their own
    first), a clerk's one hall."""
    config = hq().ctx.config
    if not p.is_manager:
        return [h for h in config.halls if h.id == p.hall] or list(config.halls[:1])
    managed = [h for h in config.halls if may_manage(p, h.id)]
    return sorted(managed, key=lambda h: h.id != p.hall)  # stable: the rest in the config's order


def _kept(hall: bool = True) -> dict[str, str]:
    """What the page was asked with and its forms come back to: its hall and its language."""
    kept = {}
    if hall and (asked := request.args.get("hall")) and any(h.id == asked for h in hq().ctx.config.halls):
        kept["hall"] = asked
    if request.args.get("lang") in LANGS:
        kept["lang"] = request.args["lang"]
    return kept


def _query(args: dict[str, str]) -> str:
    return "?" + urlencode(args) if args else ""


def _back(done: str, number: str) -> Any:
    """Back to /counter/matters after a form, saying what was done, in the page's hall and language."""
    return redirect("/counter/matters" + _query({"done": done, "number": number, **_kept()}))


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
    return _back("progress", row.number)


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
    return _back(what, printed["number"])


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
