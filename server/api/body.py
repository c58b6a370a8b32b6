"""Parsing request bodies and queries strictly: every bad input is a 4xx with the error body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import request

from server.engine.errors import HallError


@dataclass(frozen=True)
class Field:
    name: str
    type: type | tuple[type, ...]
    required: bool = False
    max_len: int | None = None  # for strings and lists
    nullable: bool = False


def json_object(optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; {} for an empty body when `optional`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise HallError("invalid_body", 422, "a JSON object body is required")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise HallError("malformed_json", 400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HallError("invalid_body", 422, "the body must be a JSON object")
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


def _clean(value: Any) -> Any:
    """Drop NUL characters and replace lone surrogates with U+FFFD, everywhere in the body.

    Neither can be stored (PostgreSQL refuses NUL, UTF-8 has no surrogates) nor echoed in a JSON
    answer; cleaning keeps the rest of the resident's or clerk's text instead of refusing it.
    Iterative, so a deeply nested body cannot exhaust the recursion limit.
    """
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = _clean_text(item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            for k in list(item):
                clean_key = _clean_text(k)
                if clean_key != k:
                    item[clean_key] = item.pop(k)
                stack.append((item, clean_key))
    return root[0]


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def parse(data: dict[str, Any], fields: list[Field]) -> dict[str, Any]:
    """Check names, types and sizes; unknown fields are refused so typos do not pass silently."""
    known = {f.name for f in fields}
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise HallError("unknown_field", 422, f"unknown field: {unknown[0][:40]}")
    out: dict[str, Any] = {}
    for f in fields:
        if f.name not in data:
            if f.required:
                raise HallError("invalid_body", 422, f"'{f.name}' is required")
            continue
        value = data[f.name]
        if value is None and f.nullable:
            out[f.name] = None
            continue
        if not _is(value, f.type):
            raise HallError("invalid_body", 422, f"'{f.name}' has the wrong type")
        if f.max_len is not None and hasattr(value, "__len__") and len(value) > f.max_len:
            raise HallError("invalid_body", 422, f"'{f.name}' is too long (at most {f.max_len})")
        out[f.name] = value
    return out


def _is(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true is not the integer 1
    return isinstance(value, types)


def string_list(value: Any, name: str, max_items: int = 30, max_len: int = 100) -> list[str]:
    if not isinstance(value, list) or len(value) > max_items:
        raise HallError("invalid_body", 422, f"'{name}' must be a list of at most {max_items} strings")
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > max_len:
            raise HallError("invalid_body", 422, f"'{name}' items must be non-empty strings of at most {max_len}")
    return [item.strip() for item in value]
