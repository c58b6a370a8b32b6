from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from printers import drivers
from printers.layout import render
from printers.slip import Slip
from printers.virtual import STATUS_OK, STOP_GRACE_S, VirtualPrinter, split_queries

ROOT = Path(__file__).resolve().parents[3]


def test_sent_slip_is_kept_as_number_and_id_with_the_exact_bytes_and_a_png(printer: VirtualPrinter, slip: Slip) -> None:
    data = render(slip)
    drivers.send("network", data, port=printer.port)

    assert printer.wait_printed(1) == [printer.out_dir / "A001-3f2a9c0d11e4b7a8.bin"]
    assert (printer.out_dir / "A001-3f2a9c0d11e4b7a8.bin").read_bytes() == data
    assert (printer.out_dir / "A001-3f2a9c0d11e4b7a8.png").read_bytes().startswith(b"\x89PNG")


def test_each_connection_is_one_job(printer: VirtualPrinter, slip: Slip) -> None:
    for number in ("A001", "A002", "B001"):
        drivers.send("network", render(dataclasses.replace(slip, number=number)), port=printer.port)

    assert [p.name for p in printer.wait_printed(3)] == [f"{n}-3f2a9c0d11e4b7a8.bin" for n in ("A001", "A002", "B001")]


def test_status_of_the_running_virtual_printer_is_ok(printer: VirtualPrinter) -> None:
    assert drivers.status("network", port=printer.port) == "ok"


def test_a_status_check_alone_leaves_no_job(printer: VirtualPrinter, slip: Slip) -> None:
    drivers.status("network", port=printer.port)
    drivers.send("network", render(slip), port=printer.port)

    assert len(printer.wait_printed(1)) == 1
    assert sorted(p.suffix for p in printer.out_dir.iterdir()) == [".bin", ".png"]


def test_status_queries_are_answered_at_once_and_left_out_of_the_job(printer: VirtualPrinter, slip: Slip) -> None:
    data = render(slip)
    with socket.create_connection(("127.0.0.1", printer.port), timeout=2) as conn:
        conn.sendall(data[:100] + b"\x10\x04")
        conn.sendall(b"\x01")  # the query's n arrives in the next packet
        assert conn.recv(1) == bytes([STATUS_OK])
        conn.sendall(data[100:] + b"\x10\x04\x04")
        assert conn.recv(1) == bytes([STATUS_OK])

    (saved,) = printer.wait_printed(1)
    assert saved.read_bytes() == data


def test_a_job_that_is_not_a_ticket_is_kept_under_a_timestamp(printer: VirtualPrinter) -> None:
    drivers.send("network", b"\x1b@hello\n\x1dV\x00", port=printer.port)

    (saved,) = printer.wait_printed(1)
    assert saved.name.startswith("job-") and saved.read_bytes() == b"\x1b@hello\n\x1dV\x00"
    assert saved.with_suffix(".png").exists()


def test_a_ticket_id_from_the_wire_cannot_leave_the_folder(printer: VirtualPrinter, slip: Slip) -> None:
    drivers.send("network", render(dataclasses.replace(slip, ticket_id="../../evil")), port=printer.port)

    (saved,) = printer.wait_printed(1)
    assert saved.parent == printer.out_dir and saved.name == "A001-evil.bin"


def test_stopped_printer_is_offline_quickly(printer: VirtualPrinter) -> None:
    printer.stop()
    started = time.monotonic()

    assert drivers.status("network", port=printer.port) == "offline"
    assert time.monotonic() - started < 2


def test_a_client_polling_on_one_open_connection_does_not_hold_a_stopping_printer(printer: VirtualPrinter) -> None:
    """A kiosk agent asks DLE EOT again and again on one connection: Ctrl-C still stops the emulator soon."""
    conn = socket.create_connection(("127.0.0.1", printer.port), timeout=5)
    polling = threading.Event()
    polling.set()

    def poll() -> None:
        while polling.is_set():
            try:
                conn.sendall(b"\x10\x04\x01")
                conn.recv(1)
            except OSError:
                return
            time.sleep(0.05)  # never quiet for as long as the printer's poll

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    printer.stop()
    took = time.monotonic() - started
    polling.clear()
    poller.join()
    conn.close()
    assert took < STOP_GRACE_S + 1  # it waited for the client's silence: 11 s


def test_split_queries_keeps_a_query_cut_at_the_packet_end_for_later() -> None:
    assert split_queries(b"ab\x10\x04\x01cd\x10\x04\x04") == (b"abcd", [1, 4], b"")
    assert split_queries(b"ab\x10\x04") == (b"ab", [], b"\x10\x04")
    assert split_queries(b"ab\x10") == (b"ab", [], b"\x10")
    assert split_queries(b"\x10\x05x") == (b"\x10\x05x", [], b"")


@pytest.mark.parametrize(("paper", "state"), [("ok", "ok"), ("low", "paper_low"), ("out", "paper_out")])
def test_status_reports_the_virtual_printers_paper(printer: VirtualPrinter, paper: str, state: str) -> None:
    printer.paper = paper
    assert drivers.status("network", port=printer.port) == state


def test_command_line_printer_saves_a_ticket_and_stops_on_ctrl_c(tmp_path: Path, slip: Slip) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "printers.virtual", "--out", str(tmp_path), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        port = int(banner.split(":")[1].split(",")[0])
        drivers.send("network", render(slip), port=port)
        deadline = time.monotonic() + 5
        while not (tmp_path / "A001-3f2a9c0d11e4b7a8.bin").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "A001-3f2a9c0d11e4b7a8.png").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_command_line_printer_stops_even_when_started_with_ctrl_c_ignored(tmp_path: Path, stop: int) -> None:
    """A script's `hallq printer-emulator &` starts it with SIGINT ignored; Ctrl-C and SIGTERM still stop it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "printers.virtual", "--out", str(tmp_path), "--port", "0"]
    ignoring = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731  # as bash does for `cmd &`
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT, preexec_fn=ignoring)
    try:
        assert proc.stdout is not None and "Ctrl-C stops" in proc.stdout.readline()
        proc.send_signal(stop)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_command_line_rejects_a_bad_port_with_exit_2(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "printers.virtual", "--out", str(tmp_path), "--port", "nine"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=30)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_a_job_whose_picture_cannot_be_drawn_keeps_its_exact_bytes(
    slip: Slip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes are the record: a picture that fails (a font that cannot lay out some text) loses only itself."""
    from printers import virtual

    def broken(decoded: object, path: object) -> None:
        raise RuntimeError("raqm_layout() failed.")

    monkeypatch.setattr(virtual, "to_png", broken)
    job = render(slip)
    kept = virtual.save_job(job, tmp_path)
    assert kept.read_bytes() == job
    assert not list(tmp_path.glob("*.png*"))  # no picture, and no half-written one
