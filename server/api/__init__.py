"""REST API under /api/v1: thin handlers that parse, authorize, call a use case and serialize."""

from __future__ import annotations

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

# routes register on import
from . import (  # noqa: E402,F401
    appeals,
    appointments,
    kiosks,
    managers,
    matters,
    outbound,
    overview,
    parking,
    prints,
    public,
    spec,
    staff,
)
