"""申诉 (PROTOCOL v1.2, issue 21): a supervisor files the hall's appeal of a bad rating, another decides."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from server.services import appeals, periods, ratings

from . import api
from .body import read_body, read_query
from .guard import hq, require_manager
from .route import operation
from .shapes import answers as a
from .shapes.outbound import AppealCounts, AppealDecision, AppealRequest, EvaluationsQuery


def _case(complaint: str) -> dict[str, Any]:
    hall = ratings.complaint_hall(hq().ctx, complaint)
    return next(c for c in ratings.complaints(hq().ctx, hall) if c["id"] == complaint)


@operation(
    api, "post", "/complaints/<complaint>/appeal", ok=a.Complaint, status=201, tag="reports", secured=True,
    body=AppealRequest, ok_description="the case with its appeal, pending",
    errors={404: "not_found: unknown complaint", 409: "already_appealed", 422: "invalid_body or invalid_note"},
)  # fmt: skip
def complaint_appeal(complaint: str) -> Any:
    """申诉: the hall contests the case's rating as malicious or mistaken, with its reason."""
    p = require_manager(ratings.complaint_hall(hq().ctx, complaint))
    body = read_body(AppealRequest)
    appeals.file(hq().ctx, complaint, body.reason, p.name)
    return jsonify(_case(complaint)), 201


@operation(
    api, "post", "/complaints/<complaint>/appeal/decide", ok=a.Complaint, tag="reports", secured=True,
    body=AppealDecision, ok_description="the case with the decided appeal",
    errors={404: "not_found: unknown complaint",
            409: "not_appealed, already_decided, or own_appeal (the one who filed it does not decide it)",
            422: "invalid_body or invalid_note"},
)  # fmt: skip
def complaint_appeal_decide(complaint: str) -> Any:
    """A supervisor's decision on the appeal: upheld (the rating is set aside) or rejected, with a reason."""
    p = require_manager(ratings.complaint_hall(hq().ctx, complaint))
    body = read_body(AppealDecision)
    appeals.decide(hq().ctx, complaint, body.decision, body.note, p.name)
    return jsonify(_case(complaint))


@operation(
    api, "get", "/halls/<hall>/appeals", ok=AppealCounts, tag="reports", secured=True, query=EvaluationsQuery,
    ok_description="appeals filed in the period by state, counted apart from complaint cases",
    errors={422: "invalid_query: a missing or bad day"},
)  # fmt: skip
def appeal_counts(hall: str) -> Any:
    """Appeals (申诉) of a period: filed, pending, upheld, rejected."""
    hq().ctx.hall(hall)
    require_manager(hall)
    q = read_query(EvaluationsQuery)
    return jsonify(appeals.counts(hq().ctx, hall, *periods.clamp_days(q.first, q.last)))
