"""/admin: the supervisor's console (live state, alerts, complaints, printers, notice line, reports) and the
printable monthly report. Pages only: every action goes through /api/v1 (managers.py), which logs who did it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec

from flask import Blueprint, redirect, request

from server.api.guard import hq, session_person
from server.auth import Principal, may_manage
from server.charts import bars
from server.engine.errors import HallError
from server.engine.model import Hall
from server.i18n import minutes_up
from server.rendering import page, render_page
from server.services import dashboard, periods, reports

admin = Blueprint("admin", __name__, template_folder="templates")


def _manager() -> tuple[Principal | None, Any]:
    """The logged-in manager, or the answer to give instead (a redirect to /login, or a refusal)."""
    p = session_person()
    if p is None:
        return None, redirect("/login?next=" + request.full_path.rstrip("?"))
    if not p.is_manager:
        t = _strings()
        return None, page(t["admin_title"], t["admin_forbidden"], "admin", status=403)
    return p, None


Args = ParamSpec("Args")


def manager_page(view: Callable[Concatenate[Principal, Args], Any]) -> Callable[Args, Any]:
    """A page for managers only: the view gets the logged-in manager first; anyone else gets _manager's answer."""

    @functools.wraps(view)
    def page_of_manager(*args: Args.args, **kwargs: Args.kwargs) -> Any:
        p, answer = _manager()
        return answer if p is None else view(p, *args, **kwargs)

    return page_of_manager


def _strings() -> dict[str, str]:
    from server.i18n import strings

    return strings("admin")


def managed_hall(p: Principal) -> Hall:
    """The hall the page is about (?hall=, else the manager's own, else the first): one they manage."""
    ctx = hq().ctx
    wanted = request.args.get("hall") or p.hall or ctx.config.halls[0].id
    hall = ctx.config.hall(wanted)
    if hall is None or not may_manage(p, wanted):
        raise HallError("forbidden", 403, "not a hall you manage")
    return hall


@admin.get("/admin")
@manager_page
def console(p: Principal) -> Any:
    app = hq()
    hall = managed_hall(p)
    state = dashboard.live(app.ctx, hall.id, app.printer_state)
    today = hall.local(app.ctx.clock.now()).date()
    halls = [h for h in app.ctx.config.halls if may_manage(p, h.id)]
    return render_page(
        "admin.html",
        "admin",
        title=_strings()["admin_title"],
        hall=hall,
        halls=halls,
        user=p.name,
        state=state,
        services={s.id: s.name for s in hall.services},
        counters={c.id: c.name for c in hall.counters},
        today=today.isoformat(),
        week_ago=(today - timedelta(days=6)).isoformat(),
        month=today.isoformat()[:7],
    )


@admin.get("/admin/reports/monthly")
@manager_page
def printable_monthly(p: Principal) -> Any:
    """The monthly report as a printable page (HTML print styles, charts as inline SVG)."""
    app = hq()
    hall = managed_hall(p)
    month = request.args.get("month") or hall.local(app.ctx.clock.now()).date().isoformat()[:7]
    first, last = periods.parse_month(month)
    report = reports.monthly(app.ctx, hall.id, first, last, app.ctx.config.settings.scores)
    t = _strings()
    names = {c.id: c.name for c in hall.counters}
    return render_page(
        "admin_monthly.html",
        "admin",
        title=f"{t['monthly_title']} {report['month']}",
        hall=hall,
        report=report,
        names=names,
        services={s.id: s.name for s in hall.services},
        issued_chart=bars(
            [(d["date"][8:], d["issued"]) for d in report["days"]], t["chart_issued_by_day"], t["chart_tickets"]
        ),
        wait_chart=bars(
            [(f"{h['hour']:02d}", minutes_up(h["avg_wait_s"])) for h in report["by_hour"]],
            t["chart_wait_by_hour"],
            t["chart_minutes"],
        ),
        rating_chart=bars(
            [(level, report["ratings"][level]) for level in ("5", "4", "3", "2", "1")],
            t["chart_ratings"],
            t["chart_ratings_count"],
        ),
        printed=hall.local(app.ctx.clock.now()).date().isoformat(),  # the hall's date, not the server's
        month_label=t["monthly_month"].format(year=first.year, month=first.month),
        completed={row["counter"]: row["completed"] for row in report["by_counter"]},
    )


@admin.get("/admin/deliveries")
@manager_page
def deliveries_page(p: Principal) -> Any:
    """Outbound events (PROTOCOL v1.2): each delivery's state and 重新推送 (deliveries.js)."""
    from server.pages import csrf_token
    from server.services import deliveries

    app = hq()
    hall = managed_hall(p)
    csrf_token()
    return render_page(
        "admin_deliveries.html",
        "admin",
        title=_strings()["deliveries_title"],
        hall=hall,
        rows=deliveries.listing(app.ctx, hall.id),
    )


@admin.get("/admin/evaluations")
@manager_page
def evaluations_page(p: Principal) -> Any:
    """The 好差评 push (PROTOCOL v1.2): pushed / pending / failed per day, 重推 one or all (evaluations.js)."""
    from server.pages import csrf_token
    from server.services import evaluations

    app = hq()
    hall = managed_hall(p)
    first, last = evaluations.default_range(app.ctx, hall)
    items = evaluations.export(app.ctx, hall.id, first, last)
    csrf_token()
    return render_page(
        "admin_evaluations.html",
        "admin",
        title=_strings()["evaluations_title"],
        hall=hall,
        first=first.isoformat(),
        last=last.isoformat(),
        days=evaluations.summary(app.ctx, hall.id, first, last),
        failed=[e for e in items if e["status"] == "failed"],
    )


@admin.get("/admin/overview")
@manager_page
def overview_page(p: Principal) -> Any:
    """A city's halls live (PROTOCOL v1.2): grouped by region, the ones needing attention first (overview.js)."""
    from itertools import groupby

    from server.services import overview

    app = hq()
    halls = [h for h in app.ctx.config.halls if may_manage(p, h.id)]
    rows = overview.overview(app.ctx, halls)
    now = app.ctx.config.halls[0].local(app.ctx.clock.now()) if app.ctx.config.halls else app.ctx.clock.now()
    return render_page(
        "admin_overview.html",
        "admin",
        title=_strings()["overview_title"],
        groups=[(region, list(items)) for region, items in groupby(rows, key=lambda r: r["region"])],
        updated=now.strftime("%H:%M:%S"),
    )
