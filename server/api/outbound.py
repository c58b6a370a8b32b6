"""Outbound events for managers (PROTOCOL v1.2): the deliveries of a hall, and a re-send."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from server.engine.errors import HallError
from server.services import deliveries

from . import api
from .body import read_query
from .guard import hq, require_manager
from .route import operation
from .shapes.outbound import DeliveriesQuery, Delivery


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
    if not delivery.isdigit() or len(delivery) > 12:
        raise HallError("not_found", 404, "no such delivery")
    app = hq()
    p = require_manager(deliveries.hall_of(app.ctx, int(delivery)))
    answer = deliveries.resend(app.ctx, int(delivery), p.name)
    app.sender.wake()
    return jsonify(answer)
