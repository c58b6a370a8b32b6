"""Reaching a real printer through python-escpos: open it, send a job's bytes, ask how it is."""

from __future__ import annotations

import logging
import socket
from typing import Any, Protocol, TypedDict, Unpack, cast

from escpos.exceptions import Error as EscposError  # type: ignore[import-untyped]
from escpos.printer import File, Network, Serial, Usb  # type: ignore[import-untyped]

log = logging.getLogger("hallq.printers")

KINDS = ("network", "usb", "serial", "file")
STATES = ("ok", "paper_low", "paper_out", "offline")
STATUS_TIMEOUT_S = 1.5  # python-escpos waits 60 s on a silent network printer; a kiosk can't
DELIVER_TIMEOUT_S = 3.0  # each step of printing a job (connect, status answer, write)


class PrinterError(Exception):
    """A printer could not be opened or written to; the message says which printer and why.

    `nothing_printed` is True when it failed before a byte of the job was written (it could not be
    opened, or said it was not ready): sending the job again then prints it for the first time.
    """

    def __init__(self, message: str, nothing_printed: bool = False) -> None:
        super().__init__(message)
        self.nothing_printed = nothing_printed


class NotReady(PrinterError):
    """The printer answered that it cannot print now (out of paper, offline): nothing was sent."""

    def __init__(self, state: str) -> None:
        super().__init__(f"printer not ready: {state}", nothing_printed=True)
        self.state = state


class Device(Protocol):
    """The part of a python-escpos printer we use."""

    def _raw(self, msg: bytes) -> None: ...
    def close(self) -> None: ...
    def is_online(self) -> bool: ...
    def paper_status(self) -> int: ...


class Where(TypedDict, total=False):
    """Where a printer is: the keyword arguments of open_printer."""

    host: str
    port: int
    path: str
    usb_vendor: int
    usb_product: int
    baudrate: int
    timeout: float


def open_printer(
    kind: str,
    *,
    host: str = "127.0.0.1",
    port: int = 9100,
    path: str = "",
    usb_vendor: int = 0,
    usb_product: int = 0,
    baudrate: int = 9600,
    timeout: float = 5.0,
) -> Device:
    """An opened python-escpos printer (Network, Usb, Serial or File); PrinterError if it cannot be opened."""
    _check_kind(kind)
    name = _name(kind, host, port, path, usb_vendor, usb_product)
    try:
        printer = _make(kind, host, port, path, usb_vendor, usb_product, baudrate, timeout)
        if kind == "network":
            # Network.open() drops its socket unclosed when connect fails (a ResourceWarning per try);
            # create_connection closes it, and the printer then uses ours as its device.
            printer.device = socket.create_connection((host, port), timeout=timeout)
        else:
            printer.open()
    except (PrinterError, EscposError, OSError, RuntimeError, ValueError) as e:
        raise PrinterError(f"{name}: {_one_line(e)}", nothing_printed=True) from e
    return cast(Device, printer)


def send(kind: str, data: bytes, **where: Unpack[Where]) -> None:
    """Open the printer, write the job's bytes as they are, close it; PrinterError on any failure."""
    printer = open_printer(kind, **where)
    try:
        printer._raw(data)
    except (EscposError, OSError, ValueError) as e:
        raise PrinterError(f"{kind} printer: sending {len(data)} bytes failed: {_one_line(e)}") from e
    finally:
        _close(printer)


def deliver(kind: str, data: bytes, **where: Unpack[Where]) -> str:
    """Print a job only on a printer that says it is ready; its state ("ok" or "paper_low").

    One connection: DLE EOT asks first (a file printer cannot answer and is taken as ready), then the
    bytes. NotReady or a PrinterError with nothing_printed when nothing went out; every step has a timeout.
    """
    _check_kind(kind)
    where.setdefault("timeout", DELIVER_TIMEOUT_S)
    printer = open_printer(kind, **where)
    try:
        state = "ok" if kind == "file" else _ask(printer, kind)
        if state not in ("ok", "paper_low"):
            raise NotReady(state)
        try:
            printer._raw(data)
        except (EscposError, OSError, ValueError) as e:
            raise PrinterError(f"{kind} printer: sending {len(data)} bytes failed: {_one_line(e)}") from e
    finally:
        _close(printer)
    return state


def status(kind: str, **where: Unpack[Where]) -> str:
    """One of STATES, asked with DLE EOT and a short timeout so a dead printer answers "offline" quickly."""
    _check_kind(kind)
    where["timeout"] = min(where.get("timeout", STATUS_TIMEOUT_S), STATUS_TIMEOUT_S)
    try:
        printer = open_printer(kind, **where)
    except PrinterError as e:
        log.info("printer offline: %s", e)
        return "offline"
    try:
        return _ask(printer, kind)
    finally:
        _close(printer)


def _ask(printer: Device, kind: str) -> str:
    """DLE EOT 1 and 4 on an open printer: one of STATES ("offline" when it does not answer in time)."""
    try:
        online = printer.is_online()  # a silent printer times out here, so the wait is one timeout at most
        paper = printer.paper_status()
    except NotImplementedError:
        return "ok"  # a File printer can't be read from: that it opened for writing is all we can know
    except (EscposError, OSError, ValueError) as e:
        log.info("%s printer did not answer its status: %s", kind, _one_line(e))
        return "offline"
    if paper == 0:
        return "paper_out"  # checked first: a printer out of paper also reports itself offline
    if not online:
        return "offline"
    return "paper_low" if paper == 1 else "ok"


def parse_spec(spec: str) -> tuple[str, Where]:
    """`usb:VID:PID`, `serial:/dev/ttyS0`, `network:HOST[:PORT]` or `file:PATH` as (kind, where); ValueError."""
    kind, _, rest = spec.partition(":")
    if kind not in KINDS or not rest:
        raise ValueError(f"printer {spec!r}: expected usb:VID:PID, serial:DEVICE, network:HOST:PORT or file:PATH")
    if kind == "usb":
        vid, _, pid = rest.partition(":")
        try:
            return kind, {"usb_vendor": int(vid, 16), "usb_product": int(pid, 16)}
        except ValueError:
            raise ValueError(f"printer {spec!r}: USB ids are hex, e.g. usb:0416:5011") from None
    if kind == "network":
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "9100")
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535 or not host:
            raise ValueError(f"printer {spec!r}: expected network:HOST:PORT, e.g. network:192.0.2.50:9100")
        return kind, {"host": host, "port": int(port)}
    return kind, {"path": rest}


def _make(kind: str, host: str, port: int, path: str, vendor: int, product: int, baudrate: int, timeout: float) -> Any:
    if kind == "network":
        return Network(host=host, port=port, timeout=timeout)
    if kind == "usb":
        if not Usb.is_usable():  # python-escpos would raise a RuntimeError with a garbled message
            raise PrinterError("USB printing needs pyusb: pip install 'python-escpos[usb]'")
        return Usb(idVendor=vendor, idProduct=product, timeout=int(timeout * 1000))  # pyusb counts ms
    if kind == "serial":
        if not Serial.is_usable():
            raise PrinterError("serial printing needs pyserial: pip install 'python-escpos[serial]'")
        return Serial(devfile=path, baudrate=baudrate, timeout=timeout)
    return File(devfile=path)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise PrinterError(f"unknown printer kind {kind!r}; expected one of {', '.join(KINDS)}")


def _name(kind: str, host: str, port: int, path: str, vendor: int, product: int) -> str:
    """How a person would name the printer in a log line."""
    if kind == "network":
        return f"network printer {host}:{port}"
    if kind == "usb":
        return f"USB printer {vendor:04x}:{product:04x}"
    return f"{kind} printer {path or '(no path)'}"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _close(printer: Device) -> None:
    try:
        printer.close()
    except (EscposError, OSError) as e:  # the job is out or already failed: a failing close changes nothing
        log.debug("closing printer: %s", _one_line(e))
