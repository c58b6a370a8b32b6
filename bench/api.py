"""The live server: HTTP latency under a few clients, and the Socket.IO fan-out of a call to 100 displays.

Starts `python -m server.cli serve` on 127.0.0.1 with the integration tests' hall (tests/data/test_hall.toml,
numbers widened to 4 digits so a 10-second load does not hit the 999-a-day cap) on a SQLite file, then:

1. fan-out: 100 `/display` clients (python-socketio, websocket transport, ?hall=town); ~50 times a ticket is
   issued and counter w1 calls it; the time from sending call-next to each client's `call` event is recorded;
2. HTTP: 3 threads POST tickets and 1 thread GETs the service list for ~10 s;
3. the server's RSS (VmRSS) idle, with 100 displays connected, and after the load.

    python -m bench.api [--seconds 10] [--clients 100] [--calls 50]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import socketio

from .common import ROOT, percentile, table

HALL_TOML = ROOT / "tests" / "data" / "test_hall.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int) -> Path:
    """The test hall plus a [server] table for this run."""
    body = HALL_TOML.read_text(encoding="utf-8")
    body = body.replace("max_priority_streak = 2\n", "max_priority_streak = 2\nnumber_width = 4\n", 1)
    server = (
        "[server]\n"
        f'data_dir = "{folder}"\n'
        f'database = "sqlite:///{folder}/hallq.db"\n'
        f'public_url = "http://127.0.0.1:{port}"\n'
        f"port = {port}\n"
        'log_level = "WARNING"\n'
    )
    path = folder / "hall.toml"
    path.write_text(server + body, encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}


class Server:
    """One `hallq serve` subprocess."""

    def __init__(self, config: Path, port: int) -> None:
        self.config, self.port = config, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(config.parent / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(config)],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
            try:
                # a busy machine may answer slowly: the deadline bounds the wait, not one request
                if requests.get(self.url + "/api/v1/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.tail()}")

    def tail(self) -> str:
        return (self.config.parent / "server.log").read_text(errors="replace")[-2000:]

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def counter_token(self, counter: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "token", "create", "--counter", counter, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=_env(),
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- fan-out ---------------------------------------------------------------------------------------


class Displays:
    """N display clients recording when each `call` arrives, by ticket id."""

    def __init__(self, url: str, n: int, hall: str = "town") -> None:
        self.hall = hall
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.waiting = 0  # `waiting` events received by all the clients (hallq sends one per display per change)
        self.cond = threading.Condition()
        self.clients: list[socketio.Client] = []
        with ThreadPoolExecutor(max_workers=10) as pool:
            self.clients = list(pool.map(lambda _: self._connect(url), range(n)))

    def _connect(self, url: str) -> socketio.Client:
        client = socketio.Client(reconnection=False)

        def on_call(data: Any) -> None:
            at = time.perf_counter()
            with self.cond:
                self.arrivals[data["ticket"]].append(at)
                self.cond.notify_all()

        def on_waiting(data: Any) -> None:
            with self.cond:
                self.waiting += 1
                self.cond.notify_all()

        client.on("call", on_call, namespace="/display")
        client.on("waiting", on_waiting, namespace="/display")
        client.connect(f"{url}?hall={self.hall}", namespaces=["/display"], transports=["websocket"], wait_timeout=20)
        return client

    def wait(self, ticket: str, n: int, timeout: float = 10) -> list[float]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.arrivals[ticket]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.arrivals[ticket])

    def wait_waiting(self, at_least: int, timeout: float = 5) -> int:
        """Wait until `at_least` `waiting` events have arrived in all (or the timeout); how many have."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.waiting < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.waiting

    def close(self) -> None:
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda c: c.disconnect(), self.clients))


@dataclass
class FanOut:
    clients: int
    calls: int
    delivered: int
    expected: int
    latencies: list[float] = field(default_factory=list)
    call_http: list[float] = field(default_factory=list)
    connect_s: float = 0.0
    cpu_per_call_ms: float = 0.0


def fan_out(server: Server, token: str, n_clients: int, n_calls: int) -> tuple[FanOut, float]:
    t = time.perf_counter()
    displays = Displays(server.url, n_clients)
    result = FanOut(n_clients, n_calls, 0, n_clients * n_calls, connect_s=time.perf_counter() - t)
    rss_connected = server.rss_mb()
    http = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    http.post(f"{server.url}/api/v1/counters/w1/open", headers=auth, timeout=10).raise_for_status()
    cpu0 = server.cpu_s()
    try:
        for _ in range(n_calls):
            r = http.post(f"{server.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=10)
            r.raise_for_status()
            time.sleep(0.15)  # let the `waiting` update reach the displays first
            t0 = time.perf_counter()
            r = http.post(f"{server.url}/api/v1/counters/w1/call-next", headers=auth, timeout=10)
            result.call_http.append(time.perf_counter() - t0)
            r.raise_for_status()
            ticket = r.json()["ticket"]["id"]
            got = displays.wait(ticket, n_clients)
            result.delivered += len(got)
            result.latencies += [x - t0 for x in got]
            body = {"outcome": "completed"}
            http.post(f"{server.url}/api/v1/counters/w1/finish", json=body, headers=auth, timeout=10).raise_for_status()
        result.cpu_per_call_ms = (server.cpu_s() - cpu0) / n_calls * 1000  # issue + call + finish, all fan-outs
    finally:
        displays.close()
        http.close()
    return result, rss_connected


# -- HTTP load -------------------------------------------------------------------------------------


@dataclass
class Load:
    seconds: float
    posts: list[float] = field(default_factory=list)
    priority_posts: list[float] = field(default_factory=list)  # also in posts
    gets: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    waiting_at_end: int = 0
    cpu_s: float = 0.0


def http_load(server: Server, seconds: float, posters: int = 3, getters: int = 1) -> Load:
    load = Load(seconds)
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def poster(k: int) -> None:
        s = requests.Session()
        i = 0
        while time.perf_counter() < stop:
            body = {"service": ("id-card", "social")[(i + k) % 2], "priority": i % 12 == 0}
            a = time.perf_counter()
            r = s.post(f"{server.url}/api/v1/halls/town/tickets", json=body, timeout=30)
            took = time.perf_counter() - a
            with lock:
                if r.status_code == 201:
                    load.posts.append(took)
                    if body["priority"]:
                        load.priority_posts.append(took)
                else:
                    load.errors[f"POST {r.status_code}"] = load.errors.get(f"POST {r.status_code}", 0) + 1
            i += 1
        s.close()

    def getter() -> None:
        s = requests.Session()
        while time.perf_counter() < stop:
            a = time.perf_counter()
            r = s.get(f"{server.url}/api/v1/halls/town/services", timeout=30)
            took = time.perf_counter() - a
            with lock:
                if r.status_code == 200:
                    load.gets.append(took)
                else:
                    load.errors[f"GET {r.status_code}"] = load.errors.get(f"GET {r.status_code}", 0) + 1
        s.close()

    cpu0 = server.cpu_s()
    threads = [threading.Thread(target=poster, args=(k,)) for k in range(posters)]
    threads += [threading.Thread(target=getter) for _ in range(getters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load.cpu_s = server.cpu_s() - cpu0
    services = requests.get(f"{server.url}/api/v1/halls/town/services", timeout=10).json()
    load.waiting_at_end = sum(s["waiting"] for s in services)
    return load


# -- the scenario ---------------------------------------------------------------------------------


@dataclass
class Report:
    fan: FanOut
    load: Load
    rss_idle: float
    rss_connected: float
    rss_after: float
    seconds: float


def run(seconds: float = 10, clients: int = 100, calls: int = 50) -> Report:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as tmp:
        port = free_port()
        server = Server(write_config(Path(tmp), port), port)
        try:
            server.wait_ready()
            token = server.counter_token("w1")
            requests.get(f"{server.url}/api/v1/halls/town/services", timeout=10).raise_for_status()
            time.sleep(1)
            rss_idle = server.rss_mb()
            fan, rss_connected = fan_out(server, token, clients, calls)
            load = http_load(server, seconds)
            time.sleep(0.5)
            rss_after = server.rss_mb()
        finally:
            server.stop()
    return Report(fan, load, rss_idle, rss_connected, rss_after, time.perf_counter() - started)


def print_report(r: Report) -> None:
    ms = 1000
    f, load = r.fan, r.load
    print("== api: a real server on 127.0.0.1 (SQLite) ==")
    rows: list[list[object]] = [
        [
            "POST /halls/town/tickets",
            "3 threads",
            len(load.posts),
            len(load.posts) / load.seconds,
            percentile(load.posts, 50) * ms,
            percentile(load.posts, 99) * ms,
        ],
        [
            "  of which priority tickets",
            "(every 12th)",
            len(load.priority_posts),
            float("nan"),
            percentile(load.priority_posts, 50) * ms,
            percentile(load.priority_posts, 99) * ms,
        ],
        [
            "GET /halls/town/services",
            "1 thread, same time",
            len(load.gets),
            len(load.gets) / load.seconds,
            percentile(load.gets, 50) * ms,
            percentile(load.gets, 99) * ms,
        ],
        [
            "POST call-next (HTTP answer)",
            f"{f.clients} displays on",
            len(f.call_http),
            float("nan"),
            percentile(f.call_http, 50) * ms,
            percentile(f.call_http, 99) * ms,
        ],
        [
            "call -> `call` on each display",
            f"{f.clients} clients x {f.calls}",
            f.delivered,
            float("nan"),
            percentile(f.latencies, 50) * ms,
            percentile(f.latencies, 99) * ms,
        ],
    ]
    print(table(["what", "load", "n", "req/s", "p50 ms", "p99 ms"], rows))
    print(
        f"  delivered {f.delivered}/{f.expected} call events; max {max(f.latencies, default=0) * ms:.0f} ms;"
        f" {f.clients} displays connected in {f.connect_s:.1f} s;"
        f" server CPU per issue+call+finish with {f.clients} displays: {f.cpu_per_call_ms:.0f} ms"
    )
    print(
        f"  HTTP load: {load.seconds:.0f} s, errors {load.errors or 'none'}, {load.waiting_at_end} tickets waiting at"
        f" the end; server CPU {load.cpu_s:.1f} s ({load.cpu_s / load.seconds * 100:.0f}% of one core)"
    )
    print(
        f"  server RSS: idle {r.rss_idle:.0f} MB, {f.clients} displays connected {r.rss_connected:.0f} MB,"
        f" after the load {r.rss_after:.0f} MB  ({r.seconds:.0f} s)"
    )


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of the HTTP load")
    parser.add_argument("--clients", type=int, default=100, help="display clients for the fan-out")
    parser.add_argument("--calls", type=int, default=50, help="calls observed by the displays")
    args = parser.parse_args(argv)
    report = run(args.seconds, args.clients, args.calls)
    print_report(report)
    return report


if __name__ == "__main__":
    main()
