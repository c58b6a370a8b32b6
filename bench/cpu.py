"""Server CPU per issued ticket, by process count and queue depth, on PostgreSQL + Redis (issue 25).

For each process count N (1, 2): N `hallq serve` processes on one fresh PostgreSQL schema and one Redis
channel (bench/scale.py's cluster), 8 counters open (so the forecast has work) and `--watchers`
residents' pages (`/track` clients) spread over the processes, each watching a waiting ticket. Then, at
each depth (0, 300, 2,000 tickets waiting; the queue is filled between depths without timing):

- `--n` tickets (200) issued by 8 clients, client k on process k mod N: the servers' CPU from /proc
  (every process summed) over the tickets answered, in ms per ticket;
- then 5 s of quiet: the servers' CPU in that time (background work once the load stopped);
- the servers' RSS at the end, and the `ticket` events the watchers received (they must keep coming).

Prints a table and a JSON line `BENCH_CPU {...}`.

    python -m bench.cpu [--procs 1,2] [--depths 0,300,2000] [--n 200] [--watchers 20] [--quiet-s 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
import socketio

from .common import table
from .hotpath import COUNTERS, SERVICES, TIMEOUT, Proc, hammer
from .scale import cluster


class Watchers:
    """Residents' pages: one /track client per ticket token, counting the `ticket` events they get."""

    def __init__(self) -> None:
        self.clients: list[socketio.Client] = []
        self.events = 0
        self.lock = threading.Lock()

    def add(self, url: str, token: str) -> None:
        client = socketio.Client(reconnection=False)

        def on_ticket(_data: Any) -> None:
            with self.lock:
                self.events += 1

        client.on("ticket", on_ticket, namespace="/track")
        client.connect(f"{url}?token={token}", namespaces=["/track"], transports=["websocket"], wait_timeout=20)
        self.clients.append(client)

    def close(self) -> None:
        for c in self.clients:
            c.disconnect()


def issue_n(procs: list[Proc], n: int, token: str, clients: int = 8) -> Any:
    """Staff issue (the bearer token): a priority ticket needs a kiosk's or staff's credential."""
    auth = {"Authorization": f"Bearer {token}"}

    def step(http: requests.Session, k: int, i: int) -> int:
        body = {"service": SERVICES[i % 2], "priority": i % 12 == 11}
        url = f"{procs[k % len(procs)].url}/api/v1/halls/town/tickets"
        r = http.post(url, json=body, headers=auth, timeout=TIMEOUT)
        r.raise_for_status()
        return 1

    return hammer(procs, "issue", clients, n, step, max_s=300)


def run_n(n_procs: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=f"hallq-cpu-{n_procs}-") as tmp:
        with cluster(Path(tmp), n_procs, "eventlet", 4) as (procs, token, _url):
            auth = {"Authorization": f"Bearer {token}"}
            for c in COUNTERS:
                requests.post(f"{procs[0].url}/api/v1/counters/{c}/open", headers=auth, timeout=TIMEOUT)
            watchers = Watchers()
            try:
                for i in range(args.watchers):
                    proc = procs[i % n_procs]
                    r = requests.post(
                        f"{proc.url}/api/v1/halls/town/tickets", json={"service": SERVICES[i % 2]}, timeout=TIMEOUT
                    )
                    r.raise_for_status()
                    watchers.add(proc.url, r.json()["track_url"].rsplit("/", 1)[1])
                issue_n(procs, 8 * n_procs, token)  # warm-up
                waiting = args.watchers + 8 * n_procs
                for depth in [int(d) for d in args.depths.split(",")]:
                    if depth > waiting:
                        issue_n(procs, depth - waiting, token)
                        waiting = depth
                    time.sleep(args.quiet_s)  # the fill's background work ends before the timed run
                    events0 = watchers.events
                    run = issue_n(procs, args.n, token)
                    waiting += run.n
                    cpu0 = sum(p.cpu_s() for p in procs)
                    time.sleep(args.quiet_s)
                    quiet_ms = (sum(p.cpu_s() for p in procs) - cpu0) * 1000
                    out.append(
                        {
                            "procs": n_procs,
                            "depth": depth,
                            "tickets": run.n,
                            "per_s": round(run.per_s, 1),
                            "cpu_ms_per_ticket": round(run.cpu_ms, 2),
                            "quiet_cpu_ms": round(quiet_ms),
                            "rss_mb": [round(p.rss_mb(), 1) for p in procs],
                            "track_events": watchers.events - events0,
                            "errors": dict(run.errors),
                        }
                    )
                    print(json.dumps(out[-1]), flush=True)
            finally:
                watchers.close()
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2")
    parser.add_argument("--depths", default="0,300,2000")
    parser.add_argument("--n", type=int, default=200, help="tickets issued (timed) at each depth")
    parser.add_argument("--watchers", type=int, default=20, help="/track clients, spread over the processes")
    parser.add_argument("--quiet-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    results: list[dict[str, Any]] = []
    for n in [int(x) for x in args.procs.split(",") if x]:
        results += run_n(n, args)
    rows = [
        [
            r["procs"],
            r["depth"],
            f"{r['cpu_ms_per_ticket']:.1f} ms",
            f"{r['per_s']:.0f}/s",
            f"{r['quiet_cpu_ms']} ms",
            "/".join(f"{x:.0f}" for x in r["rss_mb"]),
            r["track_events"],
        ]
        for r in results
    ]
    headers = ["procs", "waiting", "server CPU/ticket", "tickets/s", "CPU in 5 s after", "RSS MB", "track events"]
    print(table(headers, rows))
    print(f"  load average before {load}, after {os.getloadavg()}")
    print("BENCH_CPU " + json.dumps(results))
    return results


if __name__ == "__main__":
    main()
