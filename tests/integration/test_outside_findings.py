"""What an outside fuzzer found on 2026-12-07, each through a real server (eventlet's HTTP layer included).

- a region's Chinese name in a download's file name closed the connection (headers are Latin-1);
- a booking at the calendar's edge (year 1 or 9999) was a 500 (the hall's zone overflowed);
- ids and numbers written with "²" (isdigit() yes, int() no) were 500s, "١" was taken as 1;
- a NUL in a call's voice URL was a 500 on PostgreSQL (no NUL in its strings);
- a path's %0A wrote a forged line into the log;
- an ID card number typed into a note was stored in clear;
- two different Content-Length headers were taken (the first one).
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, text
from support.app import AppHall
from support.server import Server
from test_appointments import edit as with_appointments


def test_a_regions_report_downloads_under_its_chinese_name(hall: Server) -> None:
    admin = hall.admin_token()
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # the test hall's month
    for fmt in ("csv", "xlsx"):
        r = hall.get(f"/api/v1/regions/{quote('城区')}/reports/monthly?month={month}&format={fmt}", admin)
        assert r.status_code == 200, r.text
        disposition = r.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="region-__-{month}.{fmt}"')
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"region-城区-{month}.{fmt}"


def test_a_booking_at_the_calendars_edge_is_no_slot(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite", edit=with_appointments)
    for start in ("9999-12-31T00:00:00+08:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:45:00-12:00"):
        body = {"service": "passport", "start": start, "name": "张三", "phone": "13812345678",
                "id_number": "11010519491231002X"}  # fmt: skip
        r = app.post("/api/v1/halls/town/appointments", body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_slot", r.text


def test_digits_that_are_not_ascii_are_not_numbers(hall: Server) -> None:
    admin = hall.admin_token()
    for odd in ("%C2%B2", "%D9%A1"):  # ², ١
        r = hall.post(f"/api/v1/deliveries/{odd}/resend", None, admin)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
        r = hall.post(f"/api/v1/halls/town/blocks/{odd}/lift", {"reason": "x"}, admin)
        assert r.status_code == 404, r.text
    r = hall.get("/kiosk/k1?idle=%C2%B2&done=%D9%A1")
    assert r.status_code in (200, 302, 401, 403), r.status_code  # the kiosk page's answer, never a 500


def test_a_nul_in_a_voice_url_is_not_found(hall: Server) -> None:
    assert hall.get("/display/audio/town/%00-1.wav").status_code == 404
    assert hall.get("/display/audio/town/A%00001-1.wav").status_code == 404


def test_a_path_cannot_write_a_line_of_its_own_into_the_log(start_server: Callable[..., Server]) -> None:
    server = start_server("sqlite", edit=lambda text: text.replace('log_level = "WARNING"', 'log_level = "INFO"'))
    forged = "2026-12-07 15:00:00,000 INFO hallq.access rid=0 method=POST path=/forged status=200"
    assert server.get("/api/v1/halls/x%0A" + quote(forged) + "/services").status_code == 404
    lines = server.log().splitlines()
    assert not any(line.startswith("2026-12-07 15:00:00,000 INFO hallq.access rid=0") for line in lines)
    assert any("path=/api/v1/halls/x\\x0a2026-12-07 15:00:00,000" in line for line in lines), lines[-5:]


def test_an_id_number_typed_into_free_text_is_stored_masked(app_hall: AppHall) -> None:
    """Notes, comments and reasons are kept; an ID card number typed into one is not (it shows 320***...7194)."""
    hall, id_number = app_hall, "320102198303217194"
    admin, typed = hall.admin_token(), f"申请人身份证 {id_number} 电话 13943520499"
    applicant = {"name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"}
    r = hall.post("/api/v1/halls/town/matters", {"service": "social", "applicant": applicant, "note": typed}, admin)
    assert r.status_code == 201, r.text
    ticket = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "finish", {"outcome": "completed", "note": typed}).status_code == 200
    token = ticket["track_url"].rsplit("/", 1)[1]
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": typed}).status_code == 201
    hall.act("w2", "open")  # the partner covers while w1 is away
    assert hall.act("w1", "away", {"reason": typed}).status_code == 200
    with hall.ctx.db.read() as s:
        tables = [t for t in inspect(s.connection()).get_table_names() if t != "alembic_version"]
        stored = {t: str(s.execute(text(f"SELECT * FROM {t}")).all()) for t in tables}  # noqa: S608
    assert not [t for t, rows in stored.items() if id_number in rows]
    masked = "320***********7194"
    assert {"matters", "tickets", "ratings", "counters", "ledger"} <= {
        t for t, rows in stored.items() if masked in rows
    }


def test_an_id_number_written_in_groups_or_listed_as_missing_is_stored_and_shown_masked(app_hall: AppHall) -> None:
    """An ID number written 6-8-4 with spaces or dashes, and one typed into a 一次性告知 list of missing items, is
    stored masked (3 + 4) like any other: in the tickets, the notice, the ledger, the rating and its case, and so
    in every export and on the notice's public page."""
    hall, digits = app_hall, "11010519491231002X"
    spaced, dashed = "110105 19491231 002X", "110105-19491231-002X"
    ticket = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    missing = [f"ID:{digits.lower()}", f"身份证号{digits}。", spaced]
    r = hall.act("w1", "finish", {"outcome": "incomplete", "note": dashed, "missing": missing})
    assert r.status_code == 200, r.text
    token = ticket["track_url"].rsplit("/", 1)[1]
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": spaced}).status_code == 201
    with hall.ctx.db.read() as s:
        tables = [t for t in inspect(s.connection()).get_table_names() if t != "alembic_version"]
        stored = " ".join(str(s.execute(text(f"SELECT * FROM {t}")).all()) for t in tables)  # noqa: S608
    for clear in (digits, digits.lower(), spaced, dashed, "19491231"):
        assert clear not in stored, clear
    assert "110*** ******** 002X" in stored and "110***-********-002X" in stored and "ID:110***********002x" in stored
    code = r.json()["notice"]["code"]
    shown = hall.get(f"/api/v1/notices/{code}").text
    assert "19491231" not in shown and "110*** ******** 002X" in shown
    ledger = hall.get("/api/v1/halls/town/ledger?format=csv", hall.admin_token()).text
    assert "19491231" not in ledger


def test_a_phone_typed_into_a_rating_is_hidden_where_the_call_back_number_is(app_hall: AppHall) -> None:
    """The resident's page (anyone holding the slip's QR opens it) and the complaint list of anyone but a
    supervisor show a phone number typed in a comment as the call-back number is shown: its middle hidden."""
    hall = app_hall
    ticket = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    hall.act("w1", "finish", {"outcome": "completed"})
    token = ticket["track_url"].rsplit("/", 1)[1]
    comment = "很差 我的电话13811112222"
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": comment}).status_code == 201
    page = hall.get(ticket["track_url"]).text
    assert "13811112222" not in page and "138****2222" in page
    assert "13811112222" not in hall.get(f"/api/v1/track/{token}").text
    admin = hall.get("/api/v1/halls/town/complaints", hall.admin_token()).json()
    assert [c["comment"] for c in admin] == ["很差 我的电话138****2222"]
    boss = hall.get("/api/v1/halls/town/complaints", hall.token("--role", "supervisor", "--hall", "town")).json()
    assert [c["comment"] for c in boss] == [comment]  # the supervisor handling the case calls back


def test_an_address_trying_many_appointment_codes_is_held_up(make_app_hall: Callable[..., AppHall]) -> None:
    """An appointment's code alone shows and cancels it: without a staff credential, an address gets
    `codes_per_minute` tries, on the API and on the booking pages alike, then 429; staff are not held up."""
    app = make_app_hall(
        "sqlite", edit=lambda text: with_appointments(text).replace("codes_per_minute = 100000", "codes_per_minute = 4")
    )
    tried = [app.get(f"/api/v1/appointments/QWERTY{i}A").status_code for i in range(3)]
    assert tried + [app.get("/book/town/QWERTY9A").status_code] == [404, 404, 404, 404]
    for refused in (
        app.get("/api/v1/appointments/QWERTY8A"),
        app.send("DELETE", "/api/v1/appointments/QWERTY7A"),
        app.get("/book/town/QWERTY6A"),
        app.get("/book/town/QWERTY5A.ics"),
    ):
        assert refused.status_code == 429, refused.text
    assert app.get("/api/v1/appointments/QWERTY4A").json()["error"]["code"] == "rate_limited"
    assert app.get("/api/v1/appointments/QWERTY3A", app.admin_token()).status_code == 404  # staff: not counted


def test_a_month_or_day_in_full_width_digits_is_refused(app_hall: AppHall) -> None:
    admin = app_hall.admin_token()
    for query in ("reports/monthly?month=２０２６-１２", "reports/daily?date=２０２６-１２-０７"):
        r = app_hall.get(f"/api/v1/halls/town/{query}", admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_query", (query, r.text)


def test_two_different_content_lengths_are_refused(hall: Server) -> None:
    """Which body is meant is a request smuggler's question (a proxy may read the other length): 400."""

    def send(lengths: list[int]) -> bytes:
        body = b'{"service": "id-card"}'
        head = "".join(f"Content-Length: {n}\r\n" for n in lengths)
        request = (
            f"POST /api/v1/halls/town/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{head}Connection: close\r\n\r\n"
        ).encode() + body
        with socket.create_connection(("127.0.0.1", hall.port), timeout=10) as conn:
            conn.sendall(request)
            return conn.recv(200)

    assert send([22, 5]).startswith(b"HTTP/1.0 400 ")
    assert send([22, 22]).split(b" ")[1] == b"201"  # the same length twice says one thing
    assert send([22]).split(b" ")[1] == b"201"


def test_a_control_character_in_a_ledgers_text_does_not_break_its_xlsx(app_hall: AppHall) -> None:
    """A material listed as missing with a control character (XML has none but tab, LF, CR) made the 台账's
    XLSX a 500 (openpyxl refuses the cell), found by schemathesis on 2026-12-07; the JSON and CSV were fine."""
    hall, admin = app_hall, app_hall.admin_token()
    day = hall.issue("id-card")["issued_at"][:10]
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    body = {"outcome": "incomplete", "missing": ["户口\x07簿", "照片\x1b"], "print_notice": False}
    assert hall.act("w1", "finish", body).status_code == 200
    r = hall.get(f"/api/v1/halls/town/ledger?from={day}&to={day}&format=xlsx", admin)
    assert r.status_code == 200, r.text[:300]
    from openpyxl import load_workbook

    cells = [c for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True) for c in row]
    assert any(isinstance(c, str) and "户口\ufffd簿" in c for c in cells), cells
