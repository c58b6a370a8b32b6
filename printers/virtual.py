"""The virtual printer: a TCP server that acts like a network receipt printer and keeps each job as files.

Each connection is one job; the job ends when the client closes. Status queries (DLE EOT n) are answered
at once and left out of the saved bytes. A job is saved as `<number>-<ticket id>.bin` (the bytes as
received) and `.png` (a rendering); the .png is written first and each file appears whole (written, then
renamed), so a .bin on disk means that job is complete.

Only blocking standard-library sockets and one thread: under eventlet's monkey patching they turn green.
"""

from __future__ import annotations

import argparse
import logging
import re
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from .decode import Decoded, decode, ticket_fields
from .png import to_png

log = logging.getLogger("hallq.printers")

DLE_EOT = b"\x10\x04"
STATUS_OK = 0x12  # the answer's fixed bits 1 and 4, nothing else: online, no error, paper present
OFFLINE = 0x08  # DLE EOT 1, bit 3: a printer out of paper stops and reports itself offline
PAPER_SENSORS = {"ok": STATUS_OK, "low": STATUS_OK | 0x0C, "out": STATUS_OK | 0x0C | 0x60}  # DLE EOT 4
ACCEPT_POLL_S = 0.2  # how often the accept loop looks whether stop() was asked
IDLE_JOB_S = 10.0  # a client silent this long has finished its job even if it never closes
STOP_GRACE_S = 2.0  # once stopping, a connection still sending (a job's tail, or status polls) gets this long


class VirtualPrinter:
    """A network printer on a local port that saves every job it receives in `out_dir`."""

    def __init__(self, out_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port  # the real one after start() when 0 asked for any free port
        self.printed: list[Path] = []  # the .bin of each saved job, in order
        self.paper = "ok"  # "ok" | "low" | "out": what the status answers say, to try a kiosk's warnings
        self.silent = False  # True: takes connections and bytes but never answers nor prints (a hung printer)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._saved = threading.Condition()

    def start(self) -> None:
        """Listen on host:port and serve jobs in a daemon thread."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(8)
        listener.settimeout(ACCEPT_POLL_S)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name=f"virtual-printer-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting jobs and close the port (a job in progress gets STOP_GRACE_S to finish)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE_S + 1)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def wait_printed(self, count: int, timeout: float = 5.0) -> list[Path]:
        """The .bin files once at least `count` jobs are saved; fewer if the timeout passes first."""
        with self._saved:
            self._saved.wait_for(lambda: len(self.printed) >= count, timeout)
            return list(self.printed)

    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as e:
                log.warning("virtual printer stops accepting: %s", e)
                return
            with conn:
                job = self._receive(conn)
            if job:  # a status check alone is not a job
                self._save_quietly(job)

    def _receive(self, conn: socket.socket) -> bytes:
        """The job's bytes, answering each DLE EOT n on the way and leaving it out.

        The job ends when the client closes, after IDLE_JOB_S of silence, or once the printer is stopping:
        at the first pause, or after STOP_GRACE_S of a client that never pauses (an agent polling its
        status on one connection would otherwise hold a stopping printer for ever).
        """
        conn.settimeout(ACCEPT_POLL_S)
        job, carry = bytearray(), b""
        heard, stop_by = time.monotonic(), None
        while True:
            if self._stopping.is_set():
                stop_by = stop_by or time.monotonic() + STOP_GRACE_S
                if time.monotonic() > stop_by:
                    break
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                if self._stopping.is_set() or time.monotonic() - heard >= IDLE_JOB_S:
                    break
                continue
            except OSError:  # a reset ends the job with what came
                break
            if not chunk:
                break
            heard = time.monotonic()
            if self.silent:
                continue
            payload, queries, carry = split_queries(carry + chunk)
            job += payload
            if queries and not _answer(conn, bytes(status_byte(n, self.paper) for n in queries)):
                break
        return b"" if self.silent else bytes(job + carry)

    def _save_quietly(self, job: bytes) -> None:
        try:
            path = save_job(job, self.out_dir)
        except Exception:  # a bad job or a full disk must not stop the printer; the log says why
            log.exception("virtual printer could not save a job of %d bytes", len(job))
            return
        with self._saved:
            self.printed.append(path)
            self._saved.notify_all()


def split_queries(data: bytes) -> tuple[bytes, list[int], bytes]:
    """The data without its DLE EOT n queries, the n of each, and a query cut short at the end."""
    out, i = bytearray(), 0
    queries: list[int] = []
    while (j := data.find(DLE_EOT, i)) >= 0:
        if j + 2 >= len(data):  # its n byte has not arrived yet
            return bytes(out + data[i:j]), queries, data[j:]
        out += data[i:j]
        queries.append(data[j + 2])
        i = j + 3
    if data.endswith(DLE_EOT[:1]):
        return bytes(out + data[i:-1]), queries, DLE_EOT[:1]
    return bytes(out + data[i:]), queries, b""


def status_byte(n: int, paper: str) -> int:
    """The printer's one-byte answer to DLE EOT n with its paper in this state."""
    if n == 4:
        return PAPER_SENSORS.get(paper, PAPER_SENSORS["ok"])
    if n == 1 and paper == "out":
        return STATUS_OK | OFFLINE
    return STATUS_OK


def _answer(conn: socket.socket, answers: bytes) -> bool:
    try:
        conn.sendall(answers)
    except OSError:
        return False
    return True


def save_job(job: bytes, out_dir: Path) -> Path:
    """Write `<name>.png` then `<name>.bin` in out_dir, named from the ticket; the .bin path. The .bin is
    written even when the picture cannot be drawn."""
    decoded = decode(job)
    stem = _stem(decoded)
    png, binary = out_dir / f"{stem}.png", out_dir / f"{stem}.bin"
    copy = 1
    while binary.exists():  # a slip printed again (补打) is kept beside the first: <number>-<id>-2.bin
        copy += 1
        png, binary = out_dir / f"{stem}-{copy}.png", out_dir / f"{stem}-{copy}.bin"
    tmp_png, tmp_bin = png.with_suffix(".png.tmp"), binary.with_suffix(".bin.tmp")
    try:
        to_png(decoded, tmp_png)
        tmp_png.replace(png)
    except Exception:  # noqa: BLE001 - the bytes are the record: a picture that cannot be drawn must not lose them
        log.exception("virtual printer could not draw a job of %d bytes; its bytes are kept", len(job))
        tmp_png.unlink(missing_ok=True)
    tmp_bin.write_bytes(job)
    tmp_bin.replace(binary)
    return binary


_SAFE = re.compile(r"[^A-Za-z0-9_-]")  # the bytes come from the network: no path may come out of them


def _stem(decoded: Decoded) -> str:
    fields = ticket_fields(decoded)
    number = _SAFE.sub("", fields["number"] or "")
    ticket_id = _SAFE.sub("", fields["ticket_id"] or "")
    if number and ticket_id:
        return f"{number}-{ticket_id}"
    return datetime.now().strftime("job-%Y%m%d-%H%M%S-%f")


def run_emulator(out: Path, host: str = "127.0.0.1", port: int = 9100, paper: str = "ok", silent: bool = False) -> int:
    """The `hallq printer-emulator` command: a virtual printer in the foreground until Ctrl-C."""
    from .foreground import stop_on_interrupt_or_term

    stopped = stop_on_interrupt_or_term()
    printer = VirtualPrinter(out, host=host, port=port)
    printer.paper, printer.silent = paper, silent
    try:
        printer.start()
    except OSError as e:
        print(f"hallq: error: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr, flush=True)
        return 1
    how = "silent (never answers)" if silent else {"ok": "paper ok", "low": "paper low", "out": "out of paper"}[paper]
    print(f"printer emulator on {host}:{printer.port}, {how}; slips in {out} (Ctrl-C stops)", flush=True)
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        printer.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m printers.virtual`: the same as `hallq printer-emulator`."""
    parser = argparse.ArgumentParser(
        prog="python -m printers.virtual", description="A virtual network receipt printer."
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the printed .bin and .png files")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9100, help="TCP port (default 9100, 0 = any free port)")
    args = parser.parse_args(argv)
    return run_emulator(args.out, args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
