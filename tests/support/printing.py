"""Kiosk printing in tests: a hall whose kiosk prints, agents as real processes, slips read back from paper."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printers.decode import decode, ticket_fields
from printers.virtual import VirtualPrinter
from support.env import ROOT
from support.server import Server, clean_env


def kiosk_printer(start_server: Callable[..., Server], printer: str) -> Server:
    """A real server of the test hall (SQLite) whose kiosk k1 has `printer` (a TOML inline table)."""
    return start_server(
        extra_server="printer_poll_s = 1",
        edit=lambda text: text.replace('printer = { kind = "none" }', f"printer = {printer}"),
    )


@dataclass(frozen=True)
class Slip:
    path: Path
    number: str | None
    ticket: str | None
    reprint: bool


def slips(printer: VirtualPrinter) -> list[Slip]:
    """Every slip on the printer's paper so far, read back from its bytes."""
    out = []
    for path in sorted(printer.out_dir.glob("*.bin")):
        decoded = decode(path.read_bytes())
        fields = ticket_fields(decoded)
        reprint = "补打" in decoded.text or "REPRINT" in decoded.text
        out.append(Slip(path, fields["number"], fields["ticket_id"], reprint))
    return out


def wait_slips(printer: VirtualPrinter, tickets: list[str], timeout: float = 60) -> list[Slip]:
    """The slips once every one of these ticket ids has at least one; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = slips(printer)
        missing = set(tickets) - {s.ticket for s in found}
        if not missing:
            return found
        assert time.monotonic() < deadline, f"never printed: {sorted(missing)}; printed {found}"
        time.sleep(0.2)


def assert_nothing_lost_nothing_twice_unmarked(found: list[Slip], tickets: list[str]) -> None:
    """Each ticket is on paper; a ticket on paper more than once has every copy but one marked 补打."""
    assert {s.ticket for s in found} >= set(tickets), "a ticket was lost"
    unmarked = Counter(s.ticket for s in found if not s.reprint)
    twice = {t: n for t, n in unmarked.items() if n > 1}
    assert not twice, f"printed twice without 补打: {twice}"
    for ticket in tickets:
        copies = [s for s in found if s.ticket == ticket]
        assert copies, ticket


def kiosk_ticket(server: Server, token: str, service: str = "id-card") -> dict[str, Any]:
    """A ticket taken at kiosk k1 with the kiosk's own credential."""
    r = server.post("/api/v1/halls/town/tickets", {"service": service, "kiosk": "k1"}, token)
    assert r.status_code == 201, r.text
    return dict(r.json())


class Agent:
    """`hallq kiosk-agent` as a real process."""

    def __init__(self, server: Server, token: str, printer: str, log: Path) -> None:
        self.args = ["kiosk-agent", "--server", server.url, "--token", token, "--printer", printer, "--poll", "0.3"]
        self.log_path = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Agent:
        env = clean_env()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", *self.args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        return self

    def kill(self) -> None:
        """kill -9: no goodbye, no acknowledgement of what it was printing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll `check()` until it returns something truthy; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.2)


def kiosk_state(server: Server) -> str:
    return str(server.get("/api/v1/halls/town/kiosks").json()[0]["printer"]["state"])
