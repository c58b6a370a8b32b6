"""The test harness itself holds on a busy machine: a taken port is not fatal, a failed start leaves nothing running."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from support.server import Server


def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(start_server: Callable[..., Server]) -> None:
    server = start_server(start=False)
    squatter = socket.create_server(("127.0.0.1", server.port))  # another process's server got there first
    try:
        taken = server.port
        server.start()
        assert server.port != taken
        assert server.get("/api/v1/health").json()["status"] == "ok"
        assert f"127.0.0.1:{server.port}" in server.config.read_text(encoding="utf-8")
    finally:
        squatter.close()


def test_a_failed_start_leaves_no_process_behind(start_server: Callable[..., Server]) -> None:
    server = start_server(start=False, edit=lambda text: text.replace('id = "town"', 'id = "Town!"'))
    with pytest.raises(RuntimeError, match=r"(?s)exited with 2: .*hall\[0\]\.id"):
        server.start(timeout=60)
    assert server.proc is not None and server.proc.returncode == 2 and not server.alive


def test_a_server_that_never_answers_is_killed_at_the_deadline(start_server: Callable[..., Server]) -> None:
    server = start_server(start=False)
    squatter = socket.create_server(("127.0.0.1", 0))
    server.port = squatter.getsockname()[1]  # health is asked on a port the server never listens on
    try:
        with pytest.raises(RuntimeError, match="did not answer"):
            server.start(timeout=3)
        assert server.proc is not None and server.proc.returncode is not None, "the process was left running"
    finally:
        squatter.close()


def test_a_session_wide_server_a_test_killed_is_replaced_not_reused(live_servers: Any) -> None:
    broken = live_servers.get("sqlite")
    broken.stop(kill=True)  # what a careless test might do to the session's server
    fresh = live_servers.get("sqlite")
    assert fresh is not broken and fresh.alive and not broken.alive
    assert fresh.get("/api/v1/health").json()["status"] == "ok"
