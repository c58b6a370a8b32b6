"""OpenAPI 3.1 description of /api/v1 (kept true by tests/integration/test_openapi.py)."""

from __future__ import annotations

from typing import Any


def document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "hallq", "version": "1"}, "paths": {}}
