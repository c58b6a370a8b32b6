"""Print jobs: staff reprint a ticket's slip and see the slips that did not come out (supervisor or admin)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from server.services import print_jobs

from . import api
from .body import read_body, read_query
from .guard import hq, require_manager
from .route import operation
from .shapes.printing import PrintJob, PrintJobsQuery, Reprint, ReprintRequest

JOB_STATUSES = ("pending", "printed", "superseded")


@operation(
    api, "post", "/tickets/<ticket>/reprint", ok=Reprint, status=201, tag="printing", secured=True,
    body=ReprintRequest, body_required=False, ok_description="the new print job",
    errors={404: "not_found: unknown ticket or kiosk", 409: "no_printer: name a kiosk with a printer"},
)  # fmt: skip
def reprint(ticket: str) -> Any:
    """Print a ticket's slip again, marked 补打."""
    app = hq()
    hall_id = print_jobs.ticket_hall(app.ctx, ticket)  # 404 before 401/403, like counter actions
    p = require_manager(hall_id)
    body = read_body(ReprintRequest)
    result, events = print_jobs.reprint(app.ctx, ticket, body.kiosk, app.track_base(), p.name)
    app.after_commit(events)
    return jsonify(result), 201


@operation(
    api, "get", "/halls/<hall>/print-jobs", ok=list[PrintJob], tag="printing", secured=True, query=PrintJobsQuery,
    ok_description="print jobs, newest first", errors={404: None, 422: "invalid_query: an unknown status"},
)  # fmt: skip
def print_jobs_list(hall: str) -> Any:
    """The hall's print jobs, newest first."""
    app = hq()
    app.ctx.hall(hall)
    require_manager(hall)
    q = read_query(PrintJobsQuery)
    return jsonify(print_jobs.jobs(app.ctx, hall, q.status))
