"""REST API under /api/v1: thin handlers that parse, authorize, call a use case and serialize."""

from __future__ import annotations

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

# routes register on import (appointments: PROTOCOL v1.2)
from . import appointments, kiosks, managers, prints, public, spec, staff  # noqa: E402,F401
