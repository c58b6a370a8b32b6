"""Reading request bodies and queries through their shapes: every bad input is a 4xx with the error body.

The JSON is read and cleaned here (400 for what is not JSON, NaN and Infinity included; NUL dropped, lone
surrogates replaced; an integral number such as 5.0 read as the integer 5, as JSON Schema counts it); the shape
(shapes/) then decides what is acceptable (422), with one readable message.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from server.engine.errors import HallError

from .route import current_operation
from .shapes.base import Body, Query


def json_object(optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; {} for an empty body when `optional`."""
    raw = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()  # a chunked body is cut at the limit, not refused: refuse it here
    if not raw.strip(b" \t\r\n"):  # JSON's whitespace only (bytes.strip() also takes VT and FF: not JSON)
        if optional:
            return {}
        raise HallError("invalid_body", 422, "a JSON object body is required")
    try:
        data = json.loads(raw, parse_float=_number, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise HallError("malformed_json", 400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HallError("invalid_body", 422, "the body must be a JSON object")
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


# Digits before the point of the largest integral number read as an integer: far beyond any field's maximum,
# while 1e999999999 (a few bytes) does not become a number of a billion digits.
_INTEGRAL_DIGITS = 30


def _number(text: str) -> int | float:
    """A JSON number with a fraction or an exponent: an integer when it has no fractional part (5.0, 1e3).

    JSON Schema (2020-12, OpenAPI 3.1) says 5.0 is an integer, so the document's integer fields take it; the
    shapes stay strict (true is not 1, 5.5 is no integer, "5" is a string). Decided on the exact decimal, so
    9007199254740993.0 is 9007199254740993, not the nearest double.
    """
    try:
        exact = Decimal(text)
    except InvalidOperation:  # an exponent beyond the decimal context's (1e9999999999999999999): no integer
        return float(text)  # inf or 0.0, refused by any field as the shapes refuse 1e999
    if exact.adjusted() < _INTEGRAL_DIGITS and exact == exact.to_integral_value():
        return int(exact)
    return float(text)


def _not_json(name: str) -> Any:
    """NaN, Infinity and -Infinity: Python's json reads them, JSON has no such numbers."""
    raise ValueError(f"{name} is not JSON")


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


B = TypeVar("B", bound=Body)
Q = TypeVar("Q", bound=Query)

# pydantic error types that say "not this JSON type" (the value itself is not looked at)
_WRONG_TYPE = ("_type", "is_instance_of", "int_from_float", "model_attributes_type", "dict_type", "list_type")


def read_body(model: type[B]) -> B:
    """The request's body, checked against `model`: the one its route declares (route.py)."""
    op = current_operation()
    if op.body is not model:
        raise RuntimeError(f"{op.operation_id} declares {op.body} as its body, not {model}")
    data = json_object(optional=not op.body_required)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _refusal(model, e, "invalid_body") from None


def read_query(model: type[Q]) -> Q:
    """The query parameters `model` names (the first value of each), checked; others are ignored."""
    op = current_operation()
    if op.query is not model:
        raise RuntimeError(f"{op.operation_id} declares {op.query} as its query, not {model}")
    names = [f.alias or name for name, f in model.model_fields.items()]
    try:
        return model.model_validate({n: request.args[n] for n in names if n in request.args})
    except ValidationError as e:
        raise _refusal(model, e, "invalid_query") from None


def _refusal(model: type[BaseModel], e: ValidationError, code: str) -> HallError:
    """One readable 422 for a body or query that parsed but is not acceptable; an unknown field first."""
    errors = e.errors(include_url=False, include_input=False)
    unknown = sorted(str(err["loc"][0]) for err in errors if err["type"] == "extra_forbidden")
    if unknown:
        return HallError("unknown_field", 422, f"unknown field: {unknown[0][:40]}")
    err = errors[0]
    loc = err["loc"]
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return HallError(code, 422, f"'{name}' is required")
    if kind.endswith(_WRONG_TYPE):
        return HallError(code, 422, f"'{name}' has the wrong type")
    codes: dict[str, str] = getattr(model, "codes", {})
    code = codes.get(str(loc[0]), code) if loc else code
    if kind in ("string_too_long", "too_long"):
        message = f"is too long (at most {ctx.get('max_length')})"
    elif kind in ("enum", "literal_error"):
        message = f"must be one of {ctx.get('expected', '').replace(' or ', ', ')}"
    elif kind in ("string_too_short", "string_pattern_mismatch"):
        message = "must not be blank"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = _range(model, str(loc[0])) if len(loc) == 1 else err["msg"]
    else:
        message = err["msg"]  # the model's own rule (PydanticCustomError), already readable
    return HallError(code, 422, f"'{name}' {message}" if name else message)


def _range(model: type[BaseModel], field: str) -> str:
    """'must be an integer from 1 to 5', from the field's own bounds."""
    metadata = model.model_fields[field].metadata
    low = next((m.ge for m in metadata if getattr(m, "ge", None) is not None), "…")
    high = next((m.le for m in metadata if getattr(m, "le", None) is not None), "…")
    return f"must be an integer from {low} to {high}"
