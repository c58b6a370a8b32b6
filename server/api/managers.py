"""Managers' calls (supervisor or admin of the hall): the ledger, reports, alerts, close-day and the notice line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify

from server.engine.errors import invalid
from server.services import alerts, closing, dashboard, exports, history, notice_line, reports

from . import api
from .body import read_body, read_query
from .guard import hq, require_manager
from .route import F, operation
from .shapes import answers as a
from .shapes.bodies import (
    CloseDayRequest,
    EventsQuery,
    HistoryQuery,
    LedgerQuery,
    MonthQuery,
    NoticeRequest,
    RangeQuery,
    ReportDayQuery,
)

FILES = {
    "text/csv": "the same as CSV, UTF-8 with a BOM",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "the same as an XLSX workbook",
}
MAX_RANGE_DAYS = 400


def manager(rule: str, ok: Any, method: str = "get", **kw: Any) -> Callable[[F], F]:
    """A route for a supervisor or an admin of the hall."""
    return operation(api, method, rule, ok=ok, tag="reports", secured=True, **kw)


def _manager(hall: str) -> Any:
    hq().ctx.hall(hall)  # 404 for an unknown hall before 401/403
    return require_manager(hall)


def _file(body: str | bytes, fmt: str, name: str) -> Response:
    response = Response(body, mimetype="text/csv" if fmt == "csv" else exports.XLSX_MIME)
    if fmt == "csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = exports.disposition(f"{name}.{fmt}")
    return response


def _report(report: dict[str, Any], fmt: str, name: str) -> Any:
    if fmt == "csv":
        return _file(exports.report_csv(report), fmt, name)
    if fmt == "xlsx":
        return _file(exports.report_xlsx(report), fmt, name)
    return jsonify(report)


@manager(
    "/halls/<hall>/ledger", list[a.LedgerEntry], query=LedgerQuery, ok_description="the tickets in issue order",
    media=FILES, errors={422: "invalid_query: a missing or bad day (YYYY-MM-DD), or a format not json, csv or xlsx"},
)  # fmt: skip
def ledger(hall: str) -> Any:
    """The ledger (台账) of the tickets issued between two days."""
    _manager(hall)
    q = read_query(LedgerQuery)
    items = history.ledger(hq().ctx, hall, q.first, q.last)
    name = f"ledger-{hall}-{q.first.isoformat()}-{q.last.isoformat()}"
    hall_def = hq().ctx.hall(hall)
    if q.format == "csv":  # the contract's keys; `&labels=zh` gives the hall's 台账 as the XLSX has it
        return _file(exports.ledger_csv(items, hall_def if q.labels == "zh" else None), "csv", name)
    if q.format == "xlsx":
        return _file(exports.ledger_xlsx(items, hall_def), "xlsx", name)
    return jsonify(items)


@manager(
    "/halls/<hall>/reports/daily", a.DailyReport, query=ReportDayQuery, media=FILES,
    ok_description="the day's figures", errors={422: "invalid_query: a missing or bad date, or format"},
)  # fmt: skip
def daily_report(hall: str) -> Any:
    """The day's summary."""
    _manager(hall)
    q = read_query(ReportDayQuery)
    return _report(reports.daily(hq().ctx, hall, q.date), q.format, f"daily-{hall}-{q.date.isoformat()}")


@manager(
    "/halls/<hall>/reports/weekly", a.WeeklyReport, query=ReportDayQuery, media=FILES,
    ok_description="the week's figures, day by day too", errors={422: "invalid_query: a missing or bad date"},
)  # fmt: skip
def weekly_report(hall: str) -> Any:
    """每周一督查: the ISO week (Monday to Sunday) holding a day."""
    _manager(hall)
    q = read_query(ReportDayQuery)
    report = reports.weekly(hq().ctx, hall, q.date)
    return _report(report, q.format, f"weekly-{hall}-{report['week']}")


@manager(
    "/halls/<hall>/reports/monthly", a.MonthlyReport, query=MonthQuery, media=FILES,
    ok_description="the month's figures; each window's deductions list their ledger event ids",
    errors={422: "invalid_query: a month not given as YYYY-MM"},
)  # fmt: skip
def monthly_report(hall: str) -> Any:
    """每月一上报: the month's figures and window scores."""
    _manager(hall)
    q = read_query(MonthQuery)
    app = hq()
    first, last = reports.parse_month(q.month.isoformat()[:7])
    report = reports.monthly(app.ctx, hall, first, last, app.ctx.config.settings.scores)
    return _report(report, q.format, f"monthly-{hall}-{report['month']}")


@manager(
    "/halls/<hall>/reports/range", a.RangeReport, query=RangeQuery, media=FILES,
    ok_description="the range's figures, day by day too",
    errors={422: f"invalid_query: bad days, `to` before `from`, or more than {MAX_RANGE_DAYS} days"},
)  # fmt: skip
def range_report(hall: str) -> Any:
    """The figures over any range of days (the admin page's date filter)."""
    _manager(hall)
    q = read_query(RangeQuery)
    if q.last < q.first:
        raise invalid("'to' is before 'from'", "invalid_query")
    if (q.last - q.first).days >= MAX_RANGE_DAYS:
        raise invalid(f"a range covers at most {MAX_RANGE_DAYS} days", "invalid_query")
    ctx = hq().ctx
    report = {"from": q.first.isoformat(), "to": q.last.isoformat()}
    report.update(reports.period(ctx, ctx.hall(hall), q.first, q.last, with_days=True))
    return _report(report, q.format, f"report-{hall}-{q.first.isoformat()}-{q.last.isoformat()}")


@manager("/halls/<hall>/dashboard", a.Dashboard, ok_description="queues, windows and cover, throughput, alerts")
def live_dashboard(hall: str) -> Any:
    """/admin's live state of the hall."""
    _manager(hall)
    return jsonify(dashboard.live(hq().ctx, hall, hq().printer_state))


@manager("/halls/<hall>/alerts", list[a.Alert], ok_description="active alerts, oldest first")
def list_alerts(hall: str) -> Any:
    """Alerts not yet cleared."""
    _manager(hall)
    return jsonify(alerts.active(hq().ctx, hall))


@manager(
    "/halls/<hall>/history", a.TicketHistory, query=HistoryQuery, ok_description="the ticket and its ledger lines",
    errors={404: "not_found: no such ticket", 422: "invalid_query: neither a ticket id nor a number, or a bad one"},
)  # fmt: skip
def ticket_history(hall: str) -> Any:
    """A ticket's full event history, by ticket id or by number and day."""
    _manager(hall)
    q = read_query(HistoryQuery)
    if not (q.ticket or q.number):
        raise invalid("give 'ticket' (an id) or 'number' (and optionally 'date')", "invalid_query")
    return jsonify(history.ticket_history(hq().ctx, hall, q.ticket, q.number, q.date))


@manager(
    "/halls/<hall>/events", list[a.LedgerLine], query=EventsQuery, ok_description="the lines, in id order",
    errors={422: "invalid_query: ids must be 1 to 100 ledger event ids separated by commas"},
)  # fmt: skip
def ledger_events(hall: str) -> Any:
    """Ledger lines by id (what a score deduction points to)."""
    _manager(hall)
    q = read_query(EventsQuery)
    return jsonify(history.events(hq().ctx, hall, [int(x) for x in q.ids.split(",")]))


@manager(
    "/halls/<hall>/close-day", a.ClosedDay, method="post", body=CloseDayRequest, body_required=False,
    ok_description="tickets closed out and the day's summary",
)  # fmt: skip
def close_day(hall: str) -> Any:
    """Close out a day now (what `hallq close-day` does)."""
    p = _manager(hall)
    body = read_body(CloseDayRequest)
    app = hq()
    day = body.date or app.ctx.hall(hall).local(app.ctx.clock.now()).date()
    result, events = closing.close_day(app.ctx, hall, day, who=p.name)
    app.publisher.publish(events)
    return jsonify(date=result.day, closed_out=result.closed_out, summary=result.summary)


@operation(api, "get", "/halls/<hall>/notice", ok=a.NoticeLine, tag="halls", errors={404: None},
           ok_description="the notice line")  # fmt: skip
def get_notice(hall: str) -> Any:
    """The display's notice line (public: it is shown in the waiting area)."""
    return jsonify(notice_line.current(hq().ctx, hall))


@manager("/halls/<hall>/notice", a.NoticeLine, method="put", body=NoticeRequest, ok_description="the notice line")
def set_notice(hall: str) -> Any:
    """Set the display's notice line."""
    p = _manager(hall)
    body = read_body(NoticeRequest)
    app = hq()
    notice = notice_line.set_notice(app.ctx, hall, body.text, p.name)
    for namespace in ("/display", "/admin"):
        app.publisher.socketio.emit("notice", notice, namespace=namespace, to=f"hall:{hall}")
    return jsonify(notice)
