"""The OpenAPI 3.1 document of this API."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from . import api
from .openapi import document


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(document())
