"""OpenAPI 3.1 description of /api/v1 (kept true by tests/integration/test_openapi.py).

Request bodies are generated from the same `Field` lists the handlers parse with, so the document
cannot drift from what the server accepts; response shapes follow PROTOCOL.md (objects may carry
more properties than listed: the contract only ever grows).
"""

from __future__ import annotations

from typing import Any

from .body import Field
from .managers import CLOSE_FIELDS, NOTICE_FIELDS
from .public import RATING_FIELDS, TICKET_FIELDS
from .staff import AWAY_FIELDS, FINISH_FIELDS, TRANSFER_FIELDS

Schema = dict[str, Any]

PREFIX = "/api/v1"

# The away body is declared inline in staff.away; mirrored here (test_bad_input checks the server agrees).

TICKET_STATUSES = ["waiting", "called", "serving", "done", "no_show", "closed_out"]
COUNTER_STATES = ["closed", "open", "away"]
OUTCOMES = ["completed", "incomplete", "rejected", "consulted"]
PRINTER_STATES = ["ok", "paper_low", "paper_out", "offline", "none"]
COMPLAINT_STATUSES = ["open", "verified", "resolved", "dismissed"]

# Standard answers of every route that can give them; a route may say more about its own 404 or 409.
ERRORS = {
    400: ("BadRequest", "malformed_json: the body is not valid JSON; body_too_large: it exceeds max_body_bytes"),
    401: ("Unauthorized", "unauthorized: missing or invalid bearer token (or no session)"),
    403: ("Forbidden", "forbidden: this credential may not act here; csrf_failed for a session without X-CSRF-Token"),
    404: ("NotFound", "not_found: an unknown hall, service, counter, kiosk or ticket"),
    409: ("Conflict", "the hall's rules refuse this now; the code says which"),
    422: ("Unprocessable", "invalid_body, unknown_field or invalid_query: the input parsed but is not acceptable"),
    429: ("TooManyRequests", "rate_limited: too many requests from this kiosk or address; try again shortly"),
}
BODY_ERRORS = (400, 422)  # every route that reads a body can answer these


# ---------------------------------------------------------------- small schema helpers


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (JSON Schema 2020-12 has no `nullable`)."""
    if "type" in schema and "$ref" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out = {**schema, "type": [*types, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"oneOf": [schema, {"type": "null"}]}


def string(**kw: Any) -> Schema:
    return {"type": "string", **kw}


def integer(**kw: Any) -> Schema:
    return {"type": "integer", **kw}


def boolean(**kw: Any) -> Schema:
    return {"type": "boolean", **kw}


def array(items: Schema, **kw: Any) -> Schema:
    return {"type": "array", "items": items, **kw}


def enum(values: list[str], **kw: Any) -> Schema:
    return {"type": "string", "enum": list(values), **kw}


def timestamp(**kw: Any) -> Schema:
    return string(format="date-time", **kw)


def seconds(**kw: Any) -> Schema:
    return integer(minimum=0, **kw)


def obj(properties: dict[str, Schema], required: list[str] | None = None, **kw: Any) -> Schema:
    """An object; `required` defaults to every listed property (the contract's fields are always present)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **kw,
    }


# ---------------------------------------------------------------- request bodies from Field lists

_JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
}


def field_schema(field: Field, extra: Schema | None = None) -> Schema:
    """The JSON Schema of one `Field`, plus what the handler checks beyond it (enums, ranges, items)."""
    types = field.type if isinstance(field.type, tuple) else (field.type,)
    names = [_JSON_TYPES[t] for t in types]
    schema: Schema = {"type": names[0] if len(names) == 1 else names}
    if field.max_len is not None:
        if "string" in names:
            schema["maxLength"] = field.max_len
        if "array" in names:
            schema["maxItems"] = field.max_len
    schema.update(extra or {})
    return nullable(schema) if field.nullable else schema


def body_schema(fields: list[Field], extras: dict[str, Schema] | None = None, **kw: Any) -> Schema:
    """An object of exactly these fields: unknown ones are refused with 422 unknown_field."""
    extras = extras or {}
    return {
        "type": "object",
        "properties": {f.name: field_schema(f, extras.get(f.name)) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
        **kw,
    }


def request_body(schema_name: str, required: bool = True, description: str | None = None) -> Schema:
    body: Schema = {"required": required, "content": {"application/json": {"schema": ref(schema_name)}}}
    if description:
        body["description"] = description
    return body


NO_BODY = "NoBody"


def request_schemas() -> dict[str, Schema]:
    return {
        "TicketRequest": body_schema(
            TICKET_FIELDS,
            {
                "service": {"description": "a service id of the hall"},
                "priority": {"default": False, "description": "a priority ticket (elderly, disabled, ...)"},
                "kiosk": {"description": "print the ticket on this kiosk's printer"},
            },
        ),
        "RatingRequest": body_schema(
            RATING_FIELDS,
            {
                "level": {
                    "minimum": 1,
                    "maximum": 5,
                    "description": "5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意; 1 or 2 opens a complaint. "
                    "Integers are taken strictly: 5.0 and true are refused",
                },
            },
        ),
        "FinishRequest": body_schema(
            FINISH_FIELDS,
            {
                "outcome": {"enum": OUTCOMES},
                "missing": {
                    "items": string(minLength=1, maxLength=100, pattern=r"\S"),
                    "description": "what the resident must bring (一次性告知); only with the outcome 'incomplete'",
                },
            },
            # missing materials are listed only with the outcome "incomplete"
            **{
                "if": {"properties": {"outcome": {"const": "incomplete"}}, "required": ["outcome"]},
                "else": {"properties": {"missing": {"maxItems": 0}}},
            },
        ),
        "TransferRequest": body_schema(
            TRANSFER_FIELDS,
            {
                "service": {"description": "wait again for this service of the hall"},
                "counter": {"description": "wait again for this counter of the hall (open, or away and covered)"},
                "reason": {"description": "why it is handed on (kept in the ledger's chain of clerks)"},
            },
            oneOf=[{"required": ["service"]}, {"required": ["counter"]}],
        ),
        "AwayRequest": body_schema(AWAY_FIELDS),
        NO_BODY: body_schema([], description="no body, or an empty object"),
        "CloseDayRequest": body_schema(CLOSE_FIELDS, {"date": {"format": "date", "description": "default: today"}}),
        "NoticeRequest": body_schema(NOTICE_FIELDS, {"text": {"description": "one line for the displays"}}),
    }


# ---------------------------------------------------------------- response schemas (PROTOCOL.md)


def response_schemas() -> dict[str, Schema]:
    ticket_id = string(description="the ticket's id")
    counter_ref = nullable(string(description="a counter id"))
    return {
        "Error": obj(
            {
                "error": obj(
                    {
                        "code": string(pattern="^[a-z][a-z0-9_]*$", description="stable snake_case code"),
                        "message": string(description="readable text"),
                    }
                ),
            }
        ),
        "Health": obj(
            {"status": enum(["ok", "degraded"]), "database": string(description="when degraded: what failed")},
            required=["status"],
        ),
        "Hall": obj({"id": string(), "name": string()}),
        "Service": obj(
            {
                "id": string(),
                "name": string(),
                "name_en": string(),
                "prefix": string(),
                "open": boolean(description="taking tickets now"),
                "waiting": integer(minimum=0),
                "est_wait_s": seconds(description="estimated wait of a ticket taken now"),
                "served_now": boolean(
                    description="an open counter (or a partner covering an away one) serves this queue now;"
                    " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
                ),
                "kind": enum(["immediate", "promised"]),
                "time_limit_days": integer(minimum=0),
                "materials": array(string()),
                "fee": string(),
            },
            required=["id", "name", "prefix", "open", "waiting", "est_wait_s", "served_now"],
        ),
        "Counter": obj(
            {
                "id": string(),
                "name": string(),
                "number": integer(),
                "services": array(string(), description="service ids, in order of preference"),
                "partner": counter_ref,
                "state": enum(COUNTER_STATES),
            }
        ),
        "Kiosk": obj({"id": string(), "name": string(), "printer": obj({"state": enum(PRINTER_STATES)})}),
        "IssuedTicket": obj(
            {
                "id": ticket_id,
                "number": string(examples=["A001"]),
                "service": string(),
                "status": enum(TICKET_STATUSES),
                "priority": boolean(),
                "ahead": integer(minimum=0),
                "est_wait_s": seconds(),
                "served_now": boolean(
                    description="an open counter (or a partner covering an away one) serves this queue now;"
                    " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
                ),
                "issued_at": timestamp(),
                "track_url": string(format="uri", description="the resident's page, printed as the QR code"),
            },
            required=[
                "id",
                "number",
                "service",
                "status",
                "ahead",
                "est_wait_s",
                "served_now",
                "issued_at",
                "track_url",
            ],
        ),
        "Ticket": obj(
            {
                "id": ticket_id,
                "number": string(),
                "service": string(),
                "status": enum(TICKET_STATUSES),
                "priority": boolean(),
                "issued_at": timestamp(),
                "called_at": nullable(timestamp()),
                "started_at": nullable(timestamp()),
                "finished_at": nullable(timestamp()),
                "wait_s": seconds(),
                "service_s": seconds(),
                "served_by": counter_ref,
                "on_behalf_of": counter_ref,
            }
        ),
        "CounterAction": obj({"counter": ref("Counter"), "ticket": nullable(ref("Ticket"))}),
        "Track": obj(
            {
                "number": string(),
                "status": enum(TICKET_STATUSES),
                "ahead": integer(minimum=0),
                "est_wait_s": seconds(),
                "served_now": boolean(
                    description="an open counter (or a partner covering an away one) serves this queue now;"
                    " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
                ),
                "counter": nullable(string(description="the name of the counter that called it")),
                "can_rate": boolean(),
                "service": string(),
            },
            required=["number", "status", "ahead", "est_wait_s", "counter", "can_rate", "served_now"],
        ),
        "Rating": obj({"id": string(), "level": integer(minimum=1, maximum=5)}),
        "Complaint": obj(
            {
                "id": string(),
                "ticket": ticket_id,
                "number": string(),
                "level": integer(minimum=1, maximum=2),
                "comment": nullable(string()),
                "status": enum(COMPLAINT_STATUSES),
                "opened_at": timestamp(),
                "callback_due_at": timestamp(),
                "due_at": timestamp(),
            },
            required=["id", "ticket", "number", "level", "comment", "status", "due_at"],
        ),
        "LedgerEntry": {
            "allOf": [
                ref("Ticket"),
                obj(
                    {
                        "outcome": nullable(enum(OUTCOMES)),
                        "clerk": nullable(string()),
                        "counter": counter_ref,
                        "owner": counter_ref,
                        "recalls": integer(minimum=0),
                        "transfers": integer(minimum=0),
                        "missing": array(string()),
                        "day": string(format="date"),
                        "handoffs": array(
                            obj(
                                {
                                    "at": timestamp(),
                                    "counter": counter_ref,
                                    "clerk": nullable(string()),
                                    "to_service": nullable(string()),
                                    "to_counter": counter_ref,
                                    "reason": nullable(string()),
                                }
                            ),
                            description="首问负责: each transfer in order, who handed the ticket on, where to and why",
                        ),
                    },
                    required=["outcome", "clerk", "counter"],
                ),
            ],
        },
        "DailyReport": obj(
            {
                "date": string(format="date"),
                "issued": integer(minimum=0),
                "served": integer(minimum=0),
                "no_show": integer(minimum=0),
                "waiting": integer(minimum=0),
                "priority": integer(minimum=0),
                "avg_wait_s": seconds(),
                "p90_wait_s": seconds(),
                "avg_service_s": seconds(),
                "by_service": array(
                    obj(
                        {
                            "service": string(),
                            "issued": integer(minimum=0),
                            "served": integer(minimum=0),
                            "avg_wait_s": seconds(),
                        }
                    )
                ),
                "by_counter": array(
                    obj(
                        {
                            "counter": string(),
                            "served": integer(minimum=0),
                            "avg_service_s": seconds(),
                            "on_behalf": integer(minimum=0),
                        }
                    )
                ),
                "ratings": obj({str(level): integer(minimum=0) for level in range(1, 6)}),
            },
            required=[
                "date",
                "issued",
                "served",
                "no_show",
                "avg_wait_s",
                "p90_wait_s",
                "avg_service_s",
                "by_service",
                "by_counter",
                "ratings",
            ],
        ),
        "Call": obj(
            {
                "ticket": ticket_id,
                "number": string(),
                "counter": string(),
                "counter_name": nullable(string()),
                "counter_number": nullable(integer()),
                "service": string(),
                "recall": boolean(),
                "at": timestamp(),
            }
        ),
        "DisplaySnapshot": obj(
            {
                "calls": array(ref("Call"), description="latest calls first"),
                "waiting": {
                    "type": "object",
                    "additionalProperties": integer(minimum=0),
                    "description": "waiting tickets per service id",
                },
            }
        ),
    }


# ---------------------------------------------------------------- parameters and operations


def path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": string()}


def query_param(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


HALL = path_param("hall", "a hall id, as GET /api/v1/halls lists")
COUNTER = path_param("counter", "a counter id, as GET /api/v1/halls/{hall}/counters lists")
TOKEN = path_param("token", "the ticket's tracking token (the last part of its track_url)")

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]


def json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema | None = None, content: Schema | None = None) -> Schema:
    out: Schema = {"description": description}
    if content is not None or schema is not None:
        out["content"] = content if content is not None else json_content(schema or {})
    return out


def error(status: int, description: str | None = None) -> Schema:
    """A standard error answer, or one described for its route."""
    if description is None:
        return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    return answer(description, ref("Error"))


Operation = tuple[str, str, Schema]  # method, path under /api/v1, the operation object


def operation(
    method: str,
    path: str,
    operation_id: str,
    summary: str,
    tag: str,
    ok: Schema,
    *,
    status: int = 200,
    params: list[Schema] | None = None,
    body: Schema | None = None,
    errors: dict[int, str | None] | None = None,
    secured: bool = False,
    other: dict[int, Schema] | None = None,
) -> Operation:
    """One operation: its success answer, its errors (with the body errors when it reads one), its security.

    `errors` maps a status to its route's own description, or None for the standard one.
    """
    codes: dict[int, str | None] = dict(errors or {})
    if body is not None:
        for code in BODY_ERRORS:
            codes.setdefault(code, None)
    if secured:
        codes.setdefault(401, None)
        codes.setdefault(403, None)
    answers = {c: error(c, text) for c, text in codes.items()} | (other or {})
    op: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = {str(status): ok, **{str(c): answers[c] for c in sorted(answers)}}
    if secured:
        op["security"] = BEARER
    return method, path, op


def hall_list(path: str, operation_id: str, summary: str, item: str) -> Operation:
    """GET /halls/{hall}/...: a public list of one hall's things."""
    return operation(
        "get", path, operation_id, summary, "halls", answer(f"every {item.lower()} of the hall", array(ref(item))),
        params=[HALL], errors={404: None},
    )  # fmt: skip


def counter_action(
    action: str,
    operation_id: str,
    summary: str,
    body: Schema | None = None,
    conflicts: str = "no_ticket or wrong_status: the counter holds no ticket fit for this",
    not_found: str = "not_found: unknown counter",
) -> Operation:
    """POST /counters/{counter}/ACTION: answers the counter and the ticket it holds or touched."""
    return operation(
        "post", f"/counters/{{counter}}/{action}", operation_id, summary, "counters",
        answer("the counter and the ticket it now holds or touched", ref("CounterAction")),
        params=[COUNTER], body=body or request_body(NO_BODY, required=False),
        errors={404: not_found, 409: conflicts}, secured=True,
    )  # fmt: skip


def manager_report(path: str, operation_id: str, summary: str, ok: Schema, queries: list[Schema]) -> Operation:
    """GET /halls/{hall}/...: complaints, ledger and reports, for a supervisor or an admin."""
    return operation(
        "get", path, operation_id, summary, "reports", ok, params=[HALL, *queries],
        errors={404: None, **({422: "invalid_query: " + QUERY_PROBLEMS} if queries else {})}, secured=True,
    )  # fmt: skip


QUERY_PROBLEMS = "a missing or bad date (YYYY-MM-DD) or format, `to` before `from`, over 366 days"


def day(name: str, description: str) -> Schema:
    return query_param(name, string(format="date"), description, required=True)


def public_operations() -> list[Operation]:
    """public.py and spec.py: no authentication."""
    return [
        operation(
            "get", "/health", "health", "Is the server and its database up", "meta", answer("up", ref("Health")),
            other={503: answer("degraded: the database is unreachable", ref("Health"))},
        ),
        operation("get", "/openapi.json", "openapi", "This document", "meta",
                  answer("the OpenAPI 3.1 document", {"type": "object"})),
        operation("get", "/halls", "list_halls", "The halls this server runs", "halls",
                  answer("every hall", array(ref("Hall")))),
        hall_list("/halls/{hall}/services", "list_services", "The hall's services and their queues", "Service"),
        hall_list("/halls/{hall}/counters", "list_counters", "The hall's counters and their states", "Counter"),
        hall_list("/halls/{hall}/kiosks", "list_kiosks", "The hall's kiosks and their printers", "Kiosk"),
        operation(
            "get", "/halls/{hall}/display", "display_snapshot",
            "What the waiting-area display shows (for LED signs without Socket.IO)", "halls",
            answer("the latest calls and the waiting counts", ref("DisplaySnapshot")),
            params=[HALL], errors={404: None},
        ),
        operation(
            "post", "/halls/{hall}/tickets", "issue_ticket", "Take a ticket (the kiosk's call)", "tickets",
            answer("the new ticket", ref("IssuedTicket")), status=201,
            params=[HALL], body=request_body("TicketRequest"),
            errors={
                404: "not_found: unknown hall, service or kiosk",
                409: "service_closed (outside opening hours, or disabled) or daily_limit",
                429: None,
            },
        ),
        operation(
            "get", "/track/{token}", "track", "A resident's ticket", "tickets",
            answer("the ticket's place in the queue", ref("Track")),
            params=[TOKEN], errors={404: "not_found: unknown token"},
        ),
        operation(
            "post", "/track/{token}/rating", "rate", "Rate a served ticket (好差评)", "tickets",
            answer("the rating", ref("Rating")), status=201,
            params=[TOKEN], body=request_body("RatingRequest"),
            errors={
                404: "not_found: unknown token",
                409: "already_rated, or not_served before the ticket was finished",
                422: "invalid_body, unknown_field, or invalid_level for a level outside 1..5",
                429: None,
            },
        ),
    ]  # fmt: skip


def staff_operations() -> list[Operation]:
    """staff.py: a counter's token (its own counter), its hall's staff, or an admin."""
    return [
        operation(
            "get", "/counters/{counter}", "counter_state", "A counter and the ticket it holds", "counters",
            answer("the counter and its held ticket", ref("CounterAction")),
            params=[COUNTER], errors={404: None}, secured=True,
        ),
        counter_action("open", "open_counter", "Open the counter",
                       conflicts="counter_away: the counter is away; use back"),
        counter_action("close", "close_counter", "Close the counter",
                       conflicts="ticket_in_progress: finish, transfer or no-show the held ticket first;"
                       " covering: the away partner must come back first (不得空岗)"),
        counter_action("call-next", "call_next", "Call the next ticket (ticket null when none waits)",
                       conflicts="ticket_in_progress, or counter_not_open"),
        counter_action("recall", "recall", "Announce the held ticket again"),
        counter_action("start", "start", "Start serving the held ticket"),
        counter_action("finish", "finish", "Finish the held ticket", request_body("FinishRequest")),
        counter_action("no-show", "no_show", "The held ticket's resident did not come"),
        counter_action(
            "transfer", "transfer", "Send the held ticket to another service or counter",
            request_body("TransferRequest", description="exactly one of service or counter"),
            not_found="not_found: unknown counter, or unknown target service or counter of the hall",
            conflicts="no_ticket or wrong_status; same_counter; counter_not_open: the target counter is not open"
            " and no partner covers it",
        ),
        counter_action(
            "away", "away", "Step away; the partner counter covers", request_body("AwayRequest", required=False),
            conflicts="no_cover (the partner is not open), counter_not_open, or ticket_in_progress",
        ),
        counter_action("back", "back", "Come back; the partner stops covering", conflicts="counter_not_away"),
        manager_report(
            "/halls/{hall}/complaints", "complaints", "Complaint cases opened by bad ratings",
            answer("complaints, newest first", array(ref("Complaint"))), [],
        ),
        manager_report(
            "/halls/{hall}/ledger", "ledger", "The ledger (台账) of the tickets issued between two days",
            answer("the tickets in issue order", content={
                **json_content(array(ref("LedgerEntry"))),
                **FILE_CONTENT,
            }),
            [
                day("from", "the first hall-local day, YYYY-MM-DD"),
                day("to", "the last hall-local day, inclusive"),
                FORMAT,
            ],
        ),
        manager_report(
            "/halls/{hall}/reports/daily", "daily_report", "The day's summary",
            answer("the day's figures", content={**json_content(ref("DailyReport")), **FILE_CONTENT}),
            [day("date", "the hall-local day, YYYY-MM-DD"), FORMAT],
        ),
    ]  # fmt: skip


FILE_CONTENT: Schema = {
    "text/csv": {"schema": string(description="the same as CSV, UTF-8 with a BOM")},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": string(format="binary", description="the same as an XLSX workbook")
    },
}
FORMAT = query_param("format", enum(["json", "csv", "xlsx"], default="json"), "json (the default), csv or xlsx")
REPORT_BODY = {"type": "object", "description": "the report's figures (docs/api.md, Report figures)"}


def report_answer(description: str, schema: Schema | None = None) -> Schema:
    return answer(description, content={**json_content(schema or REPORT_BODY), **FILE_CONTENT})


def manager_operations() -> list[Operation]:
    """managers.py: reports, alerts, history, close-day and the notice line (supervisor or admin)."""
    deduction = obj(
        {"points": integer(minimum=0), "kind": string(), "reason": string(), "events": array(integer())},
        required=["points", "reason", "events"],
    )
    window = obj(
        {
            "counter": string(),
            "served": integer(minimum=0),
            "score": integer(minimum=0, maximum=100),
            "grade": enum(["优秀", "合格", "不合格"]),
            "deductions": array(deduction),
        },
        required=["counter", "served", "score", "grade", "deductions"],
    )
    monthly = obj(
        {
            "month": string(),
            "issued": integer(minimum=0),
            "served": integer(minimum=0),
            "no_show": integer(minimum=0),
            "avg_wait_s": seconds(),
            "satisfaction_rate": nullable({"type": "number", "minimum": 0, "maximum": 1}),
            "windows": array(window),
        },
        required=["month", "issued", "served", "no_show", "avg_wait_s", "satisfaction_rate", "windows"],
    )
    alert = obj(
        {
            "id": integer(),
            "kind": string(),
            "key": string(),
            "detail": {"type": "object"},
            "raised_at": timestamp(),
            "cleared_at": nullable(timestamp()),
        },
        required=["id", "kind", "detail", "raised_at"],
    )
    notice = obj({"text": string(maxLength=200), "updated_at": nullable(timestamp())}, required=["text"])
    return [
        manager_report(
            "/halls/{hall}/reports/weekly", "weekly_report", "每周一督查: the ISO week holding a day",
            report_answer("the week's figures, day by day too"), [day("date", "any day of the week"), FORMAT],
        ),
        manager_report(
            "/halls/{hall}/reports/monthly", "monthly_report", "每月一上报: the month's figures and window scores",
            report_answer("the month's figures; each deduction lists its ledger event ids", monthly),
            [query_param("month", string(pattern=r"^\d{4}-\d{2}$"), "the month, YYYY-MM", required=True), FORMAT],
        ),
        manager_report(
            "/halls/{hall}/reports/range", "range_report", "The figures over any range of days (at most 400)",
            report_answer("the range's figures"), [day("from", "first day"), day("to", "last day, inclusive"), FORMAT],
        ),
        manager_report(
            "/halls/{hall}/dashboard", "dashboard", "/admin's live state of the hall",
            answer("queues, windows and cover, today's throughput, alerts, complaints, printers", {"type": "object"}),
            [],
        ),
        manager_report(
            "/halls/{hall}/alerts", "alerts", "Alerts not yet cleared",
            answer("active alerts, oldest first", array(alert)), [],
        ),
        manager_report(
            "/halls/{hall}/history", "ticket_history", "A ticket's full event history",
            answer("the ticket and its ledger lines", {"type": "object"}),
            [
                query_param("ticket", string(maxLength=40), "a ticket id"),
                query_param("number", string(maxLength=40), "a ticket number such as A001"),
                query_param("date", string(format="date"), "the day of the number (default today)"),
            ],
        ),
        manager_report(
            "/halls/{hall}/events", "ledger_events", "Ledger lines by id (what a score deduction points to)",
            answer("the lines, in id order", array({"type": "object"})),
            [query_param("ids", string(maxLength=2000), "ledger event ids, comma-separated (1 to 100)", required=True)],
        ),
        operation(
            "post", "/halls/{hall}/close-day", "close_day", "Close out a day now (what `hallq close-day` does)",
            "reports", answer("tickets closed out and the day's summary", {"type": "object"}),
            params=[HALL], body=request_body("CloseDayRequest", required=False), errors={404: None}, secured=True,
        ),
        operation(
            "get", "/halls/{hall}/notice", "get_notice", "The display's notice line", "halls",
            answer("the notice line", notice), params=[HALL], errors={404: None},
        ),
        operation(
            "put", "/halls/{hall}/notice", "set_notice", "Set the display's notice line", "reports",
            answer("the notice line", notice), params=[HALL], body=request_body("NoticeRequest"),
            errors={404: None}, secured=True,
        ),
    ]  # fmt: skip


def paths() -> dict[str, dict[str, Schema]]:
    out: dict[str, dict[str, Schema]] = {}
    for method, path, op in [*public_operations(), *staff_operations(), *manager_operations()]:
        out.setdefault(PREFIX + path, {})[method] = op
    return out


def components() -> Schema:
    responses = {name: answer(text, ref("Error")) for name, text in ERRORS.values()}
    return {
        "schemas": {**response_schemas(), **request_schemas()},
        "responses": responses,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "`hallq token create --counter ID` (that counter) or `--role admin|supervisor`",
            },
            "sessionCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "a logged-in clerk's or manager's session (pages); writes need X-CSRF-Token",
            },
        },
    }


def document() -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "hallq",
            "version": "1",
            "description": "Queue and kiosk system of a public service hall (便民服务中心). Every error answers "
            '{"error": {"code": "<snake_case>", "message": "..."}}.',
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "meta", "description": "health and this document"},
            {"name": "halls", "description": "the hall's catalogue (no authentication)"},
            {"name": "tickets", "description": "kiosks and residents (no authentication)"},
            {
                "name": "counters",
                "description": "counter actions (that counter's token, its hall's staff, or an admin)",
            },
            {"name": "reports", "description": "complaints, ledger and reports (supervisor or admin)"},
        ],
        "paths": paths(),
        "components": components(),
    }
    return doc
