"""Kiosk devices: enrollment links for kiosk pages (staff alerts, printers' among them: api/managers.py)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from server import devices
from server.engine.errors import not_found

from . import api
from .body import read_body
from .guard import hq, require_manager
from .route import operation
from .shapes import answers as a
from .shapes.bodies import EnrollmentRequest


@operation(api, "post", "/kiosks/<kiosk>/enrollments", ok=a.Enrollment, status=201, tag="kiosks",
           body=EnrollmentRequest, body_required=False, secured=True,
           ok_description="the link and when it expires", errors={404: "not_found: unknown kiosk"})  # fmt: skip
def enroll_kiosk(kiosk: str) -> Any:
    """A one-time link that enrolls a browser as this kiosk."""
    app = hq()
    found = app.ctx.config.find_kiosk(kiosk)
    if found is None:
        raise not_found("kiosk", kiosk)
    require_manager(found[0].id)
    body = read_body(EnrollmentRequest)
    enrollment = devices.create_enrollment(app.ctx, kiosk, body.valid_minutes * 60)
    base = app.ctx.config.settings.public_url or request.host_url.rstrip("/")
    expires = found[0].local(enrollment.expires_at).isoformat(timespec="seconds")
    return jsonify(kiosk=kiosk, url=base + enrollment.path, expires_at=expires), 201
