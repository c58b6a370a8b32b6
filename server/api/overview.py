"""A city's halls (PROTOCOL v1.2): the live overview and a region's monthly report."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from server.auth import Principal, may_manage
from server.engine.errors import HallError
from server.services import exports, overview, periods

from . import api
from .body import read_query
from .guard import hq, principal
from .route import operation
from .shapes.bodies import MonthQuery
from .shapes.outbound import OverviewHall, RegionReport

FILES = {
    "text/csv": "the same as CSV, UTF-8 with a BOM",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "the same as an XLSX workbook",
}


def _managed(p: Principal) -> list[Any]:
    """The halls a caller oversees: every hall for an admin, a supervisor's own; else 403."""
    if not p.is_manager:
        raise HallError("forbidden", 403, "admins (and supervisors, for their halls) only")
    return [h for h in hq().ctx.config.halls if may_manage(p, h.id)]


@operation(
    api, "get", "/overview", ok=list[OverviewHall], tag="reports", secured=True,
    ok_description="every hall, grouped by region, the ones needing attention first in each",
)  # fmt: skip
def city_overview() -> Any:
    """The city's halls live: waiting, longest wait, windows open and uncovered, served, satisfaction, cases."""
    halls = _managed(principal())
    return jsonify(overview.overview(hq().ctx, halls))


@operation(
    api, "get", "/regions/<region>/reports/monthly", ok=RegionReport, tag="reports", secured=True,
    query=MonthQuery, media=FILES, ok_description="the region's halls summed, windows ranked across them",
    errors={404: "not_found: no hall in this region", 422: "invalid_query: a month not given as YYYY-MM"},
)  # fmt: skip
def region_monthly(region: str) -> Any:
    """每月一上报 of a region: its halls' monthly reports summed, its windows ranked (admin, or a supervisor
    of every hall of the region)."""
    p = principal()
    halls = overview.regions(hq().ctx).get(region)
    if not halls:
        raise HallError("not_found", 404, "no hall in this region")
    if not p.is_manager or not all(may_manage(p, h.id) for h in halls):
        raise HallError("forbidden", 403, "not every hall of this region is yours")
    q = read_query(MonthQuery)
    first, last = periods.parse_month(q.month.isoformat()[:7])
    report = overview.region_monthly(hq().ctx, region, first, last)
    name = f"region-{region}-{report['month']}"
    if q.format == "json":
        return jsonify(report)
    fmt = q.format
    body: str | bytes = overview.region_csv(report) if fmt == "csv" else overview.region_xlsx(report)
    response = Response(body, mimetype="text/csv" if fmt == "csv" else exports.XLSX_MIME)
    if fmt == "csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = exports.disposition(f"{name}.{fmt}")
    return response
