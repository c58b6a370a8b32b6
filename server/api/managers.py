"""Managers' calls (supervisor or admin of the hall): the ledger, reports, alerts, close-day and the notice line."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request

from server.engine.errors import invalid
from server.services import alerts, closing, dashboard, exports, history, notices, periods, reports

from . import api
from .body import Field, json_object, parse
from .guard import hq, require_manager

FORMATS = ("json", "csv", "xlsx")
TICKET_ID = re.compile(r"[0-9a-f]{16,32}")
NUMBER = re.compile(r"[A-Za-z]{1,2}[0-9]{1,6}")


def _manager(hall: str) -> Any:
    hq().ctx.hall(hall)  # 404 for an unknown hall before 401/403
    return require_manager(hall)


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise invalid("format must be json, csv or xlsx", "invalid_query")
    return fmt


def _file(body: str | bytes, fmt: str, name: str) -> Response:
    mimetype = "text/csv" if fmt == "csv" else exports.XLSX_MIME
    response = Response(body, mimetype=mimetype)
    if fmt == "csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _report(report: dict[str, Any], fmt: str, name: str) -> Any:
    if fmt == "csv":
        return _file(exports.report_csv(report), fmt, name)
    if fmt == "xlsx":
        return _file(exports.report_xlsx(report), fmt, name)
    return jsonify(report)


@api.get("/halls/<hall>/ledger")
def ledger(hall: str) -> Any:
    _manager(hall)
    first = periods.parse_day(request.args.get("from"), "from")
    last = periods.parse_day(request.args.get("to"), "to")
    fmt = _format()
    items = history.ledger(hq().ctx, hall, first, last)
    name = f"ledger-{hall}-{first.isoformat()}-{last.isoformat()}"
    if fmt == "csv":
        return _file(exports.ledger_csv(items), fmt, name)
    if fmt == "xlsx":
        return _file(exports.ledger_xlsx(items), fmt, name)
    return jsonify(items)


@api.get("/halls/<hall>/reports/daily")
def daily_report(hall: str) -> Any:
    _manager(hall)
    day = periods.parse_day(request.args.get("date"), "date")
    fmt = _format()
    return _report(reports.daily(hq().ctx, hall, day), fmt, f"daily-{hall}-{day.isoformat()}")


@api.get("/halls/<hall>/reports/weekly")
def weekly_report(hall: str) -> Any:
    """每周一督查: the ISO week (Monday to Sunday) holding `date`."""
    _manager(hall)
    day = periods.parse_day(request.args.get("date"), "date")
    fmt = _format()
    report = reports.weekly(hq().ctx, hall, day)
    return _report(report, fmt, f"weekly-{hall}-{report['week']}")


@api.get("/halls/<hall>/reports/monthly")
def monthly_report(hall: str) -> Any:
    _manager(hall)
    first, last = periods.parse_month(request.args.get("month"))
    fmt = _format()
    app = hq()
    report = reports.monthly(app.ctx, hall, first, last, app.ctx.config.settings.scores)
    return _report(report, fmt, f"monthly-{hall}-{report['month']}")


@api.get("/halls/<hall>/reports/range")
def range_report(hall: str) -> Any:
    """The same figures over any range of days (the admin page's date filter), at most 400 days."""
    _manager(hall)
    first, last = periods.parse_range(request.args.get("from"), request.args.get("to"))
    fmt = _format()
    report = {"from": first.isoformat(), "to": last.isoformat()}
    report.update(reports.period(hq().ctx, hq().ctx.hall(hall), first, last, with_days=True))
    return _report(report, fmt, f"report-{hall}-{first.isoformat()}-{last.isoformat()}")


@api.get("/halls/<hall>/dashboard")
def live_dashboard(hall: str) -> Any:
    """What /admin shows live: queues, windows and cover, today's throughput, alerts, complaints, printers."""
    _manager(hall)
    return jsonify(dashboard.live(hq().ctx, hall, hq().printer_state))


@api.get("/halls/<hall>/alerts")
def list_alerts(hall: str) -> Any:
    _manager(hall)
    return jsonify(alerts.active(hq().ctx, hall))


@api.get("/halls/<hall>/history")
def ticket_history(hall: str) -> Any:
    """A ticket's full event history, by `ticket` id or by `number` (and `date`, default today)."""
    _manager(hall)
    ticket_id, number = request.args.get("ticket"), request.args.get("number")
    if ticket_id is not None and not TICKET_ID.fullmatch(ticket_id):
        raise invalid("'ticket' must be a ticket id (16 to 32 hex digits)", "invalid_query")
    if number is not None and not NUMBER.fullmatch(number):
        raise invalid("'number' must be a ticket number such as A001", "invalid_query")
    if not (ticket_id or number):
        raise invalid("give 'ticket' (an id) or 'number' (and optionally 'date')", "invalid_query")
    day = periods.parse_day(request.args["date"], "date") if "date" in request.args else None
    return jsonify(history.ticket_history(hq().ctx, hall, ticket_id, number, day))


@api.get("/halls/<hall>/events")
def ledger_events(hall: str) -> Any:
    """Ledger lines by id (`ids=1,2,3`, at most 100): what a score deduction points to."""
    _manager(hall)
    raw = request.args.get("ids", "")
    try:
        ids = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise invalid("'ids' must be ledger event ids separated by commas", "invalid_query") from None
    if not ids or len(ids) > 100:
        raise invalid("give 1 to 100 ledger event ids in 'ids'", "invalid_query")
    return jsonify(history.events(hq().ctx, hall, ids))


CLOSE_FIELDS = [Field("date", str, max_len=10)]


@api.post("/halls/<hall>/close-day")
def close_day(hall: str) -> Any:
    """What `hallq close-day` does, from /admin: close out the day and store its summary."""
    p = _manager(hall)
    body = parse(json_object(optional=True), CLOSE_FIELDS)
    app = hq()
    hall_def = app.ctx.hall(hall)
    day = periods.parse_day(body["date"], "date") if body.get("date") else hall_def.local(app.ctx.clock.now()).date()
    result, events = closing.close_day(app.ctx, hall, day, who=p.name)
    app.publisher.publish(events)
    return jsonify(date=result.day, closed_out=result.closed_out, summary=result.summary)


NOTICE_FIELDS = [Field("text", str, required=True, max_len=notices.MAX_NOTICE)]


@api.get("/halls/<hall>/notice")
def get_notice(hall: str) -> Any:
    """The display's notice line (public: it is shown in the waiting area)."""
    return jsonify(notices.current(hq().ctx, hall))


@api.put("/halls/<hall>/notice")
def set_notice(hall: str) -> Any:
    p = _manager(hall)
    body = parse(json_object(), NOTICE_FIELDS)
    app = hq()
    notice = notices.set_notice(app.ctx, hall, body["text"], p.name)
    for namespace in ("/display", "/admin"):
        app.publisher.socketio.emit("notice", notice, namespace=namespace, to=f"hall:{hall}")
    return jsonify(notice)
