"""deploy/: the files an IT person installs are checked by the tools that will read them."""

from __future__ import annotations

import configparser
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text
from support.checks import check_database
from support.env import ROOT
from support.server import Server, random_channel, redis_queue
from support.sockets import Listener

DEPLOY = ROOT / "deploy"


def _site_for_test(tmp: Path, port: int, upstreams: tuple[int, int]) -> str:
    """deploy/nginx.conf with the test's ports, a self-signed certificate and files of this run."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("127.0.0.1:5000", f"127.0.0.1:{upstreams[0]}").replace(
        "127.0.0.1:5001", f"127.0.0.1:{upstreams[1]}"
    )
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl").replace(
        "listen 80;", f"listen 127.0.0.1:{port + 1};"
    )
    site = site.replace("/etc/ssl/hallq/fullchain.pem", str(cert)).replace("/etc/ssl/hallq/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp}/").replace("/opt/hallq/server/static/", f"{ROOT}/server/static/")
    directives = "\n".join(line.split("#")[0] for line in site.splitlines())
    assert not re.search(r"/(etc|var|opt)/", directives), directives  # nothing left pointing at the real machine
    return site


def _nginx() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (scripts/bootstrap.sh installs it)"
    return nginx


def _main_config(tmp: Path, port: int, upstreams: tuple[int, int]) -> Path:
    """A whole nginx.conf around the site, with every path of nginx's own in `tmp`."""
    (tmp / "site.conf").write_text(_site_for_test(tmp, port, upstreams), encoding="utf-8")
    temp = " ".join(f"{k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp / "nginx.conf"
    user = "user root;\n" if os.getuid() == 0 else ""  # workers must read this run's files (static, logs)
    main.write_text(
        f"{user}pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n {temp}\n include {tmp}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    return main


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    main = _main_config(tmp_path, 18443, (15000, 15001))
    done = subprocess.run([_nginx(), "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream hallq \{\s*ip_hash;", site), "sticky sessions"
    assert "X-Forwarded-For $remote_addr" in site  # one proxy that overwrites the header: proxy_hops = 1


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    text = (DEPLOY / "hallq@.service").read_text(encoding="utf-8")
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read_string(text)
    assert parsed["Service"]["ExecStart"].endswith("--port %i")
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the keys parsing (above) is what can be checked
        return
    hallq = ROOT / ".venv/bin/hallq"
    unit = tmp_path / "hallq@5000.service"
    unit.write_text(text.replace("/opt/hallq/.venv/bin/hallq", str(hallq)), encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    problems = [line for line in done.stderr.splitlines() if "hallq@5000" in line]
    assert done.returncode == 0 and not problems, done.stderr


def test_the_example_config_is_accepted_by_the_server() -> None:
    from server.config import load_config

    config = load_config(DEPLOY / "hall.example.toml")
    settings = config.settings
    assert settings.database.startswith("postgresql") and settings.message_queue and settings.proxy_hops == 1
    assert settings.async_mode == "eventlet"  # the default, spelled out beside its alternative


class Nginx:
    """The deploy/ site in a real nginx on 127.0.0.1: HTTPS on `port`, the HTTP redirect on `port + 1`.

    Both ports are held bound from the start (not listening) so that no other process of the run is given
    either while the servers behind start; they are let go just before nginx binds them.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        self._held: list[socket.socket] = []
        while not self._held:
            first = socket.socket()
            first.bind(("127.0.0.1", 0))
            second = socket.socket()
            try:
                second.bind(("127.0.0.1", first.getsockname()[1] + 1))
            except OSError:
                first.close()
                second.close()
                continue
            self._held = [first, second]
        self.port = int(self._held[0].getsockname()[1])

    def start(self, upstreams: tuple[int, int]) -> None:
        main = _main_config(self.folder, self.port, upstreams)
        for s in self._held:
            s.close()
        self.procs.append(subprocess.Popen([_nginx(), "-c", str(main), "-p", str(self.folder), "-g", "daemon off;"]))
        deadline = time.monotonic() + 20
        while True:  # nginx's own answer (its Server header), not some other listener's
            try:
                answer = requests.get(f"https://127.0.0.1:{self.port}/nginx-ready", verify=False, timeout=2)
                if answer.headers.get("Server", "").startswith("nginx"):
                    return
            except requests.RequestException:
                pass
            assert self.procs[-1].poll() is None, (self.folder / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.1)

    def stop(self) -> None:
        for s in self._held:
            s.close()
        for p in self.procs:
            p.terminate()
            p.wait(10)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """A real nginx for the deploy/ site, stopped afterwards."""
    folder = tmp_path / "nginx"
    folder.mkdir()
    proxy = Nginx(folder)
    try:
        yield proxy
    finally:
        proxy.stop()


def _behind_nginx(start_server: Callable[..., Server], folder: Path, nginx: Nginx) -> tuple[str, Server, Server]:
    """Two processes on PostgreSQL + Redis (one data folder) behind deploy/nginx.conf: (nginx's URL, A, B).

    They log at INFO, so a request's X-Request-Id in a process's log says which one nginx sent it to.
    """
    url = f"https://127.0.0.1:{nginx.port}"

    def edit(text: str) -> str:  # same-origin sockets: public_url is the balancer's address in every process
        text = text.replace('log_level = "WARNING"', 'log_level = "INFO"')
        return re.sub(r'public_url = ".*"', f'public_url = "{url}"', text)

    extra = redis_queue(random_channel()) + "\nproxy_hops = 1"
    a = start_server("postgres", extra_server=extra, data_dir=folder, edit=edit)
    b = start_server("postgres", extra_server=extra, data_dir=folder, edit=edit, database_url=a.database)
    nginx.start((a.port, b.port))
    return url, a, b


def _served_by(url: str, servers: tuple[Server, ...]) -> Server:
    """The process nginx sends this client (127.0.0.1, ip_hash) to: the one whose log has our request id."""
    rid = "whoami-" + secrets.token_hex(6)
    assert requests.get(f"{url}/api/v1/health", headers={"X-Request-Id": rid}, verify=False, timeout=10).ok
    deadline = time.monotonic() + 10
    while True:
        found = [s for s in servers if f"rid={rid}" in s.log()]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no process logged the request"
        time.sleep(0.05)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the test's self-signed certificate
def test_nginx_in_front_of_two_processes_serves_pages_sockets_and_static_files(
    start_server: Callable[..., Server], tmp_path: Path, nginx: Nginx
) -> None:
    url, a, b = _behind_nginx(start_server, tmp_path, nginx)
    health = requests.get(f"{url}/api/v1/health", verify=False, timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    css = requests.get(f"{url}/static/css/theme.css", verify=False, timeout=10)
    assert css.status_code == 200 and css.headers["Cache-Control"] == "no-cache"
    display = Listener(url, "/display", "hall=town", verify=False)
    try:
        display.wait_for("snapshot")
        ticket = requests.post(
            f"{url}/api/v1/halls/town/tickets", json={"service": "id-card"}, verify=False, timeout=10
        )
        assert ticket.status_code == 201, ticket.text
        b.act("w1", "open")
        a.act("w1", "call-next")  # called directly on each process: the display hears it through nginx
        assert display.wait_for("call", lambda c: c["ticket"] == ticket.json()["id"])["counter_number"] == 1
    finally:
        display.close()


def _ticket_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT id FROM tickets")).scalars())
    finally:
        engine.dispose()


@pytest.mark.async_modes  # the processes behind nginx in eventlet, then in gevent
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_nginx_fails_over_when_a_process_is_killed_mid_traffic(
    start_server: Callable[..., Server], tmp_path: Path, nginx: Nginx
) -> None:
    """kill -9 of the process nginx sends every client to: kiosks keep issuing and the display comes back.

    A POST in flight at the kill may be answered 502 (nginx never resends a POST the process got); every
    ticket answered 201, before or after, is in the database with a number of its own.
    """
    url, a, b = _behind_nginx(start_server, tmp_path, nginx)
    display = Listener(url, "/display", "hall=town", reconnect=True, verify=False)
    victim = _served_by(url, (a, b))
    survivor = b if victim is a else a
    answers: list[tuple[float, int, dict[str, Any]]] = []
    killed_at: list[float] = []
    stop = threading.Event()

    def kiosk() -> None:  # one kiosk tapping as fast as it is answered, through nginx
        body = {"service": "id-card"}
        with requests.Session() as s:
            while not stop.is_set():
                try:
                    r = s.post(f"{url}/api/v1/halls/town/tickets", json=body, verify=False, timeout=20)
                except requests.RequestException:
                    answers.append((time.monotonic(), 0, {}))  # no answer: counted with the failures
                    continue
                answers.append((time.monotonic(), r.status_code, r.json() if r.status_code == 201 else {}))

    kiosks = [threading.Thread(target=kiosk) for _ in range(3)]
    try:
        first = display.wait_for("snapshot")
        for k in kiosks:
            k.start()
        deadline = time.monotonic() + 60
        while sum(code == 201 for _, code, _ in answers) < 15:
            assert time.monotonic() < deadline, f"issuing through nginx stalled: {answers[-3:]}"
            time.sleep(0.02)
        victim.stop(kill=True)  # kill -9, requests in flight
        killed_at.append(time.monotonic())
        while sum(code == 201 and at > killed_at[0] for at, code, _ in answers) < 15:
            assert time.monotonic() < deadline + 60, f"issuing did not go on after the kill: {answers[-3:]}"
            time.sleep(0.02)
    finally:
        stop.set()
        for k in kiosks:
            k.join(30)
    failed = [code for _, code, _ in answers if code != 201]
    assert set(failed) <= {0, 502} and len(failed) <= len(kiosks), failed  # at most the POSTs in flight at the kill
    issued = [body for _, code, body in answers if code == 201]
    assert len({t["number"] for t in issued}) == len(issued), "a number was given twice"
    check_database(survivor.database)
    kept = _ticket_ids(survivor.database)
    assert {t["id"] for t in issued} <= kept, "an acknowledged ticket was lost"
    assert len(kept) <= len(issued) + len(failed)  # a POST in flight may have committed without an answer
    try:
        # The display reconnects by itself through nginx, which now sends it to the survivor: a fresh snapshot,
        # whole at once if the kiosks had stopped by then, else followed by live counts up to the last ticket.
        again = display.wait_for("snapshot", lambda m: m is not first, timeout=30)
        if again["waiting"]["id-card"] != len(kept):
            display.wait_for("waiting", lambda w: w["id-card"] == len(kept), timeout=30)
        admin = survivor.admin_token()
        called = requests.post(f"{url}/api/v1/counters/w1/open", headers={"Authorization": f"Bearer {admin}"},
                               verify=False, timeout=10)  # fmt: skip
        assert called.status_code == 200, called.text
        called = requests.post(f"{url}/api/v1/counters/w1/call-next", headers={"Authorization": f"Bearer {admin}"},
                               verify=False, timeout=10)  # fmt: skip
        assert called.status_code == 200 and called.json()["ticket"]["id"] in kept, called.text
        ticket = called.json()["ticket"]["id"]
        assert display.wait_for("call", lambda c: c["ticket"] == ticket)["counter_number"] == 1
    finally:
        display.close()


def _from_address(url: str, source: str, method: str, path: str, body: bytes | None = None) -> int:
    """One HTTPS request through nginx from a loopback source address of our choosing; its status."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    port = urlsplit(url).port
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0), context=ssl._create_unverified_context()
    )
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the test's self-signed certificate
def test_nginx_limits_one_client_and_takes_anonymous_tickets_only_from_the_hall(
    start_server: Callable[..., Server], tmp_path: Path, nginx: Nginx
) -> None:
    """127.0.0.2 stands for an address outside the hall's network (the site allows 127.0.0.1 and the LAN)."""
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"limit_conn hallq_per_address \d+;", site) and "client_header_timeout" in site
    assert re.search(r"proxy_read_timeout 60s;", site), "a dead websocket is dropped within a minute"
    url, a, b = _behind_nginx(start_server, tmp_path, nginx)
    body = b'{"service": "id-card"}'
    assert _from_address(url, "127.0.0.2", "POST", "/api/v1/halls/town/tickets", body) == 403
    assert _from_address(url, "127.0.0.2", "GET", "/api/v1/halls/town/services") == 200
    assert _from_address(url, "127.0.0.1", "POST", "/api/v1/halls/town/tickets", body) == 201
