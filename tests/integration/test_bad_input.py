"""Hostile input on every route of the OpenAPI document: never a 5xx, always the error body.

The sweeps run on the app in-process (Flask's test client, support/app.py: the same WSGI app, bytes for bytes);
what only a real HTTP server sees (an overlong request line, raw bytes on the wire through eventlet's parser)
is sent to a real server as well (`live_ctx`).

Cases are generated from the document itself (its paths, parameters and request body schemas), so a new route
or field is covered as soon as it is documented; test_openapi.py keeps the document equal to the server's routes.
Staff routes are called with an admin token, so authorization is never what stops a case. Where a body's
validity can be decided from its schema, the server must agree: an invalid body is a 400/422.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy import text
from support.app import AppHall
from support.databases import TABLES, reset
from support.fixtures import KINDS
from support.server import Server

from server.api.openapi import document
from server.config import load_config

DOC = document()
SCHEMAS = DOC["components"]["schemas"]
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as documented: /api/v1/halls/{hall}/tickets
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path.removeprefix('/api/v1')}"

    @property
    def secured(self) -> bool:
        return "security" in self.spec

    @property
    def body_schema(self) -> dict[str, Any] | None:
        body = self.spec.get("requestBody")
        if body is None:
            return None
        return resolve(body["content"]["application/json"]["schema"])

    @property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    def documents(self, status: int) -> bool:
        return str(status) in self.spec["responses"]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]  # type: ignore[no-any-return]
    return schema


def valid(schema: dict[str, Any], body: Any) -> bool:
    """Whether the schema (its $refs resolved against the document) accepts the body."""
    return Draft202012Validator({**schema, "components": DOC["components"]}).is_valid(body)


OPERATIONS = [Operation(method, path, spec) for path, item in DOC["paths"].items() for method, spec in item.items()]
WITH_BODY = [op for op in OPERATIONS if op.body_schema is not None]
WITH_PATH_PARAMS = [op for op in OPERATIONS if op.params("path")]
WITH_QUERY = [op for op in OPERATIONS if op.params("query")]
SECURED = [op for op in OPERATIONS if op.secured]


def by_id(ops: list[Operation]) -> Any:
    return pytest.mark.parametrize("op", ops, ids=[op.id for op in ops])


# ---------------------------------------------------------------- talking to the server byte for byte


@dataclass
class Answer:
    status: int
    content_type: str
    raw: bytes


def send(
    server: AppHall | Server,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request, the target sent exactly as given (no normalisation of ../ or %xx)."""
    if isinstance(server, AppHall):
        reply = server.send(method.upper(), target, body, headers)
        return Answer(reply.status_code, reply.headers.get("Content-Type", ""), reply.content)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        try:
            conn.request(method.upper(), target, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (400) before reading a large body; its answer is still there
        response = conn.getresponse()
        return Answer(response.status, response.getheader("Content-Type") or "", response.read())
    finally:
        conn.close()


@dataclass
class Context:
    """What a case needs: the server, an admin token, real ids for the path, the server's body limit."""

    server: AppHall | Server
    admin: str
    values: dict[str, str]
    max_body: int
    failures: list[str] = field(default_factory=list)

    def call(
        self,
        op: Operation,
        label: str,
        *,
        path: dict[str, str] | None = None,
        query: str = "",
        body: bytes | None = None,
        content_type: str | None = "application/json",
        auth: str | None = None,
        expect: set[int] | None = None,
        documented: bool = True,
    ) -> Answer:
        """Send one case and record what is wrong with its answer (all failures are reported together)."""
        target = fill(op.path, {**self.values, **(path or {})}) + query
        headers = {}
        if content_type is not None and body is not None:
            headers["Content-Type"] = content_type
        token = self.admin if auth is None and op.secured else auth
        if token is not None:
            headers["Authorization"] = token if token.startswith(("Bearer", "Basic", "bearer")) else f"Bearer {token}"
        answer = send(self.server, op.method, target, body, headers)
        problem = judge(op, answer, expect, documented)
        if problem:
            self.failures.append(f"{op.id} [{label}] {target[:100]}: {problem}")
        return answer

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} bad answers:\n" + "\n".join(self.failures[:40])


def fill(path: str, values: dict[str, str]) -> str:
    """The documented path with each {name} replaced by its value, percent-encoded unless marked raw."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match[1], "x")
        return value.removeprefix(RAW) if value.startswith(RAW) else quote(value, safe="")

    return re.sub(r"{([^}]+)}", one, path)


RAW = "\x01raw:"  # a path value sent as is: "../" stays "../", "%00" stays "%00"


def judge(op: Operation, answer: Answer, expect: set[int] | None, documented: bool) -> str | None:
    """What is wrong with an answer: a 5xx, an unexpected or undocumented status, an error body not as agreed."""
    head = f"{answer.status} {answer.raw[:300]!r}"
    if answer.status >= 500:
        return f"server error: {head}"
    if expect is not None and answer.status not in expect:
        return f"expected {sorted(expect)}, got {head}"
    if documented and not op.documents(answer.status):
        return f"status not in the document: {head}"
    if answer.status < 400:
        return None
    if not answer.content_type.startswith("application/json"):
        return f"error without JSON ({answer.content_type!r}): {head}"
    try:
        body = json.loads(answer.raw)
    except ValueError:
        return f"error body is not JSON: {head}"
    error = body.get("error") if isinstance(body, dict) else None
    if set(body) != {"error"} or not isinstance(error, dict):
        return f"error body is not {{'error': {{...}}}}: {head}"
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not SNAKE.fullmatch(code):
        return f"error code is not snake_case: {head}"
    if not isinstance(message, str) or not message:
        return f"error message missing: {head}"
    return None


APPLICANT = {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"}


def a_matter(hall: AppHall | Server, token: str) -> str:
    """A 全程代办 matter (PROTOCOL v1.2), for the routes that name one."""
    r = hall.post("/api/v1/halls/town/matters", {"service": "social", "applicant": APPLICANT, "proxy": True}, token)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def make_context(hall: AppHall | Server) -> Context:
    complaint = a_complaint(hall, hall.admin_token())
    ticket = hall.issue("id-card")
    assert hall.act("w2", "help", token=hall.admin_token()).status_code == 200  # a 求助 to acknowledge (issue 24)
    alerts = hall.get("/api/v1/halls/town/alerts", hall.admin_token()).json()
    values = {
        "alert": str(next(a["id"] for a in alerts if a["kind"] == "help")),
        "complaint": complaint,
        "hall": "town",
        "counter": "w1",
        "kiosk": "k1",
        "token": ticket["track_url"].rsplit("/", 1)[1],
        "ticket": ticket["id"],
        "matter": a_matter(hall, hall.admin_token()),
        "region": "城区",
        "service": "id-card",
    }
    limit = load_config(hall.config).settings.limits.max_body_bytes
    return Context(hall, hall.admin_token(), values, limit)


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


@pytest.fixture
def ctx(hall: AppHall) -> Context:
    return make_context(hall)


def _state(hall: AppHall, ctx: Context) -> tuple[Any, ...]:
    """What a refused request must leave as it was: every table's row count, the ledger's last line, each
    counter's state, and the rows the context names (gone after another test emptied the database)."""
    with hall.ctx.db.read() as s:
        counts = tuple(s.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in TABLES)  # noqa: S608
        last = s.execute(text("SELECT max(id) FROM ledger")).scalar()
        desks = s.execute(text("SELECT id, state, held_ticket, clerk FROM counters ORDER BY id")).all()
        named = s.execute(
            text("SELECT status FROM tickets WHERE id = :t UNION ALL SELECT status FROM complaints WHERE id = :c"),
            {"t": ctx.values["ticket"], "c": ctx.values["complaint"]},
        ).all()
    return counts, last, tuple(map(tuple, desks)), tuple(map(tuple, named))


_KEPT: dict[str, tuple[AppHall, Context, tuple[Any, ...]]] = {}


@pytest.fixture(params=KINDS)
def refused_ctx(request: pytest.FixtureRequest, app_halls: Any) -> Iterator[Context]:
    """For sweeps whose every answer is a refusal (401, 404, 405): the context made once per kind and kept
    while the database stays exactly as it was, which each test then checks: a refused request writes nothing.
    Another test having changed the database (the app is shared) makes it anew."""
    hall: AppHall = app_halls.get(request.param)
    kept = _KEPT.get(request.param)
    if kept is None or kept[0] is not hall or _state(hall, kept[1]) != kept[2]:
        reset(hall.database)
        hall.clock.offset = timedelta(0)
        ctx = make_context(hall)
        hall.settle()
        kept = _KEPT[request.param] = (hall, ctx, _state(hall, ctx))
    ctx = replace(kept[1], failures=[])
    try:
        yield ctx
    finally:
        hall.close_sockets()
        hall.settle()
    assert _state(hall, ctx) == kept[2], "a refused request changed the database"


@pytest.fixture
def live_ctx(live_servers: Any) -> Context:
    """A real server (SQLite): eventlet's HTTP parser sees the raw bytes."""
    server = live_servers.get("sqlite")
    reset(server.database)
    return make_context(server)


# ---------------------------------------------------------------- bodies, from the schemas

# Realistic values for the fields the hall knows; anything else gets a value made from its schema.
KNOWN = {"service": "id-card", "counter": "w3", "kiosk": "k1", "level": 5, "outcome": "completed", "comment": "好",
         "note": "已办结", "reason": "午休", "missing": [], "priority": False, "applicant": APPLICANT,
         "status": "in_progress"}  # fmt: skip


def example(schema: dict[str, Any]) -> Any:
    """A small value the schema accepts."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = next(t for t in kind if t != "null") if isinstance(kind, list) else kind
    if kind == "object":
        required = list(schema.get("required", []))
        for branch in (schema.get("oneOf") or schema.get("anyOf") or [])[:1]:
            required += branch.get("required", [])
        props = schema.get("properties", {})
        return {name: KNOWN.get(name, example(props.get(name, {}))) for name in required}
    return {"string": "x", "integer": schema.get("minimum", 1), "number": 1.5, "boolean": False, "array": []}.get(
        kind, "x"
    )


WRONG_VALUES: list[Any] = [
    12345, -1, 0, 1.5, 10**30, "text", "", " ", True, False, None, [], [1, "a"], {"nested": {"deep": [1, {"x": None}]}},
    "身份证办理", "😀" * 10, "a\x00b", "\ud800", "'; DROP TABLE tickets; --", "<script>alert(1)</script>",
    "x" * 60_000,  # huge, yet under the body limit (64 KiB in the test hall)
]  # fmt: skip


def boundary_values(schema: dict[str, Any]) -> list[Any]:
    """Values just past what the schema allows, of the right type."""
    schema = resolve(schema)  # an enum of the engine is a named schema
    out: list[Any] = []
    if "maxLength" in schema:
        out += ["x" * (schema["maxLength"] + 1), "字" * (schema["maxLength"] + 1)]
    if "maxItems" in schema:
        out.append(["户口簿"] * (schema["maxItems"] + 1))
    if "items" in schema:
        items = schema["items"]
        out += [[1], [None], [""], ["   "], [["nested"]], ["x" * (items.get("maxLength", 100) + 1)], ["户口簿"]]
    if "minimum" in schema:
        out += [schema["minimum"] - 1, schema["minimum"] * 1.0]
    if "maximum" in schema:
        out.append(schema["maximum"] + 1)
    if "enum" in schema:
        out += ["nope", str(schema["enum"][0]).upper()]
    return out


def body_cases(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, JSON value): the valid example with one thing wrong at a time."""
    base = example(schema)
    assert valid(schema, base), f"cannot make a valid example of {schema}"
    cases: list[tuple[str, Any]] = [("valid example", base)]
    for name, prop in schema.get("properties", {}).items():
        for value in [*WRONG_VALUES, *boundary_values(prop)]:
            cases.append((f"{name}={short(value)}", {**base, name: value}))
        if name in schema.get("required", []):
            cases.append((f"without {name}", {k: v for k, v in base.items() if k != name}))
    for key in ["zzz", "Service", "", "__proto__", "x" * 1000, "身份"]:
        cases.append((f"unknown field {short(key)}", {**base, key: 1}))
    cases.append(("every field null", dict.fromkeys(schema.get("properties", {}))))
    return cases


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII escapes: lone surrogates and NUL travel as \ud800 and \u0000


RAW_BODIES: list[tuple[str, bytes, set[int] | None]] = [
    ("truncated JSON", b'{"service": ', {400}),
    ("single quotes", b"{'service': 'id-card'}", {400}),
    ("trailing comma", b'{"a": 1,}', {400}),
    ("not UTF-8", b"\xff\xfe\xfd\x00", {400}),
    ("bare word", b"nul", {400}),
    ("two objects", b"{}{}", {400}),
    ("arrays nested 50000 deep", b"[" * 50_000, {400}),
    ("objects nested 10000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, {400}),
    ("JSON array", b"[]", {422}),
    ("array of a valid body", b'[{"service": "id-card"}]', {422}),
    ("JSON string", b'"id-card"', {422}),
    ("JSON number", b"42", {422}),
    ("JSON null", b"null", {422}),
    ("JSON true", b"true", {422}),
    ("NaN", b'{"level": NaN, "x": NaN}', {400}),  # Python's json reads it; JSON has no NaN
    ("Infinity", b'{"level": Infinity}', {400}),
    ("infinite number", b'{"level": 1e999}', {422}),
    ("exponent past any decimal", b'{"level": 1e9999999999999999999, "x": 1e-9999999999999999999}', {422}),
    ("duplicate keys, last wrong", b'{"service": "id-card", "service": 5, "outcome": "x", "outcome": 5}', {422}),
]


@by_id(WITH_BODY)
def test_bad_bodies_are_refused_with_the_error_body(ctx: Context, op: Operation) -> None:
    schema = op.body_schema
    assert schema is not None
    for label, raw, expect in RAW_BODIES:
        ctx.call(op, label, body=raw, expect=expect)
    for label, raw in [("empty body", b""), ("blank body", b" \r\n\t ")]:
        ctx.call(op, label, body=raw, expect={422} if op.body_required else None)
    ctx.call(
        op,
        "form-encoded",
        body=b"service=id-card&level=5",
        content_type="application/x-www-form-urlencoded",
        expect={400},
    )
    multipart = b'--b\r\nContent-Disposition: form-data; name="service"\r\n\r\nid-card\r\n--b--\r\n'
    ctx.call(op, "multipart", body=multipart, content_type="multipart/form-data; boundary=b", expect={400})
    ctx.call(op, "2 MB body", body=b'{"a": "' + b"x" * 2_000_000 + b'"}', expect={400})
    just_over = dumps({"comment": "x" * ctx.max_body})[: ctx.max_body + 1]
    ctx.call(op, "one byte over max_body_bytes", body=just_over, expect={400})
    base = example(schema)
    for content_type in ["text/plain", "application/xml", "application/json; charset=latin-1", None]:
        ctx.call(op, f"valid body as {content_type}", body=dumps(base), content_type=content_type)
    for label, value in body_cases(schema):
        ctx.call(op, label, body=dumps(value), expect=None if valid(schema, value) else {400, 422})
    ctx.check()


# ---------------------------------------------------------------- path parameters and queries

ABSURD_PATH_VALUES = [
    "x" * 2000, "窗口", "😀", "..", RAW + "..", RAW + "../..", RAW + "..%2F..%2Fetc%2Fpasswd", "../../etc/passwd",
    RAW + "%00", "\x00", RAW + "%ff%fe", RAW + "%ed%a0%80", RAW + "%2e%2e", " ", "a b", "<script>", "' OR 1=1 --",
    "town\n", "TOWN", "w1;w2", "%", RAW + "%", "{hall}", "null", "0", "-1",
]  # fmt: skip


@by_id(WITH_PATH_PARAMS)
def test_absurd_path_parameters_are_not_found(refused_ctx: Context, op: Operation) -> None:
    schema = op.body_schema
    body = dumps(example(schema)) if schema is not None else None  # a valid body: only the path is wrong
    for param in op.params("path"):
        for value in ABSURD_PATH_VALUES:
            # a value with a slash may lead to another route (404) or another route's methods (405)
            refused_ctx.call(
                op,
                f"{param['name']}={short(value)}",
                path={param["name"]: value},
                body=body,
                expect={404, 405},
                documented=False,
            )
    refused_ctx.check()


def test_an_overlong_url_is_refused_without_a_server_error(live_ctx: Context) -> None:
    """Past the HTTP server's request-line limit (8 KiB) the answer comes from the server's HTTP layer."""
    answer = send(live_ctx.server, "GET", "/api/v1/halls/" + "x" * 9000 + "/counters")
    assert 400 <= answer.status < 500


RAW_OPS = [op for op in WITH_BODY if op.params("path")][:1] + [op for op in WITH_QUERY][:1]


@by_id(RAW_OPS)
def test_raw_bytes_through_the_real_http_server(live_ctx: Context, op: Operation) -> None:
    """Bad paths, bodies and headers on the wire: eventlet's parser hands the app what it gets, or refuses."""
    schema = op.body_schema
    body = dumps(example(schema)) if schema is not None else None
    for param in op.params("path"):
        for value in ABSURD_PATH_VALUES:
            live_ctx.call(op, f"{param['name']}={short(value)}", path={param["name"]: value}, body=body,
                          expect={404, 405}, documented=False)  # fmt: skip
    if schema is not None:
        for label, raw, expect in RAW_BODIES:
            live_ctx.call(op, label, body=raw, expect=expect)
        live_ctx.call(op, "2 MB body", body=b'{"a": "' + b"x" * 2_000_000 + b'"}', expect={400})
    query = "?" + urlencode(good_query(op)) if op.params("query") else "?"
    live_ctx.call(op, "NUL and bad UTF-8 in the query", query=query + "&%00=%ff&x=%00%00", body=body)
    live_ctx.call(op, "Authorization: Bearer é", query=query, body=body, auth="Bearer \u00e9",
                  expect={401} if op.secured else None)  # fmt: skip
    live_ctx.check()


BAD_QUERY_VALUES: list[tuple[str, bool]] = [  # (value, certainly invalid for a date or an enum)
    ("", True), ("yesterday", True), ("2024-13-01", True), ("2024-02-30", True), ("2024-1-1x", True),
    ("99999-01-01", True), ("x" * 2000, True), ("\x00", True), ("２０２４-０１-０１", False), ("' OR 1=1 --", True),
    ("2024-01-01T00:00:00", False), ("20240101", False), ("0001-01-01", False), ("9999-12-31", False),
]  # fmt: skip


def good_query(op: Operation) -> dict[str, str]:
    """Valid values for the operation's required query parameters: a day, a month (YYYY-MM) or event ids."""
    if op.path.endswith("/history"):  # one of ticket or number is needed, neither is required alone
        return {"number": "A001"}
    return {p["name"]: good_value(p) for p in op.params("query") if p["required"]}


def good_value(param: dict[str, Any]) -> str:
    pattern = param["schema"].get("pattern")
    if pattern is not None and re.search(pattern, "2024-01"):  # a month
        return "2024-01"
    return "1,2" if param["name"] == "ids" else "2024-01-01"


@by_id(WITH_QUERY)
def test_bad_query_values_are_refused(ctx: Context, op: Operation) -> None:
    base = good_query(op)
    found = {200, 404} if op.path.endswith("/history") else {200}  # a well-formed number nobody took: 404
    ctx.call(op, "valid query", query="?" + urlencode(base), expect=found)
    for param in op.params("query"):
        name = param["name"]
        if param["required"]:
            rest = {k: v for k, v in base.items() if k != name}
            ctx.call(op, f"without {name}", query="?" + urlencode(rest), expect={422})
        for value, invalid in BAD_QUERY_VALUES:
            query = "?" + urlencode({**base, name: value})
            ctx.call(op, f"{name}={short(value)}", query=query, expect={422} if invalid else None)
        for raw in [f"{name}=%00", f"{name}=%ff%fe", f"{name}=%", f"{name}&{name}=2024-01-01", f"{name}[]=1"]:
            ctx.call(op, raw, query="?" + urlencode(base) + "&" + raw)
    if {"from", "to"} <= {p["name"] for p in op.params("query")}:
        for first, last in [("2024-01-02", "2024-01-01"), ("0001-01-01", "9999-12-31"), ("2023-01-01", "2024-01-03")]:
            # Any range of real dates is answered: an inverted one is empty, a long one lists what there is.
            # A report over a range computes figures per day, so it refuses an inverted or over-long one (422).
            # Slots (PROTOCOL v1.2) answer at most 31 days: 422 invalid_query beyond, or for an inverted range.
            expect = {200, 422} if "/reports/" in op.path or op.path.endswith("/slots") else {200}
            ctx.call(op, f"from {first} to {last}", query="?" + urlencode({"from": first, "to": last}), expect=expect)
    ctx.check()


# ---------------------------------------------------------------- everything else on every route


@by_id(OPERATIONS)
def test_junk_around_a_valid_request_is_harmless(ctx: Context, op: Operation) -> None:
    schema = op.body_schema
    body = dumps(example(schema)) if schema is not None else b"{not json"  # GET bodies are never read
    query = "?" + urlencode(good_query(op)) if op.params("query") else "?"
    for label, junk in [
        ("NUL and bad UTF-8 in the query", "&%00=%ff&x=%00%00"),
        ("long query", "&q=" + "x" * 6000),
        ("repeated keys", "&a=1&a=2&a=3"),
        ("no value", "&flag"),
    ]:
        ctx.call(op, label, query=query + junk, body=body)
    for label, headers in [
        ("bogus X-Request-Id", {"X-Request-Id": "../\u00e9" * 50}),
        ("Accept XML", {"Accept": "application/xml"}),
        ("Content-Encoding gzip on plain bytes", {"Content-Encoding": "gzip"}),
    ]:
        answer = send(
            ctx.server,
            op.method,
            fill(op.path, ctx.values) + query,
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {ctx.admin}", **headers},
        )
        problem = judge(op, answer, None, True)
        if problem:
            ctx.failures.append(f"{op.id} [{label}]: {problem}")
    ctx.check()


@pytest.mark.parametrize("path", sorted(DOC["paths"]), ids=lambda p: p.removeprefix("/api/v1"))
def test_undocumented_methods_are_405(refused_ctx: Context, path: str) -> None:
    for method in sorted({"get", "post", "put", "patch", "delete"} - set(DOC["paths"][path])):
        refused_ctx.call(Operation(method, path, {}), method.upper(), body=b"{}", expect={405}, documented=False)
    refused_ctx.check()


@by_id(SECURED)
def test_bad_credentials_are_401(refused_ctx: Context, op: Operation) -> None:
    schema = op.body_schema
    body = dumps(example(schema)) if schema is not None else None
    query = "?" + urlencode(good_query(op)) if op.params("query") else ""
    for token in [
        "Bearer",
        "Bearer ",
        "Bearer x",
        "Bearer " + "x" * 5000,
        "Basic YWRtaW46YWRtaW4=",
        "Bearer hq_zzz.zzz",
        "Bearer " + refused_ctx.admin + "x",
        "bearer  " + refused_ctx.admin[:-1],
        "Bearer \u00e9",
    ]:
        refused_ctx.call(op, f"Authorization: {short(token)}", query=query, body=body, auth=token, expect={401})
    refused_ctx.check()


# ---------------------------------------------------------------- text that reaches the database

NASTY_TEXT = {
    "nul": "a\x00b",
    "lone surrogate": "\ud800",
    "reversed surrogates": "\udfff\ud800",
    "emoji and nul": "😀\x00",
    "invisible marks": "\u202e\u200b\ufeff",
}


def served_token(hall: AppHall, admin: str) -> str:
    """The tracking token of a ticket that w1 has just finished (w1 is left open, holding nothing)."""
    token = hall.issue("id-card")["track_url"].rsplit("/", 1)[1]
    hall.act("w1", "open", token=admin)
    assert hall.act("w1", "call-next", token=admin).json()["ticket"] is not None
    assert hall.act("w1", "finish", {"outcome": "completed"}, token=admin).status_code == 200
    return token


def a_complaint(hall: Any, admin: str) -> str:
    """The id of an open complaint case (a served ticket rated 1); w1 is then closed again."""
    token = served_token(hall, admin)
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1}).status_code == 201
    assert hall.act("w1", "close", token=admin).status_code == 200
    return str(hall.get("/api/v1/halls/town/complaints", admin).json()[0]["id"])


def nothing(hall: AppHall, admin: str) -> dict[str, str]:
    return {}


def served(hall: AppHall, admin: str) -> dict[str, str]:
    return {"token": served_token(hall, admin)}


def holding(hall: AppHall, admin: str) -> dict[str, str]:
    """w1 open and holding a called ticket."""
    hall.issue("id-card")
    hall.act("w1", "open", token=admin)
    assert hall.act("w1", "call-next", token=admin).json()["ticket"] is not None
    return {}


def partners_open(hall: AppHall, admin: str) -> dict[str, str]:
    for counter in ("w1", "w2"):
        assert hall.act(counter, "open", token=admin).status_code == 200
    return {}


@dataclass(frozen=True)
class TextCase:
    prepare: Callable[[AppHall, str], dict[str, str]]  # the state that lets the text reach the database
    path: str
    body: Callable[[str], dict[str, Any]]
    expect: set[int]  # stored, or refused as a bad body; for an id, not found


TEXT_CASES = {
    "ticket service": TextCase(nothing, "/halls/{hall}/tickets", lambda t: {"service": t}, {404, 422}),
    "ticket kiosk": TextCase(nothing, "/halls/{hall}/tickets", lambda t: {"service": "id-card", "kiosk": t},
                             {403, 422}),
    "rating comment": TextCase(served, "/track/{token}/rating", lambda t: {"level": 2, "comment": t}, {201, 422}),
    "finish note": TextCase(holding, "/counters/{counter}/finish", lambda t: {"outcome": "completed", "note": t},
                            {200, 422}),
    "finish missing": TextCase(holding, "/counters/{counter}/finish",
                               lambda t: {"outcome": "incomplete", "missing": [t]}, {200, 422}),
    "transfer service": TextCase(holding, "/counters/{counter}/transfer", lambda t: {"service": t}, {404, 422}),
    "transfer counter": TextCase(holding, "/counters/{counter}/transfer", lambda t: {"counter": t}, {404, 422}),
    "away reason": TextCase(partners_open, "/counters/{counter}/away", lambda t: {"reason": t}, {200, 422}),
}  # fmt: skip


@pytest.mark.parametrize("text", NASTY_TEXT.values(), ids=NASTY_TEXT.keys())
@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_nul_and_lone_surrogates_are_stored_or_refused(hall: AppHall, case: str, text: str) -> None:
    """NUL (which PostgreSQL text refuses) and lone surrogates (which UTF-8 cannot encode) in free-text fields."""
    spec = TEXT_CASES[case]
    admin = hall.admin_token()
    values = {"hall": "town", "counter": "w1", **spec.prepare(hall, admin)}
    op = next(o for o in OPERATIONS if o.path == "/api/v1" + spec.path and o.method == "post")
    ctx = Context(hall, admin, values, 0)
    ctx.call(op, case, body=dumps(spec.body(text)), expect=spec.expect)
    ctx.check()


# ---------------------------------------------------------------- fuzzing the kiosk's and the resident's bodies

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 8)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # NaN and Infinity are no JSON: RAW_BODIES sends them
    | st.text(max_size=20)
    | st.sampled_from(["id-card", "closed", "water", "social", "k1", "", "x" * 41])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def objects(schema: dict[str, Any], plausible: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Mostly near-valid objects of the schema's fields, sometimes anything JSON."""
    props = sorted(schema["properties"])
    required = schema.get("required", [])
    near = st.fixed_dictionaries(
        {name: plausible[name] | JSON_VALUES for name in required},
        optional={name: plausible[name] | JSON_VALUES for name in props if name not in required},
    )
    loose = st.dictionaries(st.sampled_from(props) | st.text(max_size=8), JSON_VALUES, max_size=4)
    return st.one_of(near, near, loose, JSON_VALUES)


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
TICKET_SCHEMA = SCHEMAS["TicketRequest"]
RATING_SCHEMA = SCHEMAS["RatingRequest"]


@FUZZ
@given(
    body=objects(
        TICKET_SCHEMA,
        {
            "service": st.sampled_from(["id-card", "social", "water", "closed", "nowhere"]) | st.text(max_size=45),
            "priority": st.booleans(),
            "kiosk": st.none() | st.just("k1") | st.text(max_size=45),
            "notice": st.none() | st.text(max_size=45),
            "remote": st.booleans(),
            "phone": st.none() | st.just("13812345678") | st.text(max_size=30),
        },
    )
)
def test_fuzzed_ticket_bodies(hall: AppHall, body: Any) -> None:
    r = send(hall, "POST", "/api/v1/halls/town/tickets", dumps(body), {"Content-Type": "application/json"})
    op = next(o for o in OPERATIONS if o.spec["operationId"] == "issue_ticket")
    # naming a real kiosk without its credential is 403 (PROTOCOL.md amendment v1.1)
    expect = {201, 403, 404, 409} if valid(TICKET_SCHEMA, body) else {422}
    if isinstance(body, dict) and (body.get("remote") or body.get("phone") is not None):
        expect |= {422}  # PROTOCOL v1.2: a remote ticket's phone, and remote without phone (or with a kiosk)
    assert judge(op, r, expect, True) is None, f"{body!r}: {judge(op, r, expect, True)}"


def _phone_ok(body: Any) -> bool:
    """The call-back phone, when given, must be a real number (422 invalid_phone), not only a short string."""
    from server.engine.privacy import NotAPhone, callback_number

    phone = body.get("phone") if isinstance(body, dict) else None
    if not isinstance(phone, str) or not phone.strip():
        return True
    try:
        callback_number(phone.strip())
    except NotAPhone:
        return False
    return True


@FUZZ
@given(
    body=objects(
        RATING_SCHEMA,
        {
            "level": st.integers(0, 6),
            "comment": st.none() | st.text(max_size=510),
            "tags": st.lists(st.sampled_from(["wait_long", "attitude", "praise", "nope"]), max_size=3),
            "phone": st.none() | st.sampled_from(["13812345678", "0571-88881234", "", "12345"]) | st.text(max_size=33),
        },
    )
)
def test_fuzzed_rating_bodies(hall: AppHall, body: Any) -> None:
    admin = hall.admin_token()
    ok = valid(RATING_SCHEMA, body) and _phone_ok(body)
    # a valid body needs a fresh served ticket to be stored; an invalid one is refused whatever the ticket
    # ("social" is a service w1 never calls, so it cannot get ahead of served_token's ticket)
    token = served_token(hall, admin) if ok else hall.issue("social")["track_url"].rsplit("/", 1)[1]
    r = send(hall, "POST", f"/api/v1/track/{token}/rating", dumps(body), {"Content-Type": "application/json"})
    op = next(o for o in OPERATIONS if o.spec["operationId"] == "rate")
    expect = {201} if ok else {422}
    assert judge(op, r, expect, True) is None, f"{body!r}: {judge(op, r, expect, True)}"
