"""Outbound events for managers (PROTOCOL v1.2): the deliveries of a hall and a re-send; the 好差评 push's
records, its days and 重推."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from server.engine.errors import HallError
from server.services import deliveries, evaluations, exports, periods

from . import api
from .body import read_body, read_query
from .guard import hq, principal, require_manager
from .route import operation
from .shapes.outbound import (
    DeliveriesQuery,
    Delivery,
    EvaluationDay,
    EvaluationRecord,
    EvaluationResend,
    EvaluationsQuery,
    Resent,
)


@operation(
    api, "get", "/halls/<hall>/deliveries", ok=list[Delivery], tag="reports", secured=True, query=DeliveriesQuery,
    ok_description="the latest 100 deliveries, newest first", errors={422: "invalid_query: an unknown status"},
)  # fmt: skip
def deliveries_list(hall: str) -> Any:
    """Outbound events and their delivery to each receiver: status, tries, the last answer."""
    hq().ctx.hall(hall)
    require_manager(hall)
    q = read_query(DeliveriesQuery)
    return jsonify(deliveries.listing(hq().ctx, hall, q.status))


@operation(
    api, "post", "/deliveries/<delivery>/resend", ok=Delivery, tag="reports", secured=True,
    body=None, ok_description="the delivery, pending again", errors={404: "not_found: unknown delivery"},
)  # fmt: skip
def delivery_resend(delivery: str) -> Any:
    """Send one delivery again now (重推): a failed one, or one its receiver lost."""
    principal()  # 401 before anything is looked up: an id alone tells a stranger nothing
    if not (delivery.isascii() and delivery.isdigit()) or len(delivery) > 12:  # not "²" nor "١"
        raise HallError("not_found", 404, "no such delivery")
    app = hq()
    p = require_manager(deliveries.hall_of(app.ctx, int(delivery)))
    answer = deliveries.resend(app.ctx, int(delivery), p.name)
    app.sender.wake()
    return jsonify(answer)


CSV = {"text/csv": "the same as CSV, UTF-8 with a BOM: the profile's fields, then status, tries, pushed_at"}


@operation(
    api, "get", "/halls/<hall>/evaluations", ok=list[EvaluationRecord], tag="reports", secured=True,
    query=EvaluationsQuery, media=CSV, ok_description="the ratings pushed (or to push) to the 好差评 platform",
    errors={422: "invalid_query: a missing or bad day, or a format not json or csv"},
)  # fmt: skip
def evaluations_export(hall: str) -> Any:
    """The 好差评 records of a period, as pushed to the provincial platform."""
    hq().ctx.hall(hall)
    require_manager(hall)
    q = read_query(EvaluationsQuery)
    first, last = periods.clamp_days(q.first, q.last)
    items = evaluations.export(hq().ctx, hall, first, last)
    if q.format == "csv":
        response = Response(evaluations.export_csv(hq().ctx, hall, items), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        name = f"evaluations-{hall}-{q.first.isoformat()}-{q.last.isoformat()}.csv"
        response.headers["Content-Disposition"] = exports.disposition(name)
        return response
    return jsonify(items)


@operation(
    api, "get", "/halls/<hall>/evaluations/summary", ok=list[EvaluationDay], tag="reports", secured=True,
    query=EvaluationsQuery, ok_description="pushed, pending and failed per hall-local day",
    errors={422: "invalid_query: a missing or bad day"},
)  # fmt: skip
def evaluations_summary(hall: str) -> Any:
    """The 好差评 push per day: pushed, pending, failed."""
    hq().ctx.hall(hall)
    require_manager(hall)
    q = read_query(EvaluationsQuery)
    return jsonify(evaluations.summary(hq().ctx, hall, *periods.clamp_days(q.first, q.last)))


@operation(
    api, "post", "/halls/<hall>/evaluations/resend", ok=Resent, tag="reports", secured=True,
    body=EvaluationResend, body_required=False, ok_description="how many pushes go again",
    errors={404: "not_found: no such push of this hall"},
)  # fmt: skip
def evaluations_resend(hall: str) -> Any:
    """重推: one push (`delivery`) or every failed one of the hall, sent again now."""
    app = hq()
    app.ctx.hall(hall)
    p = require_manager(hall)
    body = read_body(EvaluationResend)
    if body.delivery is None:
        count = evaluations.resend_failed(app.ctx, hall, p.name)
    else:
        if deliveries.hall_of(app.ctx, body.delivery) != hall:
            raise HallError("not_found", 404, "no such push of this hall")
        deliveries.resend(app.ctx, body.delivery, p.name)
        count = 1
    app.sender.wake()
    return jsonify({"resent": count})
