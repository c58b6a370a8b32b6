"""Declaring a route once: its URL, the shapes it reads and answers, and the errors it can give.

`@operation(...)` registers the Flask view and records what the OpenAPI document says of it
(openapi.py); `read_body`/`read_query` (body.py) parse with the shapes declared here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, request

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    method: str  # lower case, as OpenAPI writes it
    path: str  # the full Flask rule: /api/v1/halls/<hall>/tickets
    operation_id: str
    summary: str
    tag: str
    ok: Any  # the success answer's shape: a model, list[model], or None for no JSON schema
    status: int = 200
    ok_description: str = ""
    body: type | None = None
    body_required: bool = True
    query: type | None = None
    errors: dict[int, str | None] = field(default_factory=dict)  # route-specific descriptions (None: standard)
    secured: bool = False
    media: dict[str, str] = field(default_factory=dict)  # other content types of the success answer
    answers: dict[int, tuple[str, Any]] = field(default_factory=dict)  # other non-error answers
    headers: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # request headers it reads: {"description", "schema"}


OPERATIONS: dict[str, Operation] = {}  # by Flask endpoint


def operation(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    ok: Any,
    tag: str,
    status: int = 200,
    ok_description: str = "",
    body: type | None = None,
    body_required: bool = True,
    query: type | None = None,
    errors: dict[int, str | None] | None = None,
    secured: bool = False,
    media: dict[str, str] | None = None,
    answers: dict[int, tuple[str, Any]] | None = None,
    headers: dict[str, dict[str, Any]] | None = None,
    summary: str = "",
) -> Callable[[F], F]:
    """Register `rule` on `bp` for `method` and describe it; the view's docstring is its summary."""

    def register(view: F) -> F:
        endpoint = f"{bp.name}.{view.__name__}"
        if endpoint in OPERATIONS:
            raise RuntimeError(f"{endpoint} is declared twice")
        OPERATIONS[endpoint] = Operation(
            method=method.lower(),
            path=(bp.url_prefix or "") + rule,
            operation_id=view.__name__,
            summary=summary or (view.__doc__ or view.__name__).strip().splitlines()[0].rstrip("."),
            tag=tag,
            ok=ok,
            status=status,
            ok_description=ok_description,
            body=body,
            body_required=body_required,
            query=query,
            errors=dict(errors or {}),
            secured=secured,
            media=dict(media or {}),
            answers=dict(answers or {}),
            headers=dict(headers or {}),
        )
        bp.add_url_rule(rule, view_func=view, methods=[method.upper()])
        return view

    return register


def current_operation() -> Operation:
    """The declaration of the route serving this request."""
    found = OPERATIONS.get(request.endpoint or "")
    if found is None:
        raise RuntimeError(f"{request.endpoint} was registered without @operation")
    return found
