"""The OpenAPI 3.1 document of /api/v1, generated from the routes' declarations (route.py) and shapes (shapes/).

Nothing here describes a field: request bodies, queries and answers come from the same pydantic models the
handlers parse with, so the document cannot drift from the server. tests/integration/test_openapi.py keeps
it equal to the routes; the schemathesis run (tests/integration/test_conformance.py) checks real answers
against it.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .route import OPERATIONS, Operation
from .shapes.answers import Error
from .shapes.base import Schemas

Schema = dict[str, Any]

# Modules whose blueprints hold /api/v1 routes besides server.api (imported so their declarations exist).
ROUTE_MODULES = ("server.api", "kiosk.views", "display.views", "counter.views")

# Standard error answers: a route gives each of these when its declaration says it can (see `_errors`).
ERRORS = {
    400: ("BadRequest", "malformed_json: the body is not valid JSON; body_too_large: it exceeds max_body_bytes"),
    401: ("Unauthorized", "unauthorized: missing or invalid bearer token (or no session)"),
    403: ("Forbidden", "forbidden: this credential may not act here; csrf_failed for a session without X-CSRF-Token"),
    404: ("NotFound", "not_found: an unknown hall, service, counter, kiosk or ticket"),
    409: ("Conflict", "the hall's rules refuse this now; the code says which"),
    422: ("Unprocessable", "invalid_body or unknown_field: the body parsed but is not acceptable"),
    429: ("TooManyRequests", "rate_limited: too many requests from this kiosk or address; try again shortly"),
}

# Descriptions of the operations' tags (a tag missing here is listed with its name alone).
TAGS = {
    "meta": "health and this document",
    "halls": "the hall's catalogue (no authentication)",
    "tickets": "kiosks and residents (no authentication)",
    "counters": "counter actions (that counter's token, its hall's staff, or an admin)",
    "reports": "complaints, ledger and reports (supervisor or admin)",
    "kiosks": "enrolling kiosk browsers, staff alerts (supervisor or admin)",
    "printing": "kiosk slips: reprint and print jobs (supervisor or admin)",
    "matters": "matters that outlive the visit (办件): staff open and progress them, managers list them",
}

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "`hallq token create --counter ID` (that counter), `--kiosk ID` (that kiosk's tickets) "
        "or `--role admin|supervisor`",
    },
    "kioskDevice": {
        "type": "apiKey",
        "in": "cookie",
        "name": "hq_kiosk",
        "description": "an enrolled kiosk page's device cookie (HttpOnly, SameSite=Strict): lets it name its kiosk",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "a logged-in clerk's or manager's session (pages); writes need X-CSRF-Token",
    },
}
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]
PARAMETERS = {
    "hall": "a hall id, as GET /api/v1/halls lists",
    "counter": "a counter id, as GET /api/v1/halls/{hall}/counters lists",
    "token": "the ticket's tracking token (the last part of its track_url)",
    "kiosk": "a kiosk id, as GET /api/v1/halls/{hall}/kiosks lists",
    "ticket": "a ticket's id (as the issue answer and the ledger give it)",
    "complaint": "a complaint case id, as GET /api/v1/halls/{hall}/complaints lists",
    "alert": "an alert id, as GET /api/v1/halls/{hall}/alerts lists (digits)",
}
REQUEST_ID = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}


def operations() -> list[Operation]:
    """Every declared /api/v1 operation, in declaration order."""
    for module in ROUTE_MODULES:
        importlib.import_module(module)
    return [op for op in OPERATIONS.values() if op.path.startswith("/api/v1/")]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _models(shape: Any) -> list[type[BaseModel]]:
    """The models a shape (a model, list[model], dict[str, model]) is made of."""
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return [shape]
    return [m for arg in get_args(shape) for m in _models(arg)]


def _schema_of(shape: Any) -> Schema:
    if isinstance(shape, dict):
        return shape  # a schema given as is (this document's own answer)
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return ref(shape.__name__)
    if get_origin(shape) is list:
        return {"type": "array", "items": _schema_of(get_args(shape)[0])}
    raise TypeError(f"no schema for {shape!r}")


def _answer(description: str, shape: Any = None, media: dict[str, str] | None = None) -> Schema:
    out: Schema = {"description": description, "headers": REQUEST_ID}
    if shape is not None:
        content: Schema = {"application/json": {"schema": _schema_of(shape)}}
        for kind, text in (media or {}).items():
            content[kind] = {"schema": {"type": "string", "description": text}}
        out["content"] = content
    return out


def _errors(op: Operation) -> dict[int, str | None]:
    """The error statuses a route can give: its own, plus those that follow from its declaration."""
    codes: dict[int, str | None] = {}
    if op.body is not None:
        codes |= {400: None, 422: None}
    if op.query is not None:
        codes[422] = "invalid_query: a missing or bad query parameter"
    if "<" in op.path:
        codes[404] = None
    if op.secured:
        codes |= {401: None, 403: None}
    return codes | op.errors


def _parameters(op: Operation) -> list[Schema]:
    params = [
        {"name": name, "in": "path", "required": True, "description": PARAMETERS.get(name, name),
         "schema": {"type": "string"}}
        for name in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", op.path)
    ]  # fmt: skip
    for name, header in op.headers.items():
        params.append({"name": name, "in": "header", "required": False, **header})
    if op.query is not None and issubclass(op.query, BaseModel):
        query = op.query.model_json_schema(by_alias=True, schema_generator=Schemas)
        for name, prop in query["properties"].items():
            described = _not_null({k: v for k, v in prop.items() if k != "description"})
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in query.get("required", []),
                    "description": prop.get("description", name),
                    "schema": described,
                }
            )
    return params


def _not_null(schema: Schema) -> Schema:
    """A query parameter's schema without null: an absent parameter is how a query says "none"."""
    if "anyOf" in schema:
        rest = [s for s in schema["anyOf"] if s != {"type": "null"}]
        schema = {
            **{k: v for k, v in schema.items() if k != "anyOf"},
            **(rest[0] if len(rest) == 1 else {"anyOf": rest}),
        }
    if isinstance(schema.get("type"), list):
        kinds = [k for k in schema["type"] if k != "null"]
        schema = {**schema, "type": kinds[0] if len(kinds) == 1 else kinds}
        if "enum" in schema:
            schema["enum"] = [v for v in schema["enum"] if v is not None]
    return schema


def _operation(op: Operation) -> Schema:
    out: Schema = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    params = _parameters(op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        body: Schema = {"required": op.body_required}
        if op.body.__doc__:
            body["description"] = op.body.__doc__.strip()
        out["requestBody"] = {**body, "content": {"application/json": {"schema": ref(op.body.__name__)}}}
    responses = {str(op.status): _answer(op.ok_description or op.summary, op.ok, op.media)}
    for status, (text, shape) in op.answers.items():
        responses[str(status)] = _answer(text, shape)
    for status, own in sorted(_errors(op).items()):
        if own is None:
            responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
        else:
            responses[str(status)] = _answer(own, Error)
    out["responses"] = dict(sorted(responses.items()))
    if op.secured:
        out["security"] = BEARER
    return out


def _components(ops: list[Operation]) -> Schema:
    models: list[type[BaseModel]] = [Error]
    for op in ops:
        models += _models(op.ok) + (_models(op.body) if op.body else [])
        for _, shape in op.answers.values():
            models += _models(shape)
    unique = list(dict.fromkeys(models))
    _, defs = models_json_schema(
        [(m, "validation") for m in unique], ref_template="#/components/schemas/{model}", schema_generator=Schemas
    )
    return {
        "schemas": dict(sorted(defs.get("$defs", {}).items())),
        "responses": {name: _answer(text, Error) for name, text in ERRORS.values()},
        "headers": {
            "RequestId": {
                "description": "the request's id (yours, if you sent a sane X-Request-Id); the logs carry it",
                "required": True,
                "schema": {"type": "string"},
            }
        },
        "securitySchemes": SECURITY_SCHEMES,
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process: the routes do not change while it runs)."""
    ops = operations()
    paths: dict[str, Schema] = {}
    for op in ops:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", op.path)
        paths.setdefault(path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hallq",
            "version": "1",
            "description": "Queue and kiosk system of a public service hall (便民服务中心). Every error answers "
            '{"error": {"code": "<snake_case>", "message": "..."}}.',
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag, "description": TAGS.get(tag, tag)} for tag in dict.fromkeys(op.tag for op in ops)],
        "paths": paths,
        "components": _components(ops),
    }
