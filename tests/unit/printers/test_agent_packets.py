"""The kiosk agent reads a print job whole whatever the machine's load (printers/agent.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from socketio import packet  # type: ignore[import-untyped]

from printers.agent import NAMESPACE, KioskAgent


def test_a_print_jobs_bytes_never_overtake_their_header(tmp_path: Path) -> None:
    """A binary event is two Engine.IO messages; engineio's client hands each to a thread of its own, and on
    a loaded machine the bytes were read before their header (the job "malformed", printed 30 s late as
    补打). The agent's client takes them in order, on the reading thread: the job is queued at once."""
    agent = KioskAgent("http://127.0.0.1:1", "token", f"file:{tmp_path}")
    body = {"job": "j1", "ticket": "t1", "number": "A001", "reprint": False, "data": b"\x1b@slip\x1dV\x00"}
    queued_on: list[threading.Thread] = []
    put = agent.jobs.put

    def record(item: Any) -> None:
        queued_on.append(threading.current_thread())
        put(item)

    agent.jobs.put = record  # type: ignore[method-assign]
    for _ in range(20):
        header, attachment = packet.Packet(packet.EVENT, data=["print", body], namespace=NAMESPACE).encode()
        assert isinstance(header, str) and attachment == body["data"]  # two messages: a binary event
        agent.client.eio._trigger_event("message", header, run_async=True)
        agent.client.eio._trigger_event("message", attachment, run_async=True)
        assert queued_on == [threading.current_thread()], "the job was read on another thread"
        assert agent.jobs.get_nowait() == body
        queued_on.clear()
        agent.seen.clear()
