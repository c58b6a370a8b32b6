from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from printers import drivers


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_closed_port_is_offline_within_two_seconds() -> None:
    started = time.monotonic()

    assert drivers.status("network", port=_closed_port()) == "offline"
    assert time.monotonic() - started < 2


def test_silent_printer_is_offline_after_the_short_status_timeout() -> None:
    with socket.socket() as silent:  # accepts the connection (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        started = time.monotonic()

        assert drivers.status("network", port=silent.getsockname()[1], timeout=0.3) == "offline"
        assert time.monotonic() - started < 2


def test_status_never_waits_longer_than_the_status_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        started = time.monotonic()

        assert drivers.status("network", port=silent.getsockname()[1], timeout=60) == "offline"
        assert time.monotonic() - started < drivers.STATUS_TIMEOUT_S * 2 + 1  # two queries at most


def test_sending_to_a_closed_port_is_a_printer_error_naming_the_printer() -> None:
    port = _closed_port()
    with pytest.raises(drivers.PrinterError, match=f"network printer 127.0.0.1:{port}: .*refused"):
        drivers.send("network", b"\x1b@", port=port)


def test_file_printer_receives_the_exact_bytes(tmp_path: Path) -> None:
    drivers.send("file", b"\x1b@abc\n\x1dV\x00", path=str(tmp_path / "lp0"))

    assert (tmp_path / "lp0").read_bytes() == b"\x1b@abc\n\x1dV\x00"


def test_file_printer_that_cannot_be_opened_is_a_printer_error(tmp_path: Path) -> None:
    with pytest.raises(drivers.PrinterError, match="file printer .*missing/lp0"):
        drivers.send("file", b"x", path=str(tmp_path / "missing" / "lp0"))


def test_unknown_kind_is_a_printer_error() -> None:
    with pytest.raises(drivers.PrinterError, match="unknown printer kind 'bluetooth'"):
        drivers.open_printer("bluetooth")
    with pytest.raises(drivers.PrinterError):
        drivers.status("bluetooth")


def test_a_usb_printer_that_is_not_plugged_in_is_a_printer_error() -> None:
    with pytest.raises(drivers.PrinterError):
        drivers.send("usb", b"x", usb_vendor=0x0416, usb_product=0x5011)


def test_a_serial_printer_on_a_missing_port_is_a_printer_error(tmp_path: Path) -> None:
    with pytest.raises(drivers.PrinterError):
        drivers.send("serial", b"x", path=str(tmp_path / "ttyUSB9"))
