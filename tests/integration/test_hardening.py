"""Small things that keep the core honest: the access log, the CSV type, the CLI's errors and import order."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from support.app import AppHall
from support.env import ROOT
from support.server import HALL_TOML, Server, clean_env, free_port, hallq, write_config


@pytest.fixture
def info_server(tmp_path: Path) -> Iterator[Server]:
    """A SQLite server logging at INFO, so its access log can be read."""
    port = free_port()
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", port=port)
    config.write_text(config.read_text(encoding="utf-8").replace('log_level = "WARNING"', 'log_level = "INFO"'))
    server = Server(config, port, f"sqlite:///{tmp_path / 'h.db'}")
    try:
        yield server.start()
    finally:
        server.stop()


def _access_lines(server: Server, needle: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in server.log().splitlines() if "hallq.access" in line and needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_each_request_leaves_one_access_line_without_the_residents_token(info_server: Server) -> None:
    ticket = info_server.issue("id-card")
    token = ticket["track_url"].rsplit("/", 1)[1]
    assert info_server.get(f"/api/v1/track/{token}?x=secret-query").status_code == 200
    page_answer = requests.get(f"{info_server.url}/t/{token}", headers={"X-Request-Id": "req-42"}, timeout=10)
    assert page_answer.status_code == 200
    assert info_server.get("/api/v1/halls/nope/services").status_code == 404
    [page] = _access_lines(info_server, "rid=req-42")
    assert "method=GET path=/t/*** status=200 ms=" in page
    [api] = _access_lines(info_server, "path=/api/v1/track/***")
    assert "status=200" in api and "secret-query" not in api
    assert _access_lines(info_server, "path=/api/v1/halls/nope/services status=404")
    log = info_server.log()
    assert token not in log and token[:12] not in log
    [issued] = _access_lines(info_server, "method=POST path=/api/v1/halls/town/tickets status=201")
    assert "rid=" in issued and "rid=-" not in issued
    # The kiosk shows the ticket's QR as a picture named by its token; a notice code opens the notice.
    requests.get(f"{info_server.url}/kiosk/qr/{token}.svg", timeout=10)
    requests.get(f"{info_server.url}/api/v1/notices/6WW7Q-NBEEW", timeout=10)
    assert _access_lines(info_server, "path=/kiosk/qr/*** status=")
    assert _access_lines(info_server, "path=/api/v1/notices/*** status=404")
    log = info_server.log()
    assert token not in log and token[:12] not in log and "6WW7Q" not in log


def test_the_csv_ledger_names_its_charset_once(hall: Server) -> None:
    r = hall.get("/api/v1/halls/town/ledger?from=2026-01-01&to=2026-01-02&format=csv", hall.admin_token())
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_counter_missing_from_the_database_is_created_in_its_hall(hall: Server) -> None:
    """A counter added to the config after another process seeded the table: its first action creates it."""
    engine = create_engine(hall.database)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM counters WHERE id = 'w3'"))
    finally:
        engine.dispose()
    r = hall.act("w3", "open")
    assert r.status_code == 200 and r.json()["counter"]["state"] == "open"
    states = {c["id"]: c["state"] for c in hall.get("/api/v1/halls/town/counters").json()}
    assert states["w3"] == "open"


def _broken_database_config(tmp_path: Path) -> Path:
    """A config whose database driver does not exist: an unexpected failure deep in the CLI."""
    body = HALL_TOML.read_text(encoding="utf-8")
    config = tmp_path / "hall.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\ndatabase = "mysql+nosuchdriver://x@127.0.0.1/y"\n' + body)
    return config


def test_an_unexpected_cli_failure_is_one_line_with_the_traceback_in_the_error_log(tmp_path: Path) -> None:
    config = _broken_database_config(tmp_path)
    done = hallq("token", "create", "--counter", "w1", "--config", str(config))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("hallq: error: database error: ") and "hallq-errors.log" in line
    logged = (tmp_path / "hallq-errors.log").read_text(encoding="utf-8")
    assert "Traceback" in logged and "NoSuchModuleError" in logged and "hallq token failed" in logged
    debug = hallq("--debug", "token", "create", "--counter", "w1", "--config", str(config))
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "NoSuchModuleError" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("hallq: error: database error: ")
    after = hallq("token", "create", "--counter", "w1", "--config", str(config), "--debug")
    assert "Traceback" in after.stderr


SPY = """
import sys
import eventlet
from gevent import monkey

watched = ("sqlalchemy", "flask", "flask_socketio", "psycopg2", "redis", "engineio", "socketio")


def spy(*args, **kwargs):
    raise SystemExit("imported before monkey_patch: " + repr(sorted(m for m in watched if m in sys.modules)))


eventlet.monkey_patch = spy
monkey.patch_all = spy
from server.cli import main

main(sys.argv[1:])
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
@pytest.mark.parametrize("command", ["serve", "demo"])
def test_the_async_mode_patches_before_sqlalchemy_or_flask_is_imported(command: str, mode: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", port=free_port())
    args = ["serve", "--config", str(config)] if command == "serve" else ["demo", "--data", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", SPY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**clean_env(), "HALLQ_ASYNC_MODE": mode},
    )
    assert done.stderr.strip().splitlines()[-1] == "imported before monkey_patch: []", done.stderr[-2000:]


RESOLVER = """
import sys
from server.cli import _prepare_async
_prepare_async("eventlet")  # as a server starts
import socket, eventlet
from eventlet import patcher
original = patcher.original("socket")
real = original.getaddrinfo
def slow(host, *args, **kwargs):  # the system's resolver, asking a DNS server that takes 1 s to answer
    if host == "printer.hall.example":
        patcher.original("time").sleep(1)
        host = "127.0.0.1"
    return real(host, *args, **kwargs)
original.getaddrinfo = slow
ticks = []
ticker = eventlet.spawn(lambda: [ticks.append(eventlet.sleep(0.05)) for _ in range(100)])
eventlet.sleep(0)
found = socket.getaddrinfo("printer.hall.example", 9100)
looked_up = len(ticks)
assert socket.getaddrinfo("127.0.0.1", 9100) and socket.getaddrinfo("localhost", 9100)
print(found[0][4][0], looked_up >= 10, "dns" in sys.modules)
"""


def test_eventlet_looks_names_up_in_a_thread_without_its_dns_library() -> None:
    """Under eventlet, a slow name lookup (a printer's host name) holds neither the hub nor the requests it
    serves, and dnspython (eventlet's resolver, a third of a second at every start) is never imported."""
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", RESOLVER],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=clean_env(),
    )
    assert done.stdout.split() == ["127.0.0.1", "True", "False"], done.stderr[-2000:]


@pytest.mark.async_modes
def test_a_second_server_on_a_port_in_use_fails_instead_of_sharing_it(tmp_path: Path, async_mode: str) -> None:
    """eventlet's listener sets SO_REUSEPORT unless told not to: a second hall server on the same port then
    took half the requests from its own database, and two residents held the same number."""
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    mode = f'async_mode = "{async_mode}"'
    port = free_port()
    first = Server(write_config(first_dir, f"sqlite:///{first_dir}/hallq.db", port=port, extra_server=mode), port, "")
    first.start()
    try:
        config = write_config(second_dir, f"sqlite:///{second_dir}/hallq.db", port=first.port, extra_server=mode)
        second = subprocess.run(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(config)],
            cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode != 0, "a second server started on a port in use"
        assert "Address already in use" in second.stderr and "Traceback" not in second.stderr + second.stdout
        issued = [requests.post(first.url + "/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=10)
                  for _ in range(6)]  # fmt: skip
        assert [r.json().get("number") for r in issued] == [f"A00{i}" for i in range(1, 7)], issued[0].text
    finally:
        first.stop()


def test_a_half_sent_request_is_cut_off_after_the_idle_timeout(tmp_path: Path) -> None:
    """A client that opens a connection and never finishes its request no longer holds it for ever."""
    import socket

    server = Server(
        write_config(
            tmp_path, f"sqlite:///{tmp_path}/hallq.db", port=(port := free_port()), extra_server="idle_timeout_s = 5"
        ),
        port,
        "",
    ).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")  # no blank line: the request never ends
            began = time.monotonic()
            assert requests.get(server.url + "/api/v1/health", timeout=10).status_code == 200
            assert slow.recv(1024) == b"", "the server closes the connection"
            assert 4 <= time.monotonic() - began < 20
    finally:
        server.stop()


@pytest.mark.async_modes
def test_a_chunked_body_is_read_and_still_bounded(start_server: Callable[..., Server], async_mode: str) -> None:
    """An integrator's HTTP library may stream a body chunked, without Content-Length."""
    server = start_server()

    def chunked(body: bytes) -> Iterator[bytes]:
        for i in range(0, len(body), 7):
            yield body[i : i + 7]

    url = server.url + "/api/v1/halls/town/tickets"
    r = requests.post(
        url, data=chunked(b'{"service": "id-card"}'), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code == 201 and r.json()["number"] == "A001", r.text
    big = b'{"service": "id-card", "x": "' + b"y" * 100_000 + b'"}'
    r = requests.post(url, data=chunked(big), headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "body_too_large", r.text


def test_each_ticket_links_to_the_host_it_was_asked_on_however_many_hosts_ask(
    make_app_hall: Callable[..., AppHall],
) -> None:
    """Without public_url the QR link is the asking host's (kept per host, so each must still be its own)."""
    app_hall = make_app_hall(edit=lambda text: "\n".join(x for x in text.splitlines() if "public_url" not in x))
    for i in range(20):  # more hosts than the server keeps worked out
        for host in (f"hall-{i}.example:8080", "localhost"):
            r = app_hall.post("/api/v1/halls/town/tickets", {"service": "id-card"}, headers={"Host": host})
            assert r.status_code == 201, r.text
            assert r.json()["track_url"].startswith(f"http://{host}/t/"), (host, r.json()["track_url"])
    https = app_hall.post(
        "/api/v1/halls/town/tickets",
        {"service": "id-card"},
        headers={"Host": "localhost"},
        base_url="https://localhost",
    )
    assert https.json()["track_url"].startswith("https://localhost/t/")
