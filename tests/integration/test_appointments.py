"""Appointments (预约服务) and remote tickets (线上取号), PROTOCOL v1.2, through the HTTP API on a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from support.app import AppHall, csrf_of
from support.checks import check_answer

from server.jobs import Runner
from server.store.models import AppointmentRow, LedgerRow, OutboxRow, TicketRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)  # a working Monday, 10:00 in the hall
TUESDAY_9 = "2026-12-08T09:00:00+08:00"
ID_A = "11010519491231002X"  # valid check digits
ID_B = "11010519900307451X"
ID_C = "440308199901010012"
BAD_ID = "110105194912310021"  # wrong check digit
PHONE_A, PHONE_B, PHONE_C = "13812345678", "13912345678", "13712345678"

SERVICE = """
[[hall.service]]
id = "passport"
name = "出入境证件"
name_en = "Exit-entry permits"
prefix = "E"
avg_service_s = 300

[hall.service.appointments]
public_places = 2
staff_places = 1
"""
COUNTER = """
[[hall.counter]]
id = "w9"
number = 9
name = "9号窗口"
services = ["passport"]
"""
WEBHOOK = """
[[hall.webhook]]
url = "http://127.0.0.1:9/hooks"
secret = "a-secret-of-twenty-chars"
"""
HALL_KEYS = "remote_tickets = true\nnear_ahead = 2\n"


def edit(text: str) -> str:
    """The test hall "town" with an appointment service, its counter, remote tickets and a webhook."""
    town_end = '\n[[hall]]\nid = "east"'
    assert text.count(town_end) == 1
    text = text.replace("max_priority_streak = 2\n", "max_priority_streak = 2\n" + HALL_KEYS, 1)
    first_counter = "\n[[hall.counter]]\n"
    i = text.index(first_counter)
    text = text[:i] + SERVICE + text[i:]
    return text.replace(town_end, COUNTER + WEBHOOK + town_end)


class Frozen:
    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


@pytest.fixture
def make(make_app_hall: Callable[..., AppHall]) -> Callable[[str], AppHall]:
    def build(kind: str = "sqlite") -> AppHall:
        return make_app_hall(kind, edit=edit, clock=Frozen(MONDAY))

    return build


def book(app: AppHall, start: str = TUESDAY_9, *, id_number: str = ID_A, phone: str = PHONE_A,
         name: str = "张三", token: str | None = None, **extra: Any) -> Any:  # fmt: skip
    body = {"service": "passport", "start": start, "name": name, "phone": phone, "id_number": id_number, **extra}
    return app.post("/api/v1/halls/town/appointments", body, token)


def error(reply: Any) -> str:
    return str(reply.json()["error"]["code"])


def appointments(app: AppHall) -> list[AppointmentRow]:
    with app.ctx.db.read() as s:
        return list(s.scalars(select(AppointmentRow).order_by(AppointmentRow.start, AppointmentRow.created_at)))


def events(app: AppHall, name: str) -> list[OutboxRow]:
    with app.ctx.db.read() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.event == name).order_by(OutboxRow.seq)))


def set_clock(app: AppHall, at: datetime) -> None:
    app.clock.set(at)  # type: ignore[attr-defined]


def run_jobs(app: AppHall) -> None:
    Runner(app.hallq).appointment_jobs(app.ctx.hall("town"))


# -- slots -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_slots_follow_the_window_the_schedule_and_the_shares(make: Callable[[str], AppHall], kind: str) -> None:
    app = make(kind)
    r = app.get("/api/v1/halls/town/services/passport/slots", params={"from": "2026-12-07", "to": "2026-12-20"})
    assert r.status_code == 200, r.text
    slots = r.json()
    days = sorted({s["start"][:10] for s in slots})
    # from the next working day to the fifth: Tue..Fri and the next Monday; no weekend
    assert days == ["2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11", "2026-12-14"]
    tuesday = [s for s in slots if s["start"].startswith("2026-12-08")]
    assert tuesday[0] == {"start": TUESDAY_9, "end": "2026-12-08T09:15:00+08:00", "free": 2}
    assert len(tuesday) == 12 + 14  # 09:00-12:00 and 13:30-17:00 in 15 minutes
    staff = app.get("/api/v1/halls/town/services/passport/slots", token=app.counter_token("w9"),
                    params={"from": "2026-12-08", "to": "2026-12-08"}).json()  # fmt: skip
    assert staff[0]["free"] == 3  # the staff share too
    assert book(app).status_code == 201
    again = app.get("/api/v1/halls/town/services/passport/slots", params={"from": "2026-12-08", "to": "2026-12-08"})
    assert again.json()[0]["free"] == 1


def test_slot_queries_over_31_days_or_bad_dates_are_422(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    path = "/api/v1/halls/town/services/passport/slots"
    for params in ({"from": "2026-12-01", "to": "2027-01-01"}, {"from": "2026-12-40", "to": "2026-12-41"}, {}):
        r = app.get(path, params=params)
        assert r.status_code == 422 and error(r) == "invalid_query", r.text
    assert (
        app.get("/api/v1/halls/town/services/nope/slots", params={"from": "2026-12-08", "to": "2026-12-08"}).status_code
        == 404
    )
    r = app.get("/api/v1/halls/town/services/id-card/slots", params={"from": "2026-12-08", "to": "2026-12-08"})
    assert r.status_code == 200 and r.json() == []  # a service without appointments has no slots


# -- booking -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_booking_answers_its_code_and_page_and_keeps_no_id_number_in_clear(
    make: Callable[[str], AppHall], kind: str
) -> None:
    app = make(kind)
    r = book(app)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "code", "service", "start", "end", "status", "manage_url"}
    assert body["status"] == "booked" and body["start"] == TUESDAY_9 and body["end"] == "2026-12-08T09:15:00+08:00"
    assert len(body["code"]) == 8 and set(body["code"]) <= set("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    assert body["manage_url"].endswith(f"/book/town/{body['code']}")
    shown = app.get(f"/api/v1/appointments/{body['code'].lower()}").json()
    assert shown["name"] == "张*" and shown["phone"] == "138****5678" and shown["id_number"] == "110***********002X"
    assert shown["status"] == "booked" and shown["ticket"] is None
    [row] = appointments(app)
    assert ID_A not in repr(row.__dict__) and row.id_hash and len(row.id_hash) == 64
    [event] = events(app, "appointment.booked")
    assert event.subject == body["id"] and event.data["start"] == TUESDAY_9
    assert PHONE_A not in str(event.data) and "张三" not in str(event.data)
    with app.ctx.db.read() as s:
        assert s.scalar(select(LedgerRow.kind).where(LedgerRow.kind == "appointment_booked")) is not None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id_number": BAD_ID}, "invalid_id_number"),
        ({"id_number": "12345"}, "invalid_id_number"),
        ({"phone": "1381234"}, "invalid_phone"),
        ({"phone": "+1 650 253 0000"}, "invalid_phone"),
        ({"name": "   "}, "invalid_name"),
        ({"name": "张" * 41}, "invalid_name"),
        ({"name": "张" * 5000}, "invalid_name"),  # too long for the body's shape: still the name's own code
        ({"phone": "1" * 25}, "invalid_phone"),
        ({"id_number": "1" * 41}, "invalid_id_number"),
        ({"start": "2" * 41}, "invalid_start"),
        ({"name": 5}, "invalid_body"),  # the wrong JSON type is the body's
        ({"start": "2026-12-08T09:05:00+08:00"}, "invalid_slot"),
        ({"start": "2026-12-08T09:00:00"}, "invalid_start"),
        ({"start": "tomorrow"}, "invalid_start"),
        ({"start": "2026-12-07T09:00:00+08:00"}, "outside_window"),  # today (lead: 1 working day), and past
        ({"start": "2026-12-07T15:00:00+08:00"}, "outside_window"),  # today, later
        ({"start": "2026-12-15T09:00:00+08:00"}, "outside_window"),  # the sixth working day
        ({"start": "2026-12-12T09:00:00+08:00"}, "invalid_slot"),  # a Saturday: no slots
        ({"channel": "phone"}, "forbidden"),  # only staff book by phone
    ],
)
def test_bad_bookings_are_refused_and_write_nothing(
    make: Callable[[str], AppHall], change: dict[str, str], code: str
) -> None:
    app = make("sqlite")
    body = {"start": TUESDAY_9, "id_number": ID_A, "phone": PHONE_A, "name": "张三"} | change
    r = book(app, **body)
    assert 400 <= r.status_code < 500 and error(r) == code, r.text
    assert appointments(app) == []
    assert events(app, "appointment.booked") == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_last_place_goes_once_then_slot_full_and_staff_book_on_their_share(
    make: Callable[[str], AppHall], kind: str
) -> None:
    app = make(kind)
    assert book(app, id_number=ID_A, phone=PHONE_A).status_code == 201
    assert book(app, id_number=ID_B, phone=PHONE_B).status_code == 201
    r = book(app, id_number=ID_C, phone=PHONE_C)
    assert r.status_code == 409 and error(r) == "slot_full"
    staff = book(app, id_number=ID_C, phone=PHONE_C, token=app.counter_token("w9"), channel="phone")
    assert staff.status_code == 201, staff.text
    listed = app.get("/api/v1/halls/town/appointments", token=app.counter_token("w9"), params={"date": "2026-12-08"})
    assert sorted(a["channel"] for a in listed.json()) == ["online", "online", "phone"]
    assert {a["phone"] for a in listed.json()} == {PHONE_A, PHONE_B, PHONE_C}  # staff see them in full
    kiosk = app.get("/api/v1/halls/town/appointments", token=app.kiosk_token(), params={"date": "2026-12-08"})
    assert kiosk.status_code == 403 and error(kiosk) == "forbidden"  # a valid credential, not staff's: not 401
    assert app.get("/api/v1/halls/town/appointments", params={"date": "2026-12-08"}).status_code == 401
    r = book(app, id_number="110105199003071116", phone="13612345678", token=app.admin_token())
    assert r.status_code == 409 and error(r) == "slot_full"


def test_per_person_limits_count_the_id_number_and_the_phone(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    assert book(app).status_code == 201
    same_day = book(app, "2026-12-08T10:00:00+08:00")
    assert same_day.status_code == 409 and error(same_day) == "booking_limit"
    by_phone = book(app, "2026-12-08T10:00:00+08:00", id_number=ID_B)  # another ID, the same phone
    assert by_phone.status_code == 409 and error(by_phone) == "booking_limit"
    assert book(app, "2026-12-09T10:00:00+08:00").status_code == 201  # second of the week
    week = book(app, "2026-12-10T10:00:00+08:00")
    assert week.status_code == 409 and error(week) == "booking_limit"
    assert book(app, "2026-12-14T10:00:00+08:00").status_code == 201  # the next week


def test_cancel_frees_the_place_until_the_cancel_limit(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    code = book(app).json()["code"]
    book(app, id_number=ID_B, phone=PHONE_B)
    r = app.send("DELETE", f"/api/v1/appointments/{code}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert book(app, id_number=ID_C, phone=PHONE_C).status_code == 201  # the freed place
    again = app.send("DELETE", f"/api/v1/appointments/{code}")
    assert again.status_code == 409
    late = book(app, "2026-12-08T10:00:00+08:00", id_number=ID_B, phone="13612345678")
    assert late.status_code == 409  # ID_B already holds Tuesday
    other = book(app, "2026-12-09T10:00:00+08:00", id_number=ID_B, phone=PHONE_B).json()["code"]
    set_clock(app, datetime(2026, 12, 9, 8, 30, tzinfo=SHANGHAI))  # 90 min before: inside the 2 h limit
    r = app.send("DELETE", f"/api/v1/appointments/{other}")
    assert r.status_code == 409 and error(r) == "too_late_to_cancel"
    assert len(events(app, "appointment.cancelled")) == 1


# -- check-in and the call order ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_check_in_window_and_the_ticket_it_issues(make: Callable[[str], AppHall], kind: str) -> None:
    app = make(kind)
    code = book(app).json()["code"]
    set_clock(app, datetime(2026, 12, 8, 8, 20, tzinfo=SHANGHAI))
    early = app.post("/api/v1/halls/town/check-in", {"code": code})
    assert early.status_code == 409 and error(early) == "too_early"
    assert early.json()["error"]["opens_at"] == "2026-12-08T08:30:00+08:00"
    set_clock(app, datetime(2026, 12, 8, 8, 40, tzinfo=SHANGHAI))
    r = app.post("/api/v1/halls/town/check-in", {"code": f"{code[:4]}-{code[4:].lower()}"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["appointment"] == code and body["status"] == "waiting" and body["number"].startswith("E")
    check_answer("post", "/api/v1/halls/{hall}/check-in", 201, body)  # every field a ticket's answer has
    again = app.post("/api/v1/halls/town/check-in", {"code": code})
    assert again.status_code == 409 and error(again) == "already_checked_in"
    assert again.json()["error"]["number"] == body["number"]
    shown = app.get(f"/api/v1/appointments/{code}").json()
    assert shown["status"] == "checked_in" and shown["ticket"] == body["number"]
    unknown = app.post("/api/v1/halls/town/check-in", {"code": "ZZZZZZZZ"})
    assert unknown.status_code == 404
    forbidden = app.post("/api/v1/halls/town/check-in", {"code": code, "kiosk": "k1"})
    assert forbidden.status_code == 403


def test_check_in_after_the_late_minutes_is_expired(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    code = book(app).json()["code"]
    set_clock(app, datetime(2026, 12, 8, 9, 16, tzinfo=SHANGHAI))
    r = app.post("/api/v1/halls/town/check-in", {"code": code})
    assert r.status_code == 409 and error(r) == "appointment_expired"
    with app.ctx.db.read() as s:
        assert s.scalar(select(TicketRow.id)) is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_checked_in_appointment_goes_before_walk_ins_from_its_start(
    make: Callable[[str], AppHall], kind: str
) -> None:
    app = make(kind)
    code = book(app).json()["code"]
    set_clock(app, datetime(2026, 12, 8, 8, 40, tzinfo=SHANGHAI))
    walk_ins = [app.issue("passport")["number"] for _ in range(3)]
    appointment = app.post("/api/v1/halls/town/check-in", {"code": code}).json()["number"]
    assert app.act("w9", "open").status_code == 200
    first = app.act("w9", "call-next").json()["ticket"]["number"]
    assert first == walk_ins[0]  # before its start, walk-ins go first
    app.act("w9", "finish", {"outcome": "completed"})
    set_clock(app, datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI))
    called = app.act("w9", "call-next").json()["ticket"]
    second = called["number"]
    assert second == appointment  # 预约到时
    assert called["appointment_at"] == TUESDAY_9  # the counter page marks it 预约 with its time
    shown = app.get("/api/v1/halls/town/display").json()["calls"]
    assert [c.get("appointment") for c in shown[:2]] == [True, None]  # and the display marks the call
    with app.ctx.db.read() as s:
        calls = select(LedgerRow).where(LedgerRow.kind == "called").order_by(LedgerRow.id)
        reasons = [r.detail["reason"] for r in s.scalars(calls)]
    assert reasons[-1].startswith("预约到时")
    app.act("w9", "finish", {"outcome": "completed"})
    assert app.get(f"/api/v1/appointments/{code}").json()["status"] == "served"
    assert app.act("w9", "call-next").json()["ticket"]["number"] == walk_ins[1]


# -- remote tickets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_remote_ticket_keeps_its_place_but_waits_for_check_in(make: Callable[[str], AppHall], kind: str) -> None:
    app = make(kind)
    first = app.issue("id-card")["number"]
    r = app.post("/api/v1/halls/town/tickets", {"service": "id-card", "remote": True, "phone": PHONE_A})
    assert r.status_code == 201, r.text
    remote = r.json()
    assert remote["status"] == "remote" and len(remote["code"]) == 8
    check_answer("post", "/api/v1/halls/{hall}/tickets", 201, remote)
    assert remote["check_in_by"] == "2026-12-07T11:00:00+08:00"
    again = app.post("/api/v1/halls/town/tickets", {"service": "id-card", "remote": True, "phone": PHONE_A})
    assert again.status_code == 409 and error(again) == "booking_limit"
    later = app.issue("id-card")["number"]
    app.act("w1", "open")
    assert app.act("w1", "call-next").json()["ticket"]["number"] == first
    app.act("w1", "finish", {"outcome": "completed"})
    assert app.act("w1", "call-next").json()["ticket"]["number"] == later  # the absent remote ticket is skipped
    app.act("w1", "finish", {"outcome": "completed"})
    track = app.get(remote["track_url"].replace("/t/", "/api/v1/track/"))
    assert track.json()["status"] == "remote" and track.json()["near"] is True
    later2 = app.issue("id-card")["number"]
    checked = app.post("/api/v1/halls/town/check-in", {"code": remote["code"]})
    assert checked.status_code == 201, checked.text
    assert checked.json()["id"] == remote["id"] and checked.json()["status"] == "waiting"
    assert checked.json()["track_url"] == remote["track_url"]
    assert app.act("w1", "call-next").json()["ticket"]["number"] == remote["number"]  # before later2
    app.act("w1", "finish", {"outcome": "completed"})
    assert app.act("w1", "call-next").json()["ticket"]["number"] == later2


def test_remote_tickets_expire_and_bad_remote_bodies_are_refused(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    for body, code in (
        ({"service": "id-card", "remote": True}, "invalid_body"),
        ({"service": "id-card", "remote": True, "phone": "12"}, "invalid_phone"),
        ({"service": "id-card", "remote": True, "phone": "1" * 25}, "invalid_phone"),  # too long for the shape
        ({"service": "id-card", "remote": True, "phone": PHONE_A, "kiosk": "k1"}, "invalid_body"),
        ({"service": "passport", "remote": True, "phone": PHONE_A}, None),
    ):
        r = app.post("/api/v1/halls/town/tickets", body)
        if code is None:
            assert r.status_code == 201
        else:
            assert r.status_code == 422 and error(r) == code, r.text
    r = app.post("/api/v1/halls/town/tickets", {"service": "id-card", "remote": True, "phone": PHONE_B}).json()
    app.advance(61 * 60)
    run_jobs(app)
    assert app.get(r["track_url"].replace("/t/", "/api/v1/track/")).json()["status"] == "expired"
    late = app.post("/api/v1/halls/town/check-in", {"code": r["code"]})
    assert late.status_code == 409 and error(late) == "appointment_expired"
    services = {s["id"]: s for s in app.get("/api/v1/halls/town/services").json()}
    assert services["passport"]["appointments"] is True and services["id-card"]["appointments"] is False
    assert services["id-card"]["remote"] is True and services["closed"]["remote"] is False


def test_closing_the_day_expires_remote_tickets_never_checked_in(make: Callable[[str], AppHall]) -> None:
    """A remote ticket not checked in when its day is closed (by hand, before its check_in_by) is expired then,
    as by its deadline: it could otherwise be checked in and called after the day was closed."""
    from server.services.closing import close_day

    app = make("sqlite")
    r = app.post("/api/v1/halls/town/tickets", {"service": "id-card", "remote": True, "phone": PHONE_B}).json()
    closed, _ = close_day(app.ctx, "town", app.ctx.hall("town").local(app.clock.now()).date(), who="cli")
    assert closed.closed_out == 0  # nobody was in the hall: nothing closed out
    assert app.get(r["track_url"].replace("/t/", "/api/v1/track/")).json()["status"] == "expired"
    late = app.post("/api/v1/halls/town/check-in", {"code": r["code"]})
    assert late.status_code == 409 and error(late) == "appointment_expired"
    history = app.get(f"/api/v1/tickets/{r['id']}/history", app.admin_token()).json()
    assert [h["kind"] for h in history][-1] == "expired"


def test_near_front_is_emitted_once_per_ticket_with_a_phone(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    for _ in range(4):
        app.issue("social")
    r = app.post("/api/v1/halls/town/tickets", {"service": "social", "remote": True, "phone": PHONE_A})
    assert r.status_code == 201, r.text
    run_jobs(app)
    assert events(app, "ticket.near_front") == []  # 4 ahead > near_ahead 2
    app.act("w2", "open")
    for _ in range(2):
        app.act("w2", "call-next")
        app.act("w2", "finish", {"outcome": "completed"})
    run_jobs(app)
    run_jobs(app)
    [event] = events(app, "ticket.near_front")
    assert event.subject == r.json()["id"] and event.data["ahead"] == 2 and event.data["phone"] == PHONE_A


# -- jobs: missed, the no-show rule, reminders, purge ------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_misses_block_the_person_until_a_supervisor_lifts_it(make: Callable[[str], AppHall], kind: str) -> None:
    app = make(kind)
    book(app)
    book(app, "2026-12-10T09:00:00+08:00")
    set_clock(app, datetime(2026, 12, 8, 9, 16, tzinfo=SHANGHAI))
    run_jobs(app)
    assert [a.status for a in appointments(app)] == ["missed", "booked"]
    set_clock(app, datetime(2026, 12, 10, 9, 16, tzinfo=SHANGHAI))
    run_jobs(app)
    assert len(events(app, "appointment.missed")) == 2
    r = book(app, "2026-12-14T09:00:00+08:00", id_number=ID_A, phone=PHONE_B)  # the same ID, another phone
    assert r.status_code == 409 and error(r) == "blocked"
    assert r.json()["error"]["until"].startswith("2027-03-10")
    r = book(app, "2026-12-14T09:00:00+08:00", id_number=ID_B, phone=PHONE_A)  # the same phone
    assert r.status_code == 409 and error(r) == "blocked"
    sup = app.token("--role", "supervisor", "--hall", "town")
    [block] = app.get("/api/v1/halls/town/blocks", token=sup).json()
    assert block["id_number"] == "110***********002X" and block["misses"] == 2
    assert app.get("/api/v1/halls/town/blocks", token=app.counter_token("w9")).status_code == 403
    no_reason = app.post(f"/api/v1/halls/town/blocks/{block['id']}/lift", {"reason": ""}, sup)
    assert no_reason.status_code == 422
    lifted = app.post(f"/api/v1/halls/town/blocks/{block['id']}/lift", {"reason": "病假证明"}, sup)
    assert lifted.status_code == 200, lifted.text
    assert book(app, "2026-12-14T09:00:00+08:00").status_code == 201
    with app.ctx.db.read() as s:
        kinds = set(s.scalars(select(LedgerRow.kind)))
    assert {"appointment_missed", "person_blocked", "block_lifted"} <= kinds


def test_reminder_the_day_before_and_purge_after_retention(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    code = book(app, "2026-12-09T09:00:00+08:00").json()["code"]
    run_jobs(app)
    assert events(app, "appointment.reminder") == []  # two days ahead
    set_clock(app, datetime(2026, 12, 8, 18, 0, tzinfo=SHANGHAI))
    run_jobs(app)
    run_jobs(app)
    [reminder] = events(app, "appointment.reminder")
    assert reminder.data["code"] == code and reminder.data["phone"] == PHONE_A
    set_clock(app, datetime(2027, 6, 8, 10, 0, tzinfo=SHANGHAI))  # 181 days after
    run_jobs(app)
    [row] = appointments(app)
    assert row.name is None and row.phone is None and row.id_masked is None and row.purged_at is not None
    shown = app.get(f"/api/v1/appointments/{code}").json()
    assert shown["name"] is None and shown["status"] == "missed"


# -- reports -----------------------------------------------------------------------------------------------


def test_reports_count_appointments_daily_and_monthly_and_export_them(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    on_time_code = book(app).json()["code"]
    late_code = book(app, "2026-12-08T09:15:00+08:00", id_number=ID_B, phone=PHONE_B).json()["code"]
    cancelled = book(app, "2026-12-08T09:30:00+08:00", id_number=ID_C, phone=PHONE_C).json()["code"]
    assert app.send("DELETE", f"/api/v1/appointments/{cancelled}").status_code == 200
    book(app, "2026-12-08T10:00:00+08:00", id_number="110105199003071116", phone="13612345678")  # will be missed
    set_clock(app, datetime(2026, 12, 8, 8, 50, tzinfo=SHANGHAI))
    walk = app.issue("passport")
    assert app.post("/api/v1/halls/town/check-in", {"code": on_time_code}).status_code == 201
    app.act("w9", "open")
    set_clock(app, datetime(2026, 12, 8, 9, 5, tzinfo=SHANGHAI))
    assert app.act("w9", "call-next").json()["ticket"]["number"] != walk["number"]  # 预约到时
    app.act("w9", "finish", {"outcome": "completed"})
    assert app.act("w9", "call-next").json()["ticket"]["number"] == walk["number"]
    app.act("w9", "finish", {"outcome": "completed"})
    assert app.post("/api/v1/halls/town/check-in", {"code": late_code}).status_code == 201
    set_clock(app, datetime(2026, 12, 8, 9, 40, tzinfo=SHANGHAI))  # 25 min after its start: not on time
    app.act("w9", "call-next")
    app.act("w9", "finish", {"outcome": "completed"})
    set_clock(app, datetime(2026, 12, 8, 10, 20, tzinfo=SHANGHAI))
    run_jobs(app)
    sup = app.token("--role", "supervisor", "--hall", "town")
    daily = app.get("/api/v1/halls/town/reports/daily", sup, params={"date": "2026-12-08"})
    assert daily.status_code == 200, daily.text
    figures = daily.json()["appointments"]
    assert {k: figures[k] for k in ("booked", "cancelled", "checked_in", "missed", "on_time")} == {
        "booked": 4, "cancelled": 1, "checked_in": 2, "missed": 1, "on_time": 1,
    }  # fmt: skip
    assert figures["acceptance_rate"] == pytest.approx(2 / 3, abs=1e-4)  # 预约受理率
    assert figures["avg_wait_s"] == (15 * 60 + 35 * 60) // 2  # from check-in to the call
    assert figures["walk_in_avg_wait_s"] == 15 * 60
    monthly = app.get("/api/v1/halls/town/reports/monthly", sup, params={"month": "2026-12"}).json()
    assert monthly["appointments"]["booked"] == 4
    csv = app.get("/api/v1/halls/town/reports/daily", sup, params={"date": "2026-12-08", "format": "csv"})
    assert "appointments.missed,1" in csv.text and "appointments.on_time,1" in csv.text


# -- /book and /admin/appointments without JavaScript ------------------------------------------------------


def test_the_supervisors_day_list_and_lifting_a_block_with_a_reason(make: Callable[[str], AppHall]) -> None:
    app = make("sqlite")
    book(app)
    book(app, "2026-12-10T09:00:00+08:00")
    book(app, "2026-12-08T10:00:00+08:00", id_number=ID_B, phone=PHONE_B, name="李四")
    for day in (8, 10):
        set_clock(app, datetime(2026, 12, day, 9, 16, tzinfo=SHANGHAI))
        run_jobs(app)
    app.add_user("zhang", "supervisor", hall="town")
    browser = app.browser()
    token = csrf_of(browser.get("/login").text)
    assert browser.post("/login", data={"username": "zhang", "password": "correct-horse", "csrf": token},
                        allow_redirects=False).status_code in (302, 303)  # fmt: skip
    page = browser.get("/admin/appointments?date=2026-12-08")
    assert page.status_code == 200
    assert "李四" in page.text and PHONE_B in page.text and "爽约" in page.text
    assert "110***********002X" in page.text  # the blocked person, masked
    block = app.get("/api/v1/halls/town/blocks", token=app.token("--role", "supervisor", "--hall", "town")).json()[0]
    lifted = browser.post(f"/admin/appointments/blocks/{block['id']}/lift?hall=town",
                          data={"reason": "医院证明", "csrf": csrf_of(page.text)}, allow_redirects=False)  # fmt: skip
    assert lifted.status_code == 303
    assert app.get("/api/v1/halls/town/blocks", token=app.admin_token()).json() == []
    assert app.browser().get("/admin/appointments", allow_redirects=False).status_code in (302, 303)  # to /login


def test_a_booking_is_shown_and_cancelled_on_its_own_halls_page_only(make: Callable[[str], AppHall]) -> None:
    """/book/{hall}/{code}, its .ics and its cancel answer for the hall the booking is in: under another hall's
    address it is not found (it was shown with that hall's name, and its calendar file sent residents there).
    The calendar file's times are in UTC, a zone every calendar knows."""
    app = make("sqlite")
    code = book(app).json()["code"]
    assert app.get(f"/book/town/{code}").status_code == 200
    for path in (f"/book/east/{code}", f"/book/east/{code}.ics"):
        assert app.get(path).status_code == 404, path
    browser = app.browser()
    csrf = csrf_of(browser.get(f"/book/town/{code}").text)
    assert browser.post(f"/book/east/{code}/cancel", data={"csrf": csrf}).status_code == 404
    assert app.get(f"/api/v1/appointments/{code}").json()["status"] == "booked"
    ics = app.get(f"/book/town/{code}.ics").text
    assert "DTSTART:20261208T010000Z" in ics and "TZID" not in ics  # 09:00 in Shanghai
