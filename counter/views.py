"""The clerk's counter client: choose a counter and sign in there (考勤), then work it all day."""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Blueprint, redirect, request, session

from server.api.guard import hq, session_person
from server.auth import Principal, may_work_counter
from server.engine.errors import HallError
from server.i18n import lang_query, strings
from server.rendering import page, render_page
from server.services import desk

# Templates go in counter/templates/counter/; files in counter/static/ are served at /counter/static/...
bp = Blueprint(
    "counter", __name__, template_folder="templates", static_folder="static", static_url_path="/counter/static"
)


def _person() -> Principal | None:
    return session_person()


def _to_login(back: str) -> Any:
    """To /login, keeping the language asked for."""
    asked = lang_query()
    return redirect(f"/login?next={back}" + (f"&{asked[1:]}" if asked else ""))


def _halls(p: Principal) -> list[Any]:
    return [h for h in hq().ctx.config.halls if p.hall in (None, h.id)]


@bp.get("/counter")
def counter_page() -> Any:
    """The chooser: the hall's counters, their state and who is signed in; straight to one's own counter."""
    p = _person()
    if p is None:
        return _to_login("/counter")
    here = desk.signed_in_at(hq().ctx, p.name)
    if here is not None and request.args.get("choose") is None:
        return redirect(f"/counter/{here}{lang_query()}")
    return _chooser(p)


def _chooser(p: Principal, taken: dict[str, Any] | None = None, status: int = 200) -> Any:
    t = strings("counter")
    halls = [(h, desk.board(hq().ctx, h.id)) for h in _halls(p)]
    return render_page(
        "counter/choose.html", "counter", status=status, title=t["choose_title"], halls=halls, me=p.name, taken=taken
    )


@bp.post("/counter/<counter_id>/sign-in")
def sign_in(counter_id: str) -> Any:
    """The chooser's form: sign in here; when another clerk is, say who and offer to take over."""
    p = _person()
    if p is None:
        return redirect("/login?next=/counter")
    sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        return redirect(f"/counter{lang_query()}")
    found = hq().ctx.config.find_counter(counter_id)
    t = strings("counter")
    if found is None:
        return page(t["choose_title"], t["unknown_counter"], "counter", status=404)
    if not may_work_counter(p, found[0].id, counter_id):
        return page(t["choose_title"], t["not_your_counter"], "counter", status=403)
    try:
        result, events = desk.sign_in(hq().ctx, counter_id, p.name, request.form.get("takeover") == "1")
    except HallError as e:
        if e.code != "counter_taken":
            raise
        board = {c["id"]: c for c in desk.board(hq().ctx, found[0].id)}
        return _chooser(p, {"id": counter_id, "name": found[1].name, "clerk": board[counter_id]["clerk"]}, 409)
    hq().publisher.publish(events)
    return redirect(f"/counter/{result.counter.id}{lang_query()}")


@bp.get("/counter/<counter_id>")
def desk_page(counter_id: str) -> Any:
    """The counter screen: rendered with the whole desk state, then live over /counter."""
    p = _person()
    if p is None:
        return _to_login(f"/counter/{counter_id}")
    t = strings("counter")
    found = hq().ctx.config.find_counter(counter_id)
    if found is None:
        return page(t["counter_title"], t["unknown_counter"], "counter", status=404)
    if not may_work_counter(p, found[0].id, counter_id):
        return page(t["counter_title"], t["not_your_counter"], "counter", status=403)
    state = desk.snapshot(hq().ctx, counter_id, p.name)
    return render_page(
        "counter/desk.html",
        "counter",
        title=found[1].name,
        hall=found[0],
        counter=found[1],
        state=state,
        state_json=json.dumps(state, ensure_ascii=False).replace("<", "\\u003c"),
        me=p.name,
    )
