"""The receipt slip (受理回执, PROTOCOL v1.2) printed when a finish as accepted opens a matter: on the counter's
own printer, 80 and 58 mm, Chinese mode and raster, read back from the paper; reprinted with a fresh link."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from support.server import Server

from printers.decode import decode, ticket_fields
from printers.layout import PAPERS, raster_bytes, raster_line
from printers.virtual import VirtualPrinter

# each window's own printer: every paper and text mode in one hall
MODES = {"w1": (80, "chinese"), "w2": (80, "raster"), "w3": (58, "chinese"), "w4": (58, "raster")}


@pytest.fixture
def hall(tmp_path: Path, start_server: Callable[..., Server]) -> Iterator[tuple[Server, dict[str, VirtualPrinter]]]:
    printers = {c: VirtualPrinter(tmp_path / c) for c in [*MODES, "k1"]}
    for p in printers.values():
        p.start()

    def edit(text: str) -> str:
        for counter, (paper, mode) in MODES.items():
            name = f'name = "{counter[1]}号窗口"\n'
            own = (
                f'printer = {{ kind = "network", host = "127.0.0.1", port = {printers[counter].port},'
                f' paper = {paper}, text = "{mode}" }}\n'
            )
            text = text.replace(name, name + own, 1)
        kiosk = f'printer = {{ kind = "network", host = "127.0.0.1", port = {printers["k1"].port} }}'
        return text.replace('printer = { kind = "none" }', kiosk, 1)

    try:
        yield start_server(edit=edit), printers
    finally:
        for p in printers.values():
            p.stop()


def _accept(server: Server, counter: str = "w2") -> dict[str, Any]:
    issued = server.issue("social")
    for action in ("open", "call-next"):
        assert server.act(counter, action).status_code == 200
    r = server.act(counter, "finish", {"outcome": "accepted"})
    assert r.status_code == 200, r.text
    return {"issued": issued, **r.json()}


def _read(path: Path, paper: int, mode: str, window: str) -> dict[str, Any]:
    """What a resident reads off the receipt: its ASCII lines, whether the window is on it, its QR's link."""
    data = path.read_bytes()
    decoded = decode(data)
    if mode == "chinese":
        window_on_paper = any(line.text == window for line in decoded.lines)
        qr = decoded.qr
    else:  # drawn: the window's line as the same picture; the QR read off the printer's own rendering
        window_on_paper = raster_bytes(raster_line(window, PAPERS[paper], 2)) in data
        with Image.open(path.with_suffix(".png")) as img:
            qr = [code.text for code in zxingcpp.read_barcodes(img)]
    return {"lines": [line.text for line in decoded.lines], "window": window_on_paper, "qr": qr, "text": decoded.text}


def _token(url: str) -> str:
    return url.rsplit("/t/", 1)[1]


def test_accepting_prints_the_receipt_and_its_qr_opens_the_tickets_page(
    hall: tuple[Server, dict[str, VirtualPrinter]],
) -> None:
    server, printers = hall
    done = _accept(server, "w2")
    matter = done["ticket"]["matter"]
    assert done["receipt"] == {
        "number": matter["number"], "printed_at": "counter", "printed_on": None, "printed_on_name": "2号窗口"
    }  # fmt: skip
    [path] = printers["w2"].wait_printed(1, timeout=15)
    slip = _read(path, 80, "raster", "2号窗口")
    assert matter["number"] in slip["lines"] and matter["due_at"][:10] in slip["lines"]
    assert slip["window"]
    [url] = slip["qr"]
    assert url.startswith(server.url + "/t/") and url != done["issued"]["track_url"]
    track = server.get(f"/api/v1/track/{_token(url)}").json()  # the receipt's link: the ticket's own page
    assert track["number"] == done["ticket"]["number"] and track["matter"]["number"] == matter["number"]
    mine = server.get(f"/api/v1/track/{_token(done['issued']['track_url'])}")
    assert mine.status_code == 200 and mine.json()["matter"]["number"] == matter["number"]  # the phone's link too
    assert all(p.printed == [] for c, p in printers.items() if c != "w2")


def test_without_print_receipt_nothing_prints_and_a_walk_in_finish_has_no_receipt(
    hall: tuple[Server, dict[str, VirtualPrinter]],
) -> None:
    server, printers = hall
    server.issue("social")
    for action in ("open", "call-next"):
        assert server.act("w3", action).status_code == 200
    r = server.act("w3", "finish", {"outcome": "accepted", "print_receipt": False})
    assert r.status_code == 200 and r.json()["receipt"]["printed_at"] is None
    server.issue("social")
    assert server.act("w3", "call-next").status_code == 200
    completed = server.act("w3", "finish", {"outcome": "completed"}).json()
    assert "receipt" not in completed and "matter" not in completed["ticket"]
    bad = server.act("w3", "finish", {"outcome": "accepted", "print_receipt": "yes"})
    assert bad.status_code == 422
    assert printers["w3"].printed == []


@pytest.mark.parametrize("counter", ["w1", "w3", "w4"])
def test_a_reprint_in_every_mode_reads_back_and_only_the_newest_receipt_link_works(
    hall: tuple[Server, dict[str, VirtualPrinter]], counter: str
) -> None:
    server, printers = hall
    done = _accept(server, "w2")
    matter = done["ticket"]["matter"]
    [first] = printers["w2"].wait_printed(1, timeout=15)
    [old_url] = _read(first, 80, "raster", "2号窗口")["qr"]
    supervisor = server.token("--role", "supervisor", "--hall", "town")
    r = server.post(f"/api/v1/matters/{matter['id']}/receipt", {"counter": counter}, supervisor)
    assert r.status_code == 200, r.text
    name = f"{counter[1]}号窗口"
    assert r.json() == {
        "number": matter["number"],
        "printed_at": "counter",
        "printed_on": None,
        "printed_on_name": name,
    }
    paper, mode = MODES[counter]
    [path] = printers[counter].wait_printed(1, timeout=15)
    slip = _read(path, paper, mode, "2号窗口")  # the owner window is printed, wherever it prints
    assert matter["number"] in slip["lines"] and matter["due_at"][:10] in slip["lines"] and slip["window"]
    assert ("补打" in slip["text"]) if mode == "chinese" else ("REPRINT" in slip["text"])
    [url] = slip["qr"]
    assert url != old_url and server.get(f"/api/v1/track/{_token(url)}").json()["number"] == done["ticket"]["number"]
    assert server.get(f"/api/v1/track/{_token(old_url)}").status_code == 404  # the lost receipt's link
    assert server.get(f"/api/v1/track/{_token(done['issued']['track_url'])}").status_code == 200


def test_reprint_is_for_the_owner_or_a_manager_and_bad_asks_write_nothing(
    hall: tuple[Server, dict[str, VirtualPrinter]],
) -> None:
    server, printers = hall
    matter = _accept(server, "w2")["ticket"]["matter"]
    printers["w2"].wait_printed(1, timeout=15)
    url = f"/api/v1/matters/{matter['id']}/receipt"
    assert server.post(url, {}, server.counter_token("w1")).status_code == 403  # not the owner window
    assert server.post(url, {}).status_code == 401
    assert server.post(url, {}, server.kiosk_token()).status_code == 403
    assert server.post("/api/v1/matters/ffffffffffffffff/receipt", {}, server.admin_token()).status_code == 404
    nowhere = server.post(url, {"counter": "e1"}, server.admin_token())  # a counter of another hall
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"
    assert server.post(url, {"counter": "w1", "copies": 2}, server.admin_token()).status_code == 422
    own = server.post(url, {}, server.counter_token("w2"))  # the owner window, on its own printer
    assert own.status_code == 200 and own.json()["printed_on_name"] == "2号窗口"
    assert len(printers["w2"].wait_printed(2, timeout=15)) == 2
    for status in ("in_progress", "result_ready", "picked_up"):
        step = server.post(f"/api/v1/matters/{matter['id']}/progress", {"status": status}, server.counter_token("w2"))
        assert step.status_code == 200
    closed = server.post(url, {}, server.admin_token())
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "bad_transition"


def test_a_pick_up_ticket_taken_at_the_kiosk_says_so_on_its_slip(
    hall: tuple[Server, dict[str, VirtualPrinter]],
) -> None:
    server, printers = hall
    done = _accept(server, "w2")
    matter = done["ticket"]["matter"]
    for status in ("in_progress", "result_ready"):
        step = server.post(f"/api/v1/matters/{matter['id']}/progress", {"status": status}, server.counter_token("w2"))
        assert step.status_code == 200
    r = server.post("/api/v1/halls/town/pickups", {"case": matter["number"], "kiosk": "k1"}, server.kiosk_token())
    assert r.status_code == 201, r.text
    ticket = r.json()
    [path] = printers["k1"].wait_printed(1, timeout=15)
    slip = decode(path.read_bytes())
    assert ticket_fields(slip) == {
        "number": ticket["number"],
        "ticket_id": ticket["id"],
        "track_url": ticket["track_url"],
    }
    assert "社保医保 【领取】" in slip.text
    # what picking the result up needs (the service's `pickup`), not the application's materials
    assert "领取时请带上：" in slip.text and "请备齐以下材料" not in slip.text
    assert "受理回执" in slip.text and "本人身份证" in slip.text
    walk_in = server.post("/api/v1/halls/town/tickets", {"service": "social", "kiosk": "k1"}, server.kiosk_token())
    assert walk_in.status_code == 201
    [_, other] = printers["k1"].wait_printed(2, timeout=15)
    assert "领取" not in decode(other.read_bytes()).text


def _proxy_matter(server: Server, token: str) -> dict[str, Any]:
    """A 全程代办 matter staff open for 王秀英 (no ticket), with `token`."""
    body = {"service": "social", "proxy": True,
            "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": "11010519491231002X"}}  # fmt: skip
    r = server.post("/api/v1/halls/town/matters", body, token)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_proxy_matter_prints_its_commission_to_sign_and_a_receipt_without_a_qr(
    hall: tuple[Server, dict[str, VirtualPrinter]],
) -> None:
    server, printers = hall
    w1 = server.counter_token("w1")
    matter = _proxy_matter(server, w1)
    printed = server.post(f"/api/v1/matters/{matter['id']}/commission", {}, w1)
    assert printed.status_code == 200, printed.text
    assert printed.json() == {"number": matter["number"], "printed_at": "counter", "printed_on": None,
                              "printed_on_name": "1号窗口"}  # fmt: skip
    [path] = printers["w1"].wait_printed(1, timeout=15)  # 80 mm, Chinese mode
    slip = decode(path.read_bytes())
    lines = [line.text for line in slip.lines]
    assert "代理服务委托书" in lines and matter["number"] in lines and "委托人：王秀英" in lines
    assert "110***********002X" in lines and "11010519491231002X" not in slip.text and "13812345678" not in slip.text
    receipt = server.post(f"/api/v1/matters/{matter['id']}/receipt", {}, w1)
    assert receipt.status_code == 200
    [_, again] = printers["w1"].wait_printed(2, timeout=15)
    decoded = decode(again.read_bytes())
    assert matter["number"] in decoded.text and "受理回执" in decoded.text and decoded.qr == []  # no ticket: no page
    promised = _accept(server, "w2")["ticket"]["matter"]
    refused = server.post(f"/api/v1/matters/{promised['id']}/commission", {}, server.admin_token())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_commission"
    assert server.post(f"/api/v1/matters/{matter['id']}/commission", {}, server.counter_token("w3")).status_code == 403


def test_a_commission_never_prints_on_a_kiosk_but_a_receipt_may(
    printing_hall: tuple[Server, VirtualPrinter],
) -> None:
    """A hall whose kiosk has a printer and whose windows have none: the receipt (no name on it) goes to the
    kiosk, the 代理服务委托书 (the applicant's full name, to sign) is refused rather than left in the hall."""
    server, kiosk = printing_hall
    w1 = server.counter_token("w1")
    matter = _proxy_matter(server, w1)
    refused = server.post(f"/api/v1/matters/{matter['id']}/commission", {}, w1)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_printer", refused.text
    receipt = server.post(f"/api/v1/matters/{matter['id']}/receipt", {}, w1)
    assert receipt.status_code == 200 and receipt.json()["printed_at"] == "kiosk", receipt.text
    [path] = kiosk.wait_printed(1, timeout=15)
    text = decode(path.read_bytes()).text
    assert "受理回执" in text and "王秀英" not in text and "代理服务委托书" not in text
