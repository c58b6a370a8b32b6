"""Tap to paper: from the kiosk's POST of a ticket to the first byte, and to the whole slip, at the printer.

Two ways a slip travels, each against a real `hallq serve` on 127.0.0.1 (SQLite, the tests' hall):
- server-printed: the server's sender prints to a network printer;
- agent-printed: the server hands the job to `hallq kiosk-agent` over Socket.IO, which prints it.
The printer is a recording one on a loopback port: it answers DLE EOT like the virtual printer, and notes
when the first byte of each job arrives and when the job's connection closes (the whole slip is in).
Tickets are taken one at a time, each after the previous slip is out (a kiosk serves one resident at a
time), so the figures are latency, not queueing. Bounded: N tickets per mode (default 500).

    python -m bench.printing [--n 500] [--modes server,agent] [--text chinese|raster]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from printers.decode import decode, ticket_fields
from printers.virtual import split_queries, status_byte

from .api import ROOT, Server, _env, free_port, write_config
from .common import percentile, table


@dataclass
class Received:
    first_byte: float
    done: float
    size: int


@dataclass
class RecordingPrinter:
    """A network printer that records when each slip's bytes arrive, keyed by ticket id."""

    jobs: dict[str, Received] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                self._receive(conn)

    def _receive(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        job, carry, first = bytearray(), b"", 0.0
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            payload, queries, carry = split_queries(carry + chunk)
            if payload and not first:
                first = time.perf_counter()
            job += payload
            if queries:
                conn.sendall(bytes(status_byte(n, "ok") for n in queries))
        done = time.perf_counter()
        ticket = ticket_fields(decode(bytes(job)))["ticket_id"] if job else None
        if ticket:
            with self._cond:
                self.jobs[ticket] = Received(first, done, len(job))
                self._cond.notify_all()

    def wait(self, ticket: str, timeout: float = 30) -> Received:
        with self._cond:
            if not self._cond.wait_for(lambda: ticket in self.jobs, timeout):
                raise RuntimeError(f"slip of ticket {ticket} never arrived")
            return self.jobs[ticket]

    def close(self) -> None:
        self._listener.close()


@dataclass
class Mode:
    name: str
    first_byte: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def _kiosk_token(server: Server) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "token", "create", "--kiosk", "k1", "--config", str(server.config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=_env(),
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def run_mode(mode: str, n: int, text: str, folder: Path) -> Mode:
    """N tickets at kiosk k1, each timed from its POST to its slip's first byte and last byte."""
    printer = RecordingPrinter()
    port = free_port()
    config = write_config(folder, port)
    where = f'kind = "network", host = "127.0.0.1", port = {printer.port}' if mode == "server" else 'kind = "agent"'
    body = config.read_text(encoding="utf-8")
    body = body.replace('printer = { kind = "none" }', f'printer = {{ {where}, text = "{text}" }}')
    config.write_text(body, encoding="utf-8")  # id-card has no daily limit in the tests' hall
    server = Server(config, port)
    agent = None
    result = Mode(f"{mode}-printed ({text})")
    try:
        server.wait_ready()
        token = _kiosk_token(server)
        if mode == "agent":
            args = [
                "kiosk-agent",
                "--server",
                server.url,
                "--token",
                token,
                "--printer",
                f"network:127.0.0.1:{printer.port}",
            ]
            agent = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *args],
                cwd=ROOT,
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait_agent(server)
        http = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(n):
            tap = time.perf_counter()
            r = http.post(
                f"{server.url}/api/v1/halls/town/tickets", json={"service": "id-card", "kiosk": "k1"}, headers=headers
            )
            r.raise_for_status()
            got = printer.wait(r.json()["id"])
            result.first_byte.append(got.first_byte - tap)
            result.whole.append(got.done - tap)
            result.sizes.append(got.size)
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=10)
        server.stop()
        printer.close()
    return result


def _wait_agent(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(f"{server.url}/api/v1/halls/town/kiosks", timeout=5).json()[0]["printer"]["state"] != "ok":
        if time.monotonic() > deadline:
            raise RuntimeError("the kiosk agent never reported its printer")
        time.sleep(0.1)
    time.sleep(0.5)  # its first state report and its connection settle


def rows(results: list[Mode]) -> list[list[object]]:
    ms = 1000
    out: list[list[object]] = []
    for m in results:
        fb, wh = m.first_byte, m.whole
        out.append(
            [
                m.name,
                len(fb),
                round(percentile(fb, 50) * ms, 1),
                round(percentile(fb, 99) * ms, 1),
                round(percentile(wh, 50) * ms, 1),
                round(percentile(wh, 99) * ms, 1),
                round(sum(m.sizes) / max(len(m.sizes), 1)),
            ]
        )
    return out


HEADERS = ["mode", "tickets", "first byte p50 ms", "p99", "whole slip p50 ms", "p99", "bytes/slip"]


def main(argv: list[str] | None = None) -> list[Mode]:
    parser = argparse.ArgumentParser(prog="python -m bench.printing", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="tickets per mode (default 500)")
    parser.add_argument("--modes", default="server,agent", help="server, agent or both (default)")
    parser.add_argument("--text", default="chinese", choices=["chinese", "raster"], help="slip text mode")
    args = parser.parse_args(argv)
    results = []
    for mode in [m for m in args.modes.split(",") if m]:
        with tempfile.TemporaryDirectory(prefix="bench-print-") as folder:
            results.append(run_mode(mode, max(1, min(args.n, 5000)), args.text, Path(folder)))
    print(table(HEADERS, rows(results)))
    return results


if __name__ == "__main__":
    main()
