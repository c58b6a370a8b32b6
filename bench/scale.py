"""Scale-out: 1, 2 and 4 hallq processes on one PostgreSQL database and one Redis (issue 14's goals).

For each process count N, on 127.0.0.1 only: N `hallq serve` processes (one data folder, one Redis
channel of this run, as deploy/ runs them; no balancer, the clients are spread over the processes):

- issue: `--clients` clients (8), client k on process k mod N, issue `--n` tickets (1,000): the queue
  grows to n. Tickets/s, p50/p99 per request;
- race: `--counters` counters (8) drain that queue with call-next + finish, counter k's call-next on
  process k mod N and its finish on the next process: cycles/s;
- the checks, from the database afterwards: numbers given twice in a day (duplicates), tickets called
  twice (two `called` ledger lines, or two counters answered the same ticket), tickets lost (called but
  not done, or done but never answered);
- call to screen through Redis: `--displays` display clients (50) on process B, call-next made on
  process A (A = B when N = 1), `--calls` calls (30) at 5/s: call sent -> `call` event on each display,
  p50/p99. Beside it, the bare Flask-SocketIO broadcast through Redis: two floors (bench/floor.py) on one
  channel, the emit on one, the displays on the other, measured right before each hallq run.

Prints a table and a JSON line `BENCH_SCALE {...}`. Every loop is bounded in count and in time (a
throughput run stops after `--max-s`). `--quick` runs small sizes with 1 and 2 processes (about a minute).

    python -m bench scale [--procs 1,2,4] [--n 1000] [--clients 8] [--counters 8] [--displays 50]
                          [--calls 30] [--async-mode eventlet|gevent] [--pool 4] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from .api import Displays, free_port
from .common import pg_schema, table
from .hotpath import (
    COUNTERS,
    HALL,
    SERVICES,
    TIMEOUT,
    Proc,
    Run,
    Screen,
    admin_token,
    check_claims,
    hammer,
    in_turns,
    one_call,
    reset,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def write_config(folder: Path, name: str, port: int, url: str, channel: str, mode: str, pool: int) -> Path:
    """One process's config: the shared database, data folder and Redis channel; its own port."""
    body = (
        "[server]\n"
        f'data_dir = "{folder / "data"}"\n'
        f'database = "{url}"\n'
        f'message_queue = "{REDIS_URL}"\n'
        f'message_channel = "{channel}"\n'
        f'async_mode = "{mode}"\n'
        f"port = {port}\n"
        f"db_pool_size = {pool}\n"
        "max_connections_per_address = 0\n"  # every client of the run comes from 127.0.0.1
        'log_level = "WARNING"\n'
        "[server.limits]\n"
        "tickets_per_minute = 100000000\n"
        "ratings_per_minute = 100000000\n"
        "anonymous_tickets_per_day = 100000000\n" + HALL
    )
    path = folder / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


@contextmanager
def cluster(folder: Path, n: int, mode: str, pool: int) -> Iterator[tuple[list[Proc], str, str]]:
    """n hallq processes on a fresh PostgreSQL schema and a Redis channel of their own; stopped after."""
    channel = "hallq-bench-" + secrets.token_hex(6)
    with pg_schema("scale") as url, ExitStack() as stack:
        procs: list[Proc] = []
        token = ""
        for i in range(n):
            port = free_port()
            config = write_config(folder, f"hallq{i}", port, url, channel, mode, pool)
            if i == 0:
                token = admin_token(config)  # migrates the schema before any process starts
            args = ["server.cli", "serve", "--config", str(config)]
            proc = Proc(args, port, folder / f"hallq{i}.log", "/api/v1/health")
            stack.callback(proc.stop)
            procs.append(proc)
        yield procs, token, url


@contextmanager
def floor_cluster(folder: Path, n: int, mode: str, pool: int = 2) -> Iterator[list[Proc]]:
    """n floors (bench/floor.py) on one PostgreSQL schema and one Redis channel of their own; stopped after."""
    channel = "hallq-bench-floor-" + secrets.token_hex(6)
    folder.mkdir(parents=True, exist_ok=True)
    with pg_schema("floor") as url, ExitStack() as stack:
        out = []
        for i in range(n):
            port = free_port()
            config = write_config(folder, f"floor{i}", port, url, channel, mode, pool)
            args = ["bench.floor", "--config", str(config), "--port", str(port)]
            proc = Proc(args, port, folder / f"floor{i}.log", "/floor/health")
            stack.callback(proc.stop)
            out.append(proc)
        yield out


@contextmanager
def floors(folder: Path, mode: str) -> Iterator[tuple[Proc, Proc]]:
    """Two floors on one Redis channel of their own (the bare broadcast through Redis); stopped after."""
    with floor_cluster(folder, 2, mode) as out:
        yield out[0], out[1]


def floor_inserts(procs: list[Proc], clients: int, n: int, max_s: float) -> Run:
    """The floor's one-row insert from `clients` clients, client k on process k mod N (as `issue` spreads them):
    what the same stack costs per request with N processes on these cores."""

    def step(http: requests.Session, k: int, i: int) -> int:
        http.post(procs[k % len(procs)].url + "/floor/rows", timeout=TIMEOUT).raise_for_status()
        return 1

    return hammer(procs, "floor insert", clients, n, step, max_s)


# -- the three phases ----------------------------------------------------------------------------------


def issue(procs: list[Proc], clients: int, n: int, max_s: float, numbers: list[str], token: str) -> Run:
    """Staff issue (the bearer token): a priority ticket needs a kiosk's or staff's credential."""
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    auth = {"Authorization": f"Bearer {token}"}

    def step(http: requests.Session, k: int, i: int) -> int:
        body = {"service": SERVICES[i % 2], "priority": i % 12 == 11}
        url = f"{procs[k % len(procs)].url}/api/v1/halls/town/tickets"
        r = http.post(url, json=body, headers=auth, timeout=TIMEOUT)
        if r.status_code != 201:  # never expected (the limits are out of reach): counted, not timed
            with lock:
                errors[f"issue {r.status_code}"] += 1
            raise requests.HTTPError(r.text[:200])
        with lock:
            numbers.append(r.json()["number"])
        return 1

    run = hammer(procs, "issue", clients, n, step, max_s)
    run.errors.update(errors)
    return run


def race(procs: list[Proc], token: str, counters: int, max_s: float, called: list[str]) -> Run:
    """Counter k calls on process k mod N and finishes on the next one, until its call-next finds nobody."""
    auth = {"Authorization": f"Bearer {token}"}
    lock = threading.Lock()
    for c in COUNTERS[:counters]:
        requests.post(f"{procs[0].url}/api/v1/counters/{c}/open", headers=auth, timeout=TIMEOUT).raise_for_status()

    def step(http: requests.Session, k: int, i: int) -> int:
        path = f"/api/v1/counters/{COUNTERS[k]}"
        r = http.post(procs[k % len(procs)].url + path + "/call-next", headers=auth, timeout=TIMEOUT)
        r.raise_for_status()
        ticket = r.json()["ticket"]
        if ticket is None:
            return 0
        with lock:
            called.append(ticket["id"])
        done = procs[(k + 1) % len(procs)].url + path + "/finish"
        http.post(done, json={"outcome": "completed"}, headers=auth, timeout=TIMEOUT).raise_for_status()
        return 2

    return hammer(procs, "call-next+finish", counters, 10**9, step, max_s)


def duplicates(url: str) -> int:
    """Numbers given to more than one ticket of a hall on one day."""
    engine = create_engine(url)
    with engine.connect() as conn:
        extra = conn.execute(
            text(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM tickets"
                " GROUP BY hall_id, day, number HAVING count(*) > 1) AS d"
            )
        ).scalar_one()
    engine.dispose()
    return int(extra)


def screens(a: Proc, b: Proc, fa: Proc, fb: Proc, token: str, n_displays: int, calls: int) -> tuple[Screen, Screen]:
    """Calls made on A (hallq) / emitted on floor A, heard by displays on B / floor B, through Redis."""
    auth = {"Authorization": f"Bearer {token}"}
    http = requests.Session()

    def fire_floor(i: int) -> str:
        ticket = f"floor-{secrets.token_hex(4)}-{i}"
        http.post(fa.url + "/floor/emit", json={"ticket": ticket}, timeout=TIMEOUT).raise_for_status()
        return ticket

    def fire_hallq(i: int) -> str:
        r = http.post(f"{a.url}/api/v1/counters/w1/call-next", headers=auth, timeout=TIMEOUT)
        r.raise_for_status()
        return str(r.json()["ticket"]["id"])

    def finish(i: int) -> None:
        if i:
            done = {"outcome": "completed"}
            http.post(f"{a.url}/api/v1/counters/w1/finish", json=done, headers=auth, timeout=TIMEOUT)

    theirs = mine = None
    try:
        for _ in range(calls):  # the tickets to call, issued before: only the calls are timed
            http.post(f"{a.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=TIMEOUT)
        http.post(f"{a.url}/api/v1/counters/w1/open", headers=auth, timeout=TIMEOUT)  # open since the race
        # both sets of displays at once, the calls in turns (bench/hotpath.py: a drifting machine slows both)
        theirs, mine = Displays(fb.url, n_displays), Displays(b.url, n_displays)
        bare, ours = Screen(n_displays, calls), Screen(n_displays, calls)
        in_turns(
            calls,
            partial(one_call, bare, fa, theirs, fire=fire_floor),
            partial(one_call, ours, a, mine, fire=fire_hallq, before=finish),
        )
        finish(1)
    finally:
        for shown in (theirs, mine):
            if shown is not None:
                shown.close()
        http.close()
    return ours, bare


def run_n(n_procs: int, args: argparse.Namespace, floor: tuple[Proc, Proc]) -> dict[str, Any]:
    out: dict[str, Any] = {"procs": n_procs, "mode": args.async_mode}
    with tempfile.TemporaryDirectory(prefix=f"hallq-scale-{n_procs}-") as tmp:
        with cluster(Path(tmp), n_procs, args.async_mode, args.pool) as (procs, token, url):
            numbers: list[str] = []
            issue(procs, args.clients, 8 * n_procs, 60, [], token)  # warm-up: every process has served an issue
            reset(url)
            run = issue(procs, args.clients, args.n, args.max_s, numbers, token)
            out["issue"] = run.summary()
            called: list[str] = []
            run = race(procs, token, args.counters, args.max_s, called)
            out["race"] = run.summary()
            check = check_claims(url, called)
            check["duplicate_numbers"] = duplicates(url)
            check["answered_numbers_twice"] = len(numbers) - len(set(numbers))
            check["issued"] = len(numbers)
            out["check"] = check
            a, b = procs[0], procs[1 % n_procs]
            with floor_cluster(Path(tmp) / "floors", n_procs, args.async_mode, args.pool) as bare_procs:
                floor_inserts(bare_procs, args.clients, 8 * n_procs, 60)  # warm-up, as for hallq
                out["floor_rows"] = floor_inserts(bare_procs, args.clients, args.n, args.max_s).summary()
            try:
                ours, bare = screens(a, b, floor[0], floor[1], token, args.displays, args.calls)
                out["screen"] = {"hallq": ours.summary(), "floor": bare.summary()}
            except Exception as e:  # noqa: BLE001 - a shared machine may refuse the clients: say so, go on
                out["failed"] = f"screens: {type(e).__name__}: {e}"
    return out


def rows_of(r: dict[str, Any]) -> list[list[object]]:
    n = r["procs"]
    i, c, k = r["issue"], r["race"], r["check"]
    rows: list[list[object]] = [
        [n, f"issue, {i['clients']} clients over {n} process(es)",
         f"{i['per_s']:.0f} tickets/s, p50 {i['p50_ms']:.0f} p99 {i['p99_ms']:.0f} ms,"
         f" server CPU {i['cpu_ms_per_request']:.2f} ms/ticket" + (f", errors {i['errors']}" if i["errors"] else "")],
        [n, f"call-next+finish, {c['clients']} counters over {n} process(es)",
         f"{c['per_s'] / 2:.0f} cycles/s ({c['per_s']:.0f} req/s), p99 {c['p99_ms']:.0f} ms,"
         f" server CPU {c['cpu_ms_per_request']:.2f} ms/req" + (f", errors {c['errors']}" if c["errors"] else "")],
        [n, "duplicates / double calls",
         f"{k['duplicate_numbers'] + k['answered_numbers_twice']} / {k['called_twice']}"
         f" ({k['issued']} issued, {k['called']} called, {k['lost']} lost)"],
    ]  # fmt: skip
    f = r.get("floor_rows")
    if f is not None:
        rows.append([n, f"the floor's insert, {f['clients']} clients over {n} process(es)",
                     f"{f['per_s']:.0f} inserts/s, server CPU {f['cpu_ms_per_request']:.2f} ms/insert"])  # fmt: skip
    s = r.get("screen")
    if s is not None:
        ours, bare = s["hallq"], s["floor"]
        ratio = ours["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else float("nan")
        rows.append(
            [
                n,
                f"call to screen via Redis, {ours['displays']} displays on B",
                f"p50 {ours['p50_ms']:.0f} p99 {ours['p99_ms']:.0f} ms ({ours['delivered']}/{ours['expected']});"
                f" bare p50 {bare['p50_ms']:.0f} p99 {bare['p99_ms']:.0f} ms; p99 ratio {ratio:.2f}",
            ]
        )
    if "failed" in r:
        rows.append([n, "FAILED", r["failed"][:120]])
    return rows


def cpu_growth(runs: list[dict[str, Any]]) -> list[list[object]]:
    """Each process count's server CPU per request over one process's, for hallq and the floor side by side:
    how much of the growth is the stack's own on these cores (the goal: hallq within 1.3x)."""
    one = next((r for r in runs if r["procs"] == 1), None)
    if one is None:
        return []

    def ratio(r: dict[str, Any], part: str) -> str:
        base = one.get(part, {}).get("cpu_ms_per_request")
        mine = r.get(part, {}).get("cpu_ms_per_request")
        return f"{mine / base:.2f}x" if base and mine else "-"

    return [[r["procs"], "", ratio(r, "issue"), ratio(r, "race"), ratio(r, "floor_rows")] for r in runs]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default=None, help="process counts to measure (default 1,2,4; --quick: 1,2)")
    parser.add_argument("--n", type=int, default=1000, help="tickets issued (then drained) per process count")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--counters", type=int, default=8, choices=range(1, len(COUNTERS) + 1))
    parser.add_argument("--displays", type=int, default=50)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--async-mode", default="eventlet", choices=("eventlet", "gevent"))
    parser.add_argument("--pool", type=int, default=4, help="db_pool_size of each process")
    parser.add_argument("--max-s", type=float, default=120, help="bound of each throughput run")
    parser.add_argument("--quick", action="store_true", help="1 and 2 processes, small sizes: about a minute")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.displays, args.calls, args.max_s = 200, 10, 8, 30
    args.procs = args.procs or ("1,2" if args.quick else "1,2,4")
    started = time.perf_counter()
    results: dict[str, Any] = {"load": os.getloadavg(), "mode": args.async_mode, "runs": []}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="hallq-scale-floor-") as tmp, floors(Path(tmp), args.async_mode) as fl:
        for n in [int(x) for x in args.procs.split(",") if x]:
            r = run_n(n, args, fl)
            results["runs"].append(r)
            rows += rows_of(r)
            print(f"-- {n} process(es) done ({time.perf_counter() - started:.0f} s)", flush=True)
            print(table(["procs", "what", "figure"], rows_of(r)), flush=True)
    results["seconds"] = round(time.perf_counter() - started)
    results["load_after"] = os.getloadavg()
    print(f"== scale: hallq processes on PostgreSQL + Redis ({args.async_mode}) ==")
    print(table(["procs", "what", "figure"], rows))
    print(table(["procs", "CPU per request vs 1 process", "hallq issue", "hallq call/finish", "floor insert"],
                cpu_growth(results["runs"])))  # fmt: skip
    print(f"  load average before {results['load']}, after {results['load_after']}; {results['seconds']} s")
    print("BENCH_SCALE " + json.dumps(results, default=str))
    return results


if __name__ == "__main__":
    main()
