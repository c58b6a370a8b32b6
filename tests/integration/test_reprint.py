"""Staff reprint a ticket's slip (POST /tickets/{id}/reprint); server-printed raster slips on 58 mm paper."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests
import zxingcpp
from PIL import Image
from support.env import ROOT
from support.printing import kiosk_printer, kiosk_ticket, slips, wait_until
from support.server import Server, clean_env, free_port

from printers import drivers, png
from printers.decode import decode, ticket_fields
from printers.layout import render
from printers.slip import Slip
from printers.virtual import VirtualPrinter


def _raster_hall(start_server: Callable[..., Server], printer: VirtualPrinter) -> Server:
    spec = f'{{ kind = "network", host = "127.0.0.1", port = {printer.port}, paper = 58, text = "raster" }}'
    return kiosk_printer(start_server, spec)


def _scan(path: Path) -> list[str]:
    png_path = path.with_suffix(".png")
    with Image.open(png_path) as img:
        return [c.text for c in zxingcpp.read_barcodes(img)]


def test_a_reprint_prints_a_marked_slip_with_a_fresh_link_and_the_old_one_stops_working(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    server = _raster_hall(start_server, printer)
    ticket = kiosk_ticket(server, server.token("--kiosk", "k1"))
    [first] = wait_until(lambda: slips(printer), "the first slip")
    assert (first.number, first.ticket, first.reprint) == (ticket["number"], ticket["id"], False)
    assert _scan(first.path) == [ticket["track_url"]], "the raster QR scans back to the ticket's link"

    r = server.post(f"/api/v1/tickets/{ticket['id']}/reprint", None, server.admin_token())

    assert r.status_code == 201, r.text
    body = r.json()
    assert body | {"job": "-"} == {
        "job": "-", "ticket": ticket["id"], "number": ticket["number"], "kiosk": "k1", "reprint": True,
        "status": "pending", "track_url": body["track_url"],
    }  # fmt: skip
    again = wait_until(lambda: [s for s in slips(printer) if s.reprint], "the reprinted slip")
    assert [(s.number, s.ticket) for s in again] == [(ticket["number"], ticket["id"])]
    assert _scan(again[0].path) == [body["track_url"]] != [ticket["track_url"]]
    old_token, new_token = ticket["track_url"].rsplit("/", 1)[1], body["track_url"].rsplit("/", 1)[1]
    assert server.get(f"/api/v1/track/{old_token}").status_code == 404
    assert server.get(f"/api/v1/track/{new_token}").json()["number"] == ticket["number"]
    jobs = server.get("/api/v1/halls/town/print-jobs", server.admin_token()).json()
    assert sorted((j["reprint"], j["status"]) for j in jobs) == [(False, "printed"), (True, "printed")]


def test_reprint_is_for_managers_of_a_known_ticket_at_a_kiosk_with_a_printer(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    server = _raster_hall(start_server, printer)
    at_kiosk = kiosk_ticket(server, server.token("--kiosk", "k1"))
    online = server.issue("id-card")  # taken without a kiosk: nowhere to print it by default
    path = f"/api/v1/tickets/{at_kiosk['id']}/reprint"

    assert server.post(path).status_code == 401
    for token in (server.counter_token("w1"), server.token("--kiosk", "k1")):
        r = server.post(path, None, token)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert server.post("/api/v1/tickets/0000000000000000/reprint", None, server.admin_token()).status_code == 404
    r = server.post(f"/api/v1/tickets/{online['id']}/reprint", None, server.admin_token())
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_printer"
    r = server.post(f"/api/v1/tickets/{online['id']}/reprint", {"kiosk": "k1"}, server.admin_token())
    assert r.status_code == 201
    r = server.post(path, {"kiosk": "nowhere"}, server.admin_token())
    assert r.status_code == 404
    r = server.post(path, {"kiosk": 7}, server.admin_token())
    assert r.status_code == 422
    r = server.get("/api/v1/halls/town/print-jobs?status=lost", server.admin_token())
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_query"


def test_the_printer_emulator_command_prints_slips_and_answers_its_paper_state(tmp_path: Path) -> None:
    slip = Slip(
        "3f2a9c0d11e4b7a8", "A001", "测试镇便民服务中心", "身份证办理", "2026-11-23 09:05", 0, 0, "http://h/t/x", False
    )

    def emulator(*flags: str) -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        args = ["printer-emulator", "--port", str(port), "--out", str(tmp_path / "out"), *flags]
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert f"127.0.0.1:{port}" in proc.stdout.readline()  # the banner comes once it listens
        return proc, port

    for flags, state in ((["--paper-out"], "paper_out"), (["--paper-low"], "paper_low"), ([], "ok")):
        proc, port = emulator(*flags)
        try:
            assert drivers.status("network", port=port) == state
            if state == "ok":
                drivers.send("network", render(slip), port=port)
                bin_path = tmp_path / "out" / f"{slip.number}-{slip.ticket_id}.bin"
                wait_until(bin_path.exists, "the slip on disk")
                assert ticket_fields(decode(bin_path.read_bytes()))["number"] == slip.number
                with Image.open(bin_path.with_suffix(".png")) as img:
                    assert img.width == png.PAPER_PX
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=15)
        assert proc.returncode == 0

    proc, port = emulator("--silent")
    try:
        assert drivers.status("network", port=port) == "offline", "a silent printer times out as offline"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


def test_the_kiosks_list_reports_a_server_printed_kiosk_out_of_paper_and_holds_its_slip(
    start_server: Callable[..., Server], printer: VirtualPrinter
) -> None:
    printer.paper = "out"
    server = _raster_hall(start_server, printer)
    wait_until(lambda: server.get("/api/v1/halls/town/kiosks").json()[0]["printer"]["state"] == "paper_out", "out")
    ticket = kiosk_ticket(server, server.token("--kiosk", "k1"))
    assert requests.get(server.url + "/api/v1/health", timeout=10).status_code == 200
    assert slips(printer) == []

    printer.paper = "ok"

    [slip] = wait_until(lambda: slips(printer), "the held slip")
    assert (slip.ticket, slip.reprint) == (ticket["id"], False)


def test_print_jobs_work_the_same_on_postgresql(start_server: Callable[..., Server], printer: VirtualPrinter) -> None:
    spec = f'printer = {{ kind = "network", host = "127.0.0.1", port = {printer.port} }}'
    server = start_server(
        "postgres", extra_server="printer_poll_s = 1", edit=lambda t: t.replace('printer = { kind = "none" }', spec)
    )
    token = server.token("--kiosk", "k1")
    tickets = [kiosk_ticket(server, token) for _ in range(3)]

    found = wait_until(lambda: len(slips(printer)) >= 3 and slips(printer), "three slips")
    reprinted = server.post(f"/api/v1/tickets/{tickets[0]['id']}/reprint", None, server.admin_token())

    assert sorted(s.ticket for s in found) == sorted(t["id"] for t in tickets)
    assert not any(s.reprint for s in found)
    assert reprinted.status_code == 201
    again = wait_until(lambda: [s for s in slips(printer) if s.reprint], "the reprint")
    assert [s.ticket for s in again] == [tickets[0]["id"]]
