"""Kiosk devices and staff alerts: enrollment links for kiosk pages, and what needs someone now."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from server import devices
from server.engine.errors import not_found

from . import api
from .body import Field, json_object, parse
from .guard import hq, require_manager

ENROLL_FIELDS = [Field("valid_minutes", int)]


@api.post("/kiosks/<kiosk>/enrollments")
def enroll_kiosk(kiosk: str) -> Any:
    """A one-time link that enrolls a browser as this kiosk (supervisors and admins of its hall)."""
    app = hq()
    found = app.ctx.config.find_kiosk(kiosk)
    if found is None:
        raise not_found("kiosk", kiosk)
    require_manager(found[0].id)
    body = parse(json_object(optional=True), ENROLL_FIELDS)
    minutes = body.get("valid_minutes", devices.DEFAULT_VALID_S // 60)
    enrollment = devices.create_enrollment(app.ctx, kiosk, minutes * 60)
    base = app.ctx.config.settings.public_url or request.host_url.rstrip("/")
    expires = found[0].local(enrollment.expires_at).isoformat(timespec="seconds")
    return jsonify(kiosk=kiosk, url=base + enrollment.path, expires_at=expires), 201


@api.get("/halls/<hall>/alerts")
def list_alerts(hall: str) -> Any:
    """What needs staff now: kiosk printers out of paper, low on paper or offline."""
    app = hq()
    hall_def = app.ctx.hall(hall)
    require_manager(hall)
    return jsonify(app.alerts(hall_def))
