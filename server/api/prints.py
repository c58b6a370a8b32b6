"""Print jobs: staff reprint a ticket's slip and see the slips that did not come out (supervisor or admin)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from server.engine.errors import invalid
from server.services import print_jobs

from . import api
from .body import Field, json_object, parse
from .guard import hq, require_manager

REPRINT_FIELDS = [Field("kiosk", str, max_len=40, nullable=True)]
JOB_STATUSES = ("pending", "printed", "superseded")


@api.post("/tickets/<ticket>/reprint")
def reprint(ticket: str) -> Any:
    app = hq()
    hall_id = print_jobs.ticket_hall(app.ctx, ticket)  # 404 before 401/403, like counter actions
    p = require_manager(hall_id)
    body = parse(json_object(optional=True), REPRINT_FIELDS)
    result, events = print_jobs.reprint(app.ctx, ticket, body.get("kiosk"), app.track_base(), p.name)
    app.after_commit(events)
    return jsonify(result), 201


@api.get("/halls/<hall>/print-jobs")
def list_print_jobs(hall: str) -> Any:
    app = hq()
    app.ctx.hall(hall)
    require_manager(hall)
    status = request.args.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise invalid(f"status must be one of {', '.join(JOB_STATUSES)}", "invalid_query")
    return jsonify(print_jobs.jobs(app.ctx, hall, status))
