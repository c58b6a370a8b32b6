"""What the OpenAPI document calls valid, the server accepts (schemathesis' positive data acceptance, ST202).

An outside schemathesis run on 2026-12-07 sent requests the document allows and the server refused with 422:
- integral numbers written with a fraction or exponent (`{"valid_minutes": 434.0}`, `{"delivery": 1343754.0}`):
  JSON Schema 2020-12, which the OpenAPI 3.1 document uses, counts them integers;
- the month `0000-01`: the document's pattern allowed year 0000 (and any Unicode digit, `\\d`), the server not;
- a ticket body with a phone but not `remote`, or `remote` with a kiosk: a rule the server kept to itself.
And a body holding NaN or Infinity (Python's json reads them; JSON has none) is not JSON: 400 malformed_json.

Rules between two values that JSON Schema cannot state (`to` before `from`, a range's length, a day not yet
begun, an ID number's check digit, a real phone number) stay the server's; their descriptions say them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from support.app import AppHall
from test_appointments import MONDAY, SHANGHAI, Frozen, book, run_jobs, set_clock
from test_appointments import edit as with_appointments

from server.api.openapi import document
from server.api.shapes.bodies import ComplaintNote, LiftRequest, NamedCallRequest
from server.api.shapes.matters import ProgressRequest
from server.api.shapes.outbound import AppealDecision, AppealRequest

TICKETS = "/api/v1/halls/town/tickets"


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def _valid(schema_name: str, body: Any) -> bool:
    doc = document()
    schema = {**doc["components"]["schemas"][schema_name], "components": doc["components"]}
    return Draft202012Validator(schema).is_valid(body)


def _served_token(hall: AppHall) -> str:
    t = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "start")
    assert hall.act("w1", "finish", {"outcome": "completed"}).status_code == 200
    return str(t["track_url"].rsplit("/", 1)[1])


def _code(r: Any) -> str:
    return str(r.json()["error"]["code"])


@pytest.mark.parametrize("raw", [b'{"level": 4.0}', b'{"level": 4e0}', b'{"level": 0.4e1}', b'{"level": 4.000}'])
def test_an_integral_number_is_an_integer(hall: AppHall, raw: bytes) -> None:
    assert _valid("RatingRequest", {"level": 4.0})  # what JSON Schema says, and so the document
    r = hall.send("POST", f"/api/v1/track/{_served_token(hall)}/rating", raw, {"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["level"] == 4


def test_integral_numbers_in_every_integer_field(hall: AppHall) -> None:
    admin = hall.admin_token()
    r = hall.post("/api/v1/kiosks/k1/enrollments", {"valid_minutes": 434.0}, admin)
    assert r.status_code == 201, r.text
    r = hall.post("/api/v1/halls/town/evaluations/resend", {"delivery": 1343754.0}, admin)
    assert r.status_code != 422, r.text  # an unknown delivery, read as the integer it is
    r = hall.post("/api/v1/halls/town/evaluations/resend", {"delivery": 1343754.5}, admin)
    assert r.status_code == 422 and _code(r) == "invalid_body", r.text


@pytest.mark.parametrize(
    "level", [4.5, True, "4", 1e30, 5.0000000000000001e1], ids=["fraction", "true", "string", "huge", "50"]
)
def test_what_is_no_integer_or_out_of_range_is_still_refused(hall: AppHall, level: Any) -> None:
    r = hall.post(f"/api/v1/track/{_served_token(hall)}/rating", {"level": level})
    assert r.status_code == 422, r.text
    assert not _valid("RatingRequest", {"level": level})


def test_a_huge_exponent_is_no_giant_integer(hall: AppHall) -> None:
    token = _served_token(hall)
    beyond = (b'{"level": 1e9999999999999999999}', b'{"level": 1e-9999999999999999999}')  # past Decimal's range
    for raw in (b'{"level": 1e999999999}', b'{"level": 1e-999999999}', b'{"level": -0.0e5}', *beyond):
        r = hall.send("POST", f"/api/v1/track/{token}/rating", raw, {"Content-Type": "application/json"})
        assert r.status_code == 422, (raw, r.text)


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(hall: AppHall, word: str) -> None:
    token = _served_token(hall)
    for raw in (f'{{"level": {word}}}', f'{{"level": 5, "comment": "ok", "tags": [{word}]}}'):
        r = hall.send("POST", f"/api/v1/track/{token}/rating", raw.encode(), {"Content-Type": "application/json"})
        assert r.status_code == 400 and _code(r) == "malformed_json", r.text
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 5})
    assert r.status_code == 201, r.text  # nothing was stored: the first rating is still to come


def test_the_documents_month_is_the_servers_month(hall: AppHall) -> None:
    admin = hall.admin_token()
    params = document()["paths"]["/api/v1/halls/{hall}/reports/monthly"]["get"]["parameters"]
    pattern = next(p for p in params if p["name"] == "month")["schema"]["pattern"]
    assert "\\d" not in pattern  # a Python-regex tool would write Arabic-Indic digits for it
    for month, ok in [("0001-01", True), ("9999-12", True), ("2026-10", True), ("0000-01", False),
                      ("2026-13", False), ("2026-00", False), ("٢٠٢٦-01", False), ("2026-1", False)]:  # fmt: skip
        assert bool(re.search(pattern, month)) is ok, month
        r = hall.get(f"/api/v1/halls/town/reports/monthly?month={quote(month)}", admin)
        assert (r.status_code == 200) is ok, (month, r.status_code, r.text)
        if not ok:
            assert r.status_code == 422 and _code(r) == "invalid_query", r.text


REMOTE_BODIES: list[tuple[dict[str, Any], bool]] = [
    ({"service": "id-card", "remote": True, "phone": "13812345678"}, True),
    ({"service": "id-card", "remote": True, "phone": "13812345679", "kiosk": None, "notice": "", "priority": False},
     True),
    ({"service": "id-card", "phone": "13812345670"}, False),  # a phone, not remote
    ({"service": "id-card", "remote": False, "phone": ""}, False),
    ({"service": "id-card", "remote": True}, False),  # remote without a phone
    ({"service": "id-card", "remote": True, "phone": None}, False),
    ({"service": "id-card", "remote": True, "phone": "13812345671", "kiosk": "k1"}, False),
    ({"service": "id-card", "remote": True, "phone": "13812345672", "priority": True}, False),
    ({"service": "id-card", "remote": True, "phone": "13812345673", "notice": "ABCDE-FGHIJ"}, False),
    ({"service": "id-card", "remote": False, "phone": None}, True),
]  # fmt: skip


def test_the_document_states_the_remote_ticket_rule(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=with_appointments)
    for body, ok in REMOTE_BODIES:
        assert _valid("TicketRequest", body) is ok, body
        r = app.post(TICKETS, body)
        if ok:
            assert r.status_code == 201, (body, r.text)
        else:
            assert r.status_code == 422 and _code(r) == "invalid_body", (body, r.text)
            assert "remote ticket takes" in r.json()["error"]["message"], r.text


APPLICANT = {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"}
HAND_OVERS: list[tuple[dict[str, Any], bool]] = [
    ({"counter": "w2", "reason": "请假"}, True),
    ({"counter": "w1", "owner": None, "reason": "回来了"}, True),
    ({"reason": "请假"}, False),  # neither a new owner nor a window
    ({"owner": None, "counter": None, "reason": "请假"}, False),
    ({"counter": "w2", "reason": " \t"}, False),  # a blank reason
]


def test_the_document_states_what_a_matters_hand_over_and_applicant_need(hall: AppHall) -> None:
    admin = hall.admin_token()
    blank = {"service": "social", "applicant": {**APPLICANT, "name": "   "}}
    assert not _valid("MatterRequest", blank)
    r = hall.post("/api/v1/halls/town/matters", blank, admin)
    assert r.status_code == 422, r.text
    opened = {"service": "social", "applicant": APPLICANT}
    assert _valid("MatterRequest", opened)
    r = hall.post("/api/v1/halls/town/matters", opened, admin)
    assert r.status_code == 201, r.text
    matter = r.json()["id"]
    for body, ok in HAND_OVERS:
        assert _valid("HandOverRequest", body) is ok, body
        r = hall.post(f"/api/v1/matters/{matter}/owner", body, admin)
        assert r.status_code == (200 if ok else 422), (body, r.text)


def test_a_blank_note_or_reason_is_refused_by_the_document_as_by_the_server(hall: AppHall) -> None:
    """A complaint step's note, an appeal's reason and its decision's note must say something: the document says
    so now (schemathesis sent `" "` and `""` as valid), and the server's answer keeps the case's own code."""
    from test_appeals import bad_case

    for name, field, extra in (
        ("ComplaintNote", "note", {}),
        ("AppealRequest", "reason", {}),
        ("AppealDecision", "note", {"decision": "rejected"}),
    ):
        assert _valid(name, {field: "已回访", **extra})
        for blank in ("", " ", "\u3000\t"):
            assert not _valid(name, {field: blank, **extra}), (name, blank)
    # What Python's strip() takes for space, every regex flavour's pattern refuses too: pydantic's (Rust) and
    # ECMAScript's \S let U+001C..U+001F through (ECMAScript U+0085 too), and the server then found them blank.
    shapes = {"ComplaintNote": ComplaintNote, "AppealRequest": AppealRequest, "AppealDecision": AppealDecision,
              "NamedCallRequest": NamedCallRequest, "LiftRequest": LiftRequest}  # fmt: skip
    for name, shape in shapes.items():
        field, extra = ("note", {"decision": "rejected"} if name == "AppealDecision" else {})
        field = "reason" if name in ("AppealRequest", "NamedCallRequest", "LiftRequest") else field
        extra |= {"number": "A001"} if name == "NamedCallRequest" else {}
        assert shape.model_validate({field: "已回访", **extra})
        for blank in ("\x1c", " \x1f\x1e ", "\x85", "\x1d\u3000"):
            assert "\\x1c-\\x1f\\x85" in document()["components"]["schemas"][name]["properties"][field]["pattern"]
            with pytest.raises(ValidationError):
                shape.model_validate({field: blank, **extra})
    case = bad_case(hall)
    admin = hall.admin_token()
    for path, body in (
        ("verify", {"note": " "}),
        ("appeal", {"reason": "\u3000"}),
        ("appeal", {"reason": ""}),
        ("verify", {"note": "\x1c"}),
        ("appeal", {"reason": " \x1f "}),
    ):
        r = hall.post(f"/api/v1/complaints/{case['id']}/{path}", body, admin)
        assert r.status_code == 422 and _code(r) == "invalid_note", (path, body, r.text)
    assert hall.post(f"/api/v1/complaints/{case['id']}/dismiss", {"note": "误评"}, admin).status_code == 200
    late = hall.post(f"/api/v1/complaints/{case['id']}/verify", {"note": "已回访"}, admin)
    assert late.status_code == 409 and late.json()["error"]["message"] == "a dismissed complaint cannot be verified"


def test_the_document_states_that_lifting_a_block_needs_a_reason(make_app_hall: Callable[..., AppHall]) -> None:
    """A blank reason to lift a no-show block was valid in the document and refused by the block's own check
    (422 reason_required); the document says "not blank" now, and the shape's refusal keeps that code."""
    app = make_app_hall("sqlite", edit=with_appointments, clock=Frozen(MONDAY))
    book(app)
    book(app, "2026-12-10T09:00:00+08:00")
    for day in (8, 10):  # two misses block the person
        set_clock(app, datetime(2026, 12, day, 9, 16, tzinfo=SHANGHAI))
        run_jobs(app)
    sup = app.token("--role", "supervisor", "--hall", "town")
    [block] = app.get("/api/v1/halls/town/blocks", token=sup).json()
    lift = f"/api/v1/halls/town/blocks/{block['id']}/lift"
    for blank in ("", " ", "\u3000\t"):
        assert not _valid("LiftRequest", {"reason": blank}), blank
        r = app.post(lift, {"reason": blank}, sup)
        assert r.status_code == 422 and _code(r) == "reason_required", (blank, r.text)
    for missing in ({}, {"reason": None}):
        assert not _valid("LiftRequest", missing)
        r = app.post(lift, missing, sup)
        assert r.status_code == 422 and _code(r) == "invalid_body", (missing, r.text)
    assert _valid("LiftRequest", {"reason": " 病假证明 "})
    r = app.post(lift, {"reason": " 病假证明 "}, sup)
    assert r.status_code == 200 and r.json()["reason"] == "病假证明", r.text


MATTER_STEPS: list[tuple[dict[str, Any], bool]] = [
    ({"status": "in_progress"}, True),  # a step forward needs no note
    ({"status": "rejected"}, False),
    ({"status": "rejected", "note": None}, False),
    ({"status": "rejected", "note": ""}, False),
    ({"status": "rejected", "note": " \u3000\t"}, False),
    ({"status": "rejected", "note": "材料不符合受理条件"}, True),
]


def test_the_document_states_that_a_rejected_matter_needs_its_reason(hall: AppHall) -> None:
    """不予办理 needs its reason in `note` (the resident is shown it): the document says so with an if/then, and
    the shape refuses it as the matter's own check did (422 invalid_body, the same message)."""
    from test_matters import accept

    matter = accept(hall)["ticket"]["matter"]["id"]
    w2 = hall.counter_token("w2")
    for body, ok in MATTER_STEPS:
        assert _valid("ProgressRequest", body) is ok, body
        r = hall.post(f"/api/v1/matters/{matter}/progress", body, w2)
        if ok:
            assert r.status_code == 200 and r.json()["status"] == body["status"], (body, r.text)
        else:
            assert r.status_code == 422 and _code(r) == "invalid_body", (body, r.text)
            assert r.json()["error"]["message"] == (
                "a rejected matter needs its reason in `note` (the resident is shown it)"
            ), r.text
    assert _valid("ProgressRequest", {"status": "in_progress", "note": " "})  # only a rejection needs a note
    with pytest.raises(ValidationError, match="needs its reason"):  # the shape refuses it, not only the service
        ProgressRequest.model_validate({"status": "rejected", "note": "\u3000"})


@pytest.mark.parametrize("raw", [b"\x0b", b"\x0c", b" \x0c\n"])
def test_vertical_tab_or_form_feed_is_no_empty_body(hall: AppHall, raw: bytes) -> None:
    """An optional body of JSON's whitespace is no body; VT and FF are not JSON's whitespace (bytes.strip() took
    them away, and schemathesis saw a body the document refuses reach the counter's action)."""
    token = hall.counter_token("w1")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    r = hall.send("POST", "/api/v1/counters/w1/open", raw, headers)
    assert r.status_code == 400 and _code(r) == "malformed_json", r.text
    assert hall.send("POST", "/api/v1/counters/w1/open", b" \r\n\t", headers).status_code == 200
