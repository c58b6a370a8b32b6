"""A kiosk's ticket goes out as ESC/POS over TCP port 9100 style, and its printer's state shows on /kiosks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.server import Server
from support.sockets import Listener

from printers.decode import decode, ticket_fields
from printers.virtual import VirtualPrinter


def _kiosk_state(server: Server) -> str:
    return str(server.get("/api/v1/halls/town/kiosks").json()[0]["printer"]["state"])


def _wait_state(server: Server, want: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _kiosk_state(server) != want:
        assert time.monotonic() < deadline, f"kiosk printer never became {want!r}"
        time.sleep(0.2)


@pytest.mark.async_modes  # the printer sender, in eventlet and gevent
def test_a_kiosk_ticket_is_printed_with_its_number_guide_and_qr(printing_hall: tuple[Server, VirtualPrinter]) -> None:
    server, printer = printing_hall
    r = server.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201
    t = r.json()
    [printed] = printer.wait_printed(1, timeout=10)
    assert printed.name == f"{t['number']}-{t['id']}.bin"
    ticket = decode(printed.read_bytes())
    assert ticket_fields(ticket) == {"number": t["number"], "ticket_id": t["id"], "track_url": t["track_url"]}
    assert "测试镇便民服务中心" in ticket.text and "身份证办理" in ticket.text
    assert "户口簿" in ticket.text  # the guide's materials
    assert "?" not in ticket.text
    assert ticket.cuts == 1
    assert printed.with_suffix(".png").exists()


def test_tickets_without_a_kiosk_are_not_printed(printing_hall: tuple[Server, VirtualPrinter]) -> None:
    server, printer = printing_hall
    server.issue("id-card")
    server.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, server.kiosk_token())
    assert len(printer.wait_printed(1, timeout=10)) == 1
    time.sleep(0.5)
    assert len(printer.printed) == 1


@pytest.mark.async_modes  # the scheduler's printer poll, in eventlet and gevent
def test_paper_and_online_state_of_the_kiosk_printer_is_reported(
    printing_hall: tuple[Server, VirtualPrinter],
) -> None:
    server, printer = printing_hall
    _wait_state(server, "ok")
    printer.paper = "low"
    _wait_state(server, "paper_low")
    printer.paper = "out"
    _wait_state(server, "paper_out")
    printer.stop()
    _wait_state(server, "offline")
    r = server.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201, "a printer failure never loses the ticket: its number is on the screen"


def test_a_printer_going_wrong_reaches_its_kiosk_page_and_the_managers(
    printing_hall: tuple[Server, VirtualPrinter],
) -> None:
    server, printer = printing_hall
    _wait_state(server, "ok")
    kiosk = Listener(server.url, "/kiosk", "kiosk=k1")
    admin = Listener(server.url, "/admin", "hall=town", auth={"token": server.admin_token()})
    try:
        assert kiosk.wait_for("printer") == {"kiosk": "k1", "state": "ok"}
        assert admin.wait_for("alerts") == []
        printer.paper = "out"
        kiosk.wait_for("printer", lambda m: m["state"] == "paper_out")
        alert = admin.wait_for("alert", lambda a: a["detail"]["state"] == "paper_out")
        assert alert["kind"] == "printer" and alert["detail"]["kiosk"] == "k1" and alert["raised_at"]
        assert alert["cleared_at"] is None
        [listed] = server.get("/api/v1/halls/town/alerts", server.admin_token()).json()
        assert listed == alert
        r = server.post("/api/v1/halls/town/tickets", {"service": "id-card", "kiosk": "k1"}, server.kiosk_token())
        assert r.status_code == 201, "the ticket is valid while the printer has no paper"
        printer.paper = "ok"
        kiosk.wait_for("printer", lambda m: m["state"] == "ok")
        cleared = admin.wait_for("alert", lambda a: a["cleared_at"] is not None)
        assert cleared["key"] == alert["key"] and cleared["raised_at"] == alert["raised_at"]
        assert server.get("/api/v1/halls/town/alerts", server.admin_token()).json() == []
    finally:
        kiosk.close()
        admin.close()


def test_a_ticket_nobody_serves_now_says_so_on_paper(printing_hall: tuple[Server, VirtualPrinter]) -> None:
    server, printer = printing_hall  # every counter is closed
    r = server.post("/api/v1/halls/town/tickets", {"service": "water", "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201 and r.json()["served_now"] is False and r.json()["before_opening"] is True
    [printed] = printer.wait_printed(1, timeout=10)
    text = decode(printed.read_bytes()).text  # no window has opened today yet: no help desk, called in order
    assert "窗口尚未开始办理" in text and "请按取号顺序等候叫号" in text and "服务台" not in text
    assert server.act("w1", "open").status_code == 200 and server.act("w1", "close").status_code == 200
    r = server.post("/api/v1/halls/town/tickets", {"service": "water", "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201 and r.json()["served_now"] is False
    printed = printer.wait_printed(2, timeout=10)[-1]
    text = decode(printed.read_bytes()).text
    assert "暂无窗口办理此业务，请咨询服务台" in text and "即将叫号" not in text


def _incomplete(server: Server, counter: str = "w1") -> dict:
    server.issue("id-card")
    for action in ("open", "call-next", "start"):
        assert server.act(counter, action).status_code == 200
    body = {"outcome": "incomplete", "missing": ["户口簿"], "note": "请带原件", "print_notice": True}
    r = server.act(counter, "finish", body)
    assert r.status_code == 200, r.text
    return dict(r.json()["notice"])


def test_a_counter_with_its_own_printer_prints_its_notice_there_not_at_a_kiosk(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    kiosk_printer, counter_printer = VirtualPrinter(tmp_path / "kiosk"), VirtualPrinter(tmp_path / "counter")
    kiosk_printer.start()
    counter_printer.start()
    try:

        def edit(text: str) -> str:
            kiosk = f'printer = {{ kind = "network", host = "127.0.0.1", port = {kiosk_printer.port} }}'
            text = text.replace('printer = { kind = "none" }', kiosk)
            own = f'printer = {{ kind = "network", host = "127.0.0.1", port = {counter_printer.port} }}'
            return text.replace('name = "1号窗口"\n', f'name = "1号窗口"\n{own}\n', 1)

        server = start_server(edit=edit)
        notice = _incomplete(server)
        assert (notice["printed_at"], notice["printed_on"], notice["printed_on_name"]) == ("counter", None, "1号窗口")
        [printed] = counter_printer.wait_printed(1, timeout=10)
        assert notice["code"] in decode(printed.read_bytes()).text
        time.sleep(0.5)
        assert kiosk_printer.printed == []  # nothing went to the kiosk
    finally:
        kiosk_printer.stop()
        counter_printer.stop()


def test_without_a_counter_printer_the_answer_names_the_kiosk_it_printed_at(
    printing_hall: tuple[Server, VirtualPrinter],
) -> None:
    server, printer = printing_hall
    notice = _incomplete(server)
    assert (notice["printed_at"], notice["printed_on"], notice["printed_on_name"]) == ("kiosk", "k1", "大厅取号机")
    [printed] = printer.wait_printed(1, timeout=10)
    assert notice["code"] in decode(printed.read_bytes()).text
