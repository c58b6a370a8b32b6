"""The OpenAPI document of /api/v1: valid OpenAPI 3.1, one operation per route, and true to what the server answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from support.env import ROOT

from server.api.openapi import document
from server.app import create_app
from server.auth import create_token
from server.config import load_config
from server.engine.model import ComplaintStatus, CounterState, Outcome, PrinterState, ServiceKind, TicketStatus

HALL_TOML = ROOT / "tests" / "data" / "test_hall.toml"
PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The real app on a fresh SQLite database, without eventlet."""
    monkeypatch.setenv("HALLQ_ASYNC_MODE", "threading")
    monkeypatch.delenv("HALLQ_DATABASE_URL", raising=False)
    flask_app, _ = create_app(load_config(HALL_TOML, data_dir=tmp_path))
    try:
        yield flask_app
    finally:
        hallq = flask_app.extensions["hallq"]
        hallq.printing.stop()
        # Publishing reads the database from background threads: let them finish before it closes
        # (closing SQLite under a reading thread crashes the interpreter).
        assert hallq.publisher.flush(), "the publisher did not finish its work in time"
        hallq.ctx.db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def flask_routes(app: Flask) -> set[tuple[str, str]]:
    """(method, path) of every rule under /api/v1, with <name> written {name} as OpenAPI does."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(method.lower(), path) for method in (rule.methods or set()) - IGNORED_METHODS}
    return found


def documented_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items() for method in item}


def response_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON Schema the document gives for this answer, resolvable against the document's components."""
    answer = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return {**answer["content"]["application/json"]["schema"], "components": doc["components"]}


def check_answer(doc: dict[str, Any], method: str, path: str, response: Any) -> Any:
    """The response's JSON, after checking its status is documented and its body fits the documented schema."""
    responses = doc["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{method} {path} answered {response.status_code}, undocumented"
    body = response.get_json()
    errors = sorted(
        Draft202012Validator(response_schema(doc, method, path, response.status_code)).iter_errors(body), key=str
    )
    assert not errors, f"{method} {path} {response.status_code}: {errors[0].message} at {list(errors[0].path)}"
    return body


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document()
    validate(doc, cls=OpenAPIV31SpecValidator)
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"] == [{"url": "/"}]
    bearer = doc["components"]["securitySchemes"]["bearerAuth"]
    assert bearer["type"] == "http" and bearer["scheme"] == "bearer"


def test_every_route_is_documented_and_nothing_else(app: Flask) -> None:
    doc = document()
    routes, documented = flask_routes(app), documented_routes(doc)
    assert routes, "no /api/v1 route registered"
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations the server does not have"


def test_every_operation_is_complete() -> None:
    doc = document()
    operation_ids = []
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            operation_ids.append(op["operationId"])
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == names, f"{method} {path}: path parameters {params} != {names}"
            for status, answer in op["responses"].items():
                if int(status) >= 400 and status != "503":
                    target = answer.get("$ref") or answer["content"]["application/json"]["schema"]["$ref"]
                    assert target.endswith(("/Error",)) or target.startswith("#/components/responses/")
            if "requestBody" in op:
                assert {"400", "422"} <= set(op["responses"]), f"{method} {path}: body errors"
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                body = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                assert body["additionalProperties"] is False
            secured = (
                path.startswith((PREFIX + "/counters/", PREFIX + "/complaints/", PREFIX + "/matters/"))
                or any(
                    path.endswith(tail)
                    for tail in (
                        "/complaints",
                        "/ledger",
                        "/alerts",
                        "/history",
                        "/close-day",
                        "/events",
                        "/dashboard",
                        "/enrollments",
                        "/reprint",
                        "/print-jobs",
                        "/matters",
                        "/deliveries",  # outbound events (issue 21)
                        "/resend",
                        "/evaluations",
                        "/evaluations/summary",
                        "/overview",
                        "/regions",
                        "/appeals",
                        "/cancel",  # PROTOCOL v1.2: a supervisor's corrections of a ticket
                        "/reactivate",
                        "/acknowledge",  # issue 24: a supervisor answers a counter's 求助
                    )
                )
                or "/reports/" in path
                or (path.endswith("/notice") and method == "put")
                or (path.endswith("/appointments") and method == "get")  # PROTOCOL v1.2: the day's list, staff
                or path.endswith(("/blocks", "/lift"))  # no-show blocks: supervisors and admins
            )
            assert ("security" in op) == secured, f"{method} {path}: security"
            if secured:
                assert {"401", "403"} <= set(op["responses"]) and {"bearerAuth": []} in op["security"]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_request_bodies_are_the_handlers_shapes() -> None:
    schemas = document()["components"]["schemas"]
    ticket = schemas["TicketRequest"]
    assert ticket["required"] == ["service"]
    assert ticket["properties"]["service"]["maxLength"] == 40
    assert ticket["properties"]["priority"]["type"] == "boolean"
    assert ticket["properties"]["kiosk"]["type"] == ["string", "null"]
    rating = schemas["RatingRequest"]["properties"]
    assert (rating["level"]["type"], rating["level"]["minimum"], rating["level"]["maximum"]) == ("integer", 1, 5)
    assert rating["comment"]["type"] == ["string", "null"] and rating["comment"]["maxLength"] == 500
    finish = schemas["FinishRequest"]
    assert finish["properties"]["outcome"] == {"$ref": "#/components/schemas/Outcome"}
    for enum in (Outcome, TicketStatus, CounterState, ComplaintStatus, PrinterState, ServiceKind):  # the engine's
        assert schemas[enum.__name__]["enum"] == [member.value for member in enum]
    assert finish["properties"]["missing"]["maxItems"] == 30
    assert set(schemas["TransferRequest"]["properties"]) == {"service", "counter", "reason"}
    assert schemas["AwayRequest"]["properties"]["reason"]["maxLength"] == 200


def test_the_server_serves_the_document(client: FlaskClient) -> None:
    r = client.get(PREFIX + "/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.get_json() == document()


def test_answers_fit_the_documented_schemas(app: Flask, client: FlaskClient) -> None:
    """A day at the hall through the test client: every answer's status and body is as documented."""
    doc = document()
    admin = {"Authorization": "Bearer " + create_token(app.extensions["hallq"].ctx, "admin")}

    def call(method: str, template: str, url: str, body: Any = None, auth: bool = False) -> Any:
        send = getattr(client, method)
        r = send(PREFIX + url, json=body, headers=admin if auth else {})
        return check_answer(doc, method, PREFIX + template, r), r.status_code

    for template, url in [
        ("/health", "/health"),
        ("/halls", "/halls"),
        ("/halls/{hall}/services", "/halls/town/services"),
        ("/halls/{hall}/counters", "/halls/town/counters"),
        ("/halls/{hall}/kiosks", "/halls/town/kiosks"),
        ("/halls/{hall}/display", "/halls/town/display"),
        ("/halls/{hall}/counters", "/halls/nowhere/counters"),
    ]:
        call("get", template, url)

    ticket, status = call("post", "/halls/{hall}/tickets", "/halls/town/tickets", {"service": "id-card"})
    assert status == 201
    token = ticket["track_url"].rsplit("/", 1)[1]
    call("post", "/halls/{hall}/tickets", "/halls/town/tickets", {"service": "closed"})  # 409
    call("post", "/halls/{hall}/tickets", "/halls/town/tickets", {"service": 1})  # 422
    _, status = call("post", "/halls/{hall}/tickets", "/halls/town/tickets", {"service": "id-card", "kiosk": "k1"})
    assert status == 403
    enrollment, status = call("post", "/kiosks/{kiosk}/enrollments", "/kiosks/k1/enrollments", auth=True)
    assert status == 201 and "/kiosk/k1/enroll?code=" in enrollment["url"]
    call("post", "/kiosks/{kiosk}/enrollments", "/kiosks/k1/enrollments")  # 401
    alerts, status = call("get", "/halls/{hall}/alerts", "/halls/town/alerts", auth=True)
    assert status == 200 and alerts == []
    call("get", "/track/{token}", f"/track/{token}")
    call("post", "/track/{token}/rating", f"/track/{token}/rating", {"level": 5})  # 409 not_served

    counter = "/counters/{counter}"
    call("get", counter, "/counters/w1")  # 401
    call("get", counter, "/counters/w1", auth=True)
    for action, body in [("open", None), ("call-next", None), ("recall", None), ("start", None),
                         ("finish", {"outcome": "incomplete", "missing": ["户口簿"]}), ("finish", None)]:  # fmt: skip
        answer, _ = call("post", f"{counter}/{action}", f"/counters/w1/{action}", body, auth=True)
    assert answer["error"]["code"] in ("no_ticket", "invalid_body")

    _, status = call("post", "/track/{token}/rating", f"/track/{token}/rating", {"level": 1, "comment": "太慢"})
    assert status == 201
    call("post", "/track/{token}/rating", f"/track/{token}/rating", {"level": 7})

    call("post", f"{counter}/open", "/counters/w2/open", auth=True)
    hall = "/halls/{hall}"
    complaints, _ = call("get", f"{hall}/complaints", "/halls/town/complaints", auth=True)
    assert len(complaints) == 1
    day = ticket["issued_at"][:10]
    ledger, _ = call("get", f"{hall}/ledger", f"/halls/town/ledger?from={day}&to={day}", auth=True)
    assert len(ledger) == 1 and ledger[0]["outcome"] == "incomplete"
    call("get", f"{hall}/ledger", "/halls/town/ledger?from=x", auth=True)  # 422
    report, _ = call("get", f"{hall}/reports/daily", f"/halls/town/reports/daily?date={day}", auth=True)
    assert report["served"] == 1
    for action, body in [("away", {"reason": "午休"}), ("back", None), ("call-next", None),
                         ("transfer", {"service": "social"}), ("no-show", None), ("close", None)]:  # fmt: skip
        call("post", f"{counter}/{action}", f"/counters/w1/{action}", body, auth=True)
