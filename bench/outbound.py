"""Outbound events (issue 21): 10,000 events through the outbox to a local receiver, and what the outbox
adds to an issue and a call-next.

Starts, on 127.0.0.1 only, two hallq servers on two fresh databases of the same kind, the same hall, in the
same run: one without receivers (today) and one whose hall has a `[[hall.webhook]]` taking every event, to a
receiver in this process that checks each signature and notes when each event arrives. Then:

- cost: issue (1 client) and call-next + finish (1 counter) on both, alternating in rounds, reported as the
  ratio of the webhook server's mean latency to the other's;
- throughput and lag: N tickets issued (4 clients) on the webhook server, N `ticket.issued` events (plus the
  events of the cost rounds): events delivered per second from the first issue to the last arrival, and the
  delivery lag of each event (its arrival minus the moment the issue's answer came back) at p50 and p99.

    python -m bench outbound [--db sqlite] [--events 10000] [--rounds 3] [--n 200]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from .common import database_url, percentile, table
from .hotpath import COUNTERS, HALL, TIMEOUT, Proc, admin_token, free_port, hammer, open_counters, write_config

SECRET = "bench-secret-0123456789"


class Receiver:
    """Notes each event's arrival (time.time()) by ticket id; counts bad signatures and duplicates."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.events: Counter[str] = Counter()
        self.bad = 0
        self.duplicates = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                ts = self.headers.get("X-Hallq-Timestamp", "")
                mac = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                event = json.loads(body)
                with owner.lock:
                    if not hmac.compare_digest("sha256=" + mac, self.headers.get("X-Hallq-Signature", "")):
                        owner.bad += 1
                    owner.events[event["event"]] += 1
                    if event["event"] == "ticket.issued":
                        tid = event["data"]["ticket"]
                        if tid in owner.arrived:
                            owner.duplicates += 1
                        else:
                            owner.arrived[tid] = now
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hallq"

    def close(self) -> None:
        self.server.shutdown()


def with_webhook(url: str) -> str:
    return HALL.replace(
        "max_priority_streak = 2\n",
        f'max_priority_streak = 2\n\n[[hall.webhook]]\nurl = "{url}"\nsecret = "{SECRET}"\n',
        1,
    )


def timed_issues(server: Proc, clients: int, n: int, done_at: dict[str, float]) -> Any:
    lock = threading.Lock()

    def step(http: requests.Session, k: int, i: int) -> int:
        r = http.post(f"{server.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=TIMEOUT)
        if r.status_code != 201:
            return 0
        with lock:
            done_at[r.json()["id"]] = time.time()
        return 1

    return hammer(server, "issue", clients, n, step, max_s=900)


def cost_round(server: Proc, token: str, n: int) -> tuple[list[float], list[float]]:
    """n issues, then n call-next (each followed by finish, not timed), one client: latencies in seconds."""
    auth = {"Authorization": f"Bearer {token}"}
    issue, call = [], []
    with requests.Session() as http:
        for _ in range(n):
            a = time.perf_counter()
            http.post(f"{server.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=TIMEOUT)
            issue.append(time.perf_counter() - a)
        base = f"{server.url}/api/v1/counters/{COUNTERS[0]}"
        for _ in range(n):
            a = time.perf_counter()
            r = http.post(base + "/call-next", headers=auth, timeout=TIMEOUT)
            call.append(time.perf_counter() - a)
            if r.json().get("ticket") is None:
                break
            http.post(base + "/finish", json={"outcome": "completed"}, headers=auth, timeout=TIMEOUT)
    return issue, call


def run(kind: str, events: int, rounds: int, n: int) -> dict[str, Any]:
    receiver = Receiver()
    out: dict[str, Any] = {"db": kind}
    try:
        with tempfile.TemporaryDirectory(prefix="hallq-outbound-") as tmp:
            folder = Path(tmp)
            (folder / "b").mkdir()
            with database_url(kind, folder) as url_a, database_url(kind, folder / "b") as url_b:
                pa, pb = free_port(), free_port()
                ca = write_config(folder, "plain", pa, url_a, HALL)
                cb = write_config(folder, "hooked", pb, url_b, with_webhook(receiver.url))
                ta, tb = admin_token(ca), admin_token(cb)
                plain = Proc(["server.cli", "serve", "--config", str(ca)], pa, folder / "plain.log", "/api/v1/health")
                hooked = Proc(["server.cli", "serve", "--config", str(cb)], pb, folder / "hooked.log", "/api/v1/health")
                try:
                    open_counters(plain, ta, COUNTERS[:1])
                    open_counters(hooked, tb, COUNTERS[:1])
                    lat: dict[str, list[float]] = {"issue plain": [], "issue hooked": [], "call plain": [],
                                                   "call hooked": []}  # fmt: skip
                    for _ in range(rounds):  # alternating, so both see the same machine
                        for name, server, token in (("plain", plain, ta), ("hooked", hooked, tb)):
                            i, c = cost_round(server, token, n)
                            lat[f"issue {name}"] += i
                            lat[f"call {name}"] += c
                    out["cost"] = {
                        what: {
                            "mean_ms": round(statistics.mean(v) * 1000, 3),
                            "p50_ms": round(percentile(v, 50) * 1000, 3),
                            "p99_ms": round(percentile(v, 99) * 1000, 3),
                        }
                        for what, v in lat.items()
                    }
                    for what in ("issue", "call"):
                        a, b = out["cost"][f"{what} plain"]["mean_ms"], out["cost"][f"{what} hooked"]["mean_ms"]
                        out[f"{what}_ratio"] = round(b / a, 3)
                    # Throughput and lag: `events` tickets issued by 4 clients, each one ticket.issued event.
                    done_at: dict[str, float] = {}
                    started = time.time()
                    issued = timed_issues(hooked, 4, events, done_at)
                    deadline = time.monotonic() + 600
                    while time.monotonic() < deadline:
                        with receiver.lock:
                            if all(t in receiver.arrived for t in done_at):
                                break
                        time.sleep(0.05)
                    with receiver.lock:
                        lags = [receiver.arrived[t] - done_at[t] for t in done_at if t in receiver.arrived]
                        last = max(receiver.arrived[t] for t in done_at if t in receiver.arrived)
                        out.update(
                            events=len(done_at),
                            delivered=len(lags),
                            issue_per_s=round(issued.per_s, 1),
                            delivered_per_s=round(len(lags) / (last - started), 1),
                            lag_p50_ms=round(percentile(lags, 50) * 1000, 1),
                            lag_p99_ms=round(percentile(lags, 99) * 1000, 1),
                            bad_signatures=receiver.bad,
                            duplicates=receiver.duplicates,
                            by_event=dict(receiver.events),
                        )
                finally:
                    plain.stop()
                    hooked.stop()
    finally:
        receiver.close()
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench outbound", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres or both: sqlite,postgres")
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=200, help="issues and call-nexts per cost round")
    args = parser.parse_args(argv)
    results = [run(kind, args.events, args.rounds, args.n) for kind in args.db.split(",")]
    rows = []
    for r in results:
        rows += [
            [r["db"], "events delivered / issued", f"{r['delivered']} / {r['events']}"],
            [r["db"], "issue/s with the webhook (4 clients)", r["issue_per_s"]],
            [r["db"], "events delivered/s (first issue to last arrival)", r["delivered_per_s"]],
            [r["db"], "delivery lag p50 / p99 (ms)", f"{r['lag_p50_ms']} / {r['lag_p99_ms']}"],
            [r["db"], "bad signatures, duplicates", f"{r['bad_signatures']}, {r['duplicates']}"],
            [r["db"], "issue mean ms: without / with outbox (ratio)",
             f"{r['cost']['issue plain']['mean_ms']} / {r['cost']['issue hooked']['mean_ms']} ({r['issue_ratio']})"],
            [r["db"], "call-next mean ms: without / with outbox (ratio)",
             f"{r['cost']['call plain']['mean_ms']} / {r['cost']['call hooked']['mean_ms']} ({r['call_ratio']})"],
        ]  # fmt: skip
    print(table(["db", "figure", "value"], rows))
    print(json.dumps(results, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
