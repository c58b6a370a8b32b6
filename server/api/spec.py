"""The OpenAPI 3.1 document of this API."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from . import api
from .openapi import document
from .route import operation


@operation(api, "get", "/openapi.json", ok={"type": "object"}, tag="meta", ok_description="the OpenAPI 3.1 document")
def openapi() -> Any:
    """This document."""
    return jsonify(document())
