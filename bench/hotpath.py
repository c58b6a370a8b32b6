"""hallq against the floor: issue, call-next + finish, call to screen, a full day, memory.

Starts, on 127.0.0.1 only, one hallq server (`python -m server.cli serve`) and one floor server
(bench/floor.py: the same stack and config doing the least possible per request) on the same database
kind, and measures both in the same run, so each figure is reported as a ratio to the floor:

- issue (POST tickets as kiosk k1 does it: its bearer token and an Idempotency-Key per tap) with 1 and 8
  clients at 0, 300 and 2,000 tickets waiting (8 counters open, so the forecast has work), against the
  floor's insert-one-row route;
- call-next + finish with 1 and 8 counters at the same depths, against the same route (two writes a
  cycle, so requests/s are compared), then checked: no ticket called twice, none lost;
- call to screen: N `/display` clients, calls at 5/s; the time from sending call-next to each client's
  `call` event, and the server CPU per delivered event, against the floor's emit-to-a-room route;
- a full day (the demo's services, 3,000 tickets on the demo's arrival curve squeezed into a few
  seconds, 10 counters in A/B pairs, one away and covered for a while): wall time and p99 per action;
- memory: RSS after 10,000 tickets in a day against idle (a fresh server).

Every loop is bounded in count and in time. Sizes are options; `--quick` runs small ones.

    python -m bench.hotpath [--db sqlite,postgres] [--n 300] [--displays 50,300] [--calls 40]
                            [--day-tickets 3000] [--memory-tickets 10000] [--quick]
                            [--parts issue,cycles,screens,day,memory]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from .api import Displays, free_port
from .common import ROOT, database_url, percentile, table

HALL = """
[[hall]]
id = "town"
name = "测试镇便民服务中心"
timezone = "Asia/Shanghai"
hours = "always"
number_width = 4
max_priority_streak = 2

[[hall.service]]
id = "id-card"
name = "身份证办理"
prefix = "A"
avg_service_s = 240

[[hall.service]]
id = "social"
name = "社保医保"
prefix = "B"
avg_service_s = 600
"""
# The kiosk every issue comes from (a screen-only one, as the kiosk page without a printer): its token and an
# Idempotency-Key per tap, as every kiosk sends. Anonymous callers have a capped share and no priority.
HALL += '\n[[hall.kiosk]]\nid = "k1"\nname = "取号机"\nprinter = { kind = "none" }\n'
COUNTERS = [f"w{i}" for i in range(1, 9)]
HALL += "".join(
    f'\n[[hall.counter]]\nid = "{c}"\nnumber = {i + 1}\nservices = ["id-card", "social"]\n'
    f'partner = "{COUNTERS[i ^ 1]}"\n'
    for i, c in enumerate(COUNTERS)
)
SERVICES = ("id-card", "social")
PARTS = ("issue", "cycles", "screens", "day", "memory")

# The day: the demo hall's services with two more general windows (w9, w10), 10 counters in pairs.
DAY_COUNTERS = """
[[hall.counter]]
id = "w9"
number = 9
services = ["id-card", "household", "residence", "migrant"]
partner = "w10"

[[hall.counter]]
id = "w10"
number = 10
services = ["social-insurance", "retirement", "employment"]
partner = "w9"
"""
ARRIVALS = [(8.5, 9.0, 45), (9.0, 10.5, 95), (10.5, 12.0, 60), (13.5, 14.5, 50), (14.5, 16.5, 45), (16.5, 17.5, 27)]
MIX = {
    "utilities": 0.195,
    "id-card": 0.11,
    "social-insurance": 0.11,
    "retirement": 0.10,
    "household": 0.04,
    "elderly": 0.11,
    "employment": 0.11,
    "residence": 0.06,
    "migrant": 0.05,
    "assistance": 0.04,
    "disability": 0.03,
    "business-licence": 0.025,
    "legal-aid": 0.02,
}
TIMEOUT = 30


def day_hall() -> str:
    demo = (ROOT / "server" / "demo_hall.toml").read_text(encoding="utf-8")
    demo = demo.replace("number_width = 3", "number_width = 4", 1)
    demo = demo.split("[[hall.kiosk]]", 1)[0]  # no printer in a benchmark
    return demo + DAY_COUNTERS


def write_config(folder: Path, name: str, port: int, url: str, hall: str) -> Path:
    body = (
        "[server]\n"
        f'data_dir = "{folder / name}"\n'
        f'database = "{url}"\n'
        f"port = {port}\n"
        'log_level = "WARNING"\n'
        "[server.limits]\n"
        "tickets_per_minute = 100000000\n"
        "ratings_per_minute = 100000000\n"
        "anonymous_tickets_per_day = 100000000\n" + hall
    )
    path = folder / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


class Proc:
    """One server subprocess on 127.0.0.1."""

    def __init__(self, args: list[str], port: int, log: Path, health: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.kiosk = ""  # the k1 kiosk's token, for the issue runs
        self.health = health
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                # a busy machine may answer slowly: the deadline above bounds the wait, not one request
                if requests.get(self.url + health, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{args[0]} did not answer: {log.read_text(errors='replace')[-2000:]}")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return math.nan

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def admin_token(config: Path, *who: str) -> str:
    """A new token: an admin's, or `who` (e.g. "--kiosk", "k1")."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "token", "create", *(who or ("--role", "admin")), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


# -- load generation ---------------------------------------------------------------------------------


@dataclass
class Run:
    what: str
    clients: int
    n: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0  # the server's CPU over the whole run of calls and a quiet second after, less before_cpu_s
    before_cpu_s: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    errors: Counter[str] = field(default_factory=Counter)
    depth: int = 0

    @property
    def per_s(self) -> float:
        return self.n / self.seconds if self.seconds else math.nan

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / self.n * 1000 if self.n else math.nan

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    def add(self, other: Run) -> Run:
        """This run with another round of the same load added (`interleaved`)."""
        self.n += other.n
        self.seconds += other.seconds
        self.cpu_s += other.cpu_s
        self.latencies += other.latencies
        self.errors.update(other.errors)
        return self

    def summary(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "clients": self.clients,
            "depth": self.depth,
            "n": self.n,
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.p(50), 2),
            "p99_ms": round(self.p(99), 2),
            "cpu_ms_per_request": round(self.cpu_ms, 3),
            "errors": dict(self.errors),
        }


def hammer(
    server: Proc | list[Proc],
    what: str,
    clients: int,
    n: int,
    step: Callable[[requests.Session, int, int], int],
    max_s: float,
) -> Run:
    """`clients` threads, each with a keep-alive session, run `step(session, client, i)` until n requests
    (step returns how many it made; 0 means this client is done) or `max_s` seconds. With several server
    processes (bench/scale.py) their CPU is summed."""
    procs = server if isinstance(server, list) else [server]
    run = Run(what, clients)
    lock = threading.Lock()
    counter = iter(range(n))
    deadline = time.perf_counter() + max_s

    def client(k: int) -> None:
        with requests.Session() as http:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                a = time.perf_counter()
                try:
                    made = step(http, k, i)
                except requests.RequestException as e:
                    with lock:
                        run.errors[type(e).__name__] += 1
                    continue
                took = time.perf_counter() - a
                if made == 0:
                    return
                with lock:
                    run.n += made
                    run.latencies.append(took / made)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    cpu0, t0 = sum(p.cpu_s() for p in procs), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_s + TIMEOUT)
    run.seconds = time.perf_counter() - t0
    run.cpu_s = sum(p.cpu_s() for p in procs) - cpu0
    return run


def floor_rows(floor: Proc, clients: int, n: int) -> Run:
    def step(http: requests.Session, k: int, i: int) -> int:
        r = http.post(floor.url + "/floor/rows", timeout=TIMEOUT)
        r.raise_for_status()
        return 1

    return hammer(floor, "floor insert", clients, n, step, max_s=120)


def issue_step(url: str, errors: Counter[str], kiosk: str) -> Callable[[requests.Session, int, int], int]:
    """A kiosk's tap: its token (`kiosk`), an Idempotency-Key per tap."""
    auth = f"Bearer {kiosk}"

    def step(http: requests.Session, k: int, i: int) -> int:
        body = {"service": SERVICES[i % 2], "priority": i % 12 == 11, "kiosk": "k1"}
        headers = {"Authorization": auth, "Idempotency-Key": uuid.uuid4().hex}
        r = http.post(f"{url}/api/v1/halls/town/tickets", json=body, headers=headers, timeout=TIMEOUT)
        if r.status_code != 201:
            errors[f"issue {r.status_code}"] += 1
            return 0
        return 1

    return step


def issue(server: Proc, clients: int, n: int) -> Run:
    errors: Counter[str] = Counter()
    run = hammer(server, "issue", clients, n, issue_step(server.url, errors, server.kiosk), max_s=120)
    run.errors.update(errors)
    return run


def interleaved(rounds: int, n: int, floor: Callable[[int], Run], ours: Callable[[int], Run]) -> tuple[Run, Run]:
    """The floor's load and hallq's, `n` requests each, in `rounds` alternating rounds (floor first in odd
    rounds, hallq first in even ones): a machine whose speed drifts during the run (other tenants, clock
    scaling) slows both alike, where one run after the other would put the drift into the ratio."""
    bare = ours_run = None
    for k in range(rounds):
        size = n // rounds + (1 if k < n % rounds else 0)
        order = ((floor, "floor"), (ours, "ours")) if k % 2 == 0 else ((ours, "ours"), (floor, "floor"))
        for run_one, who in order:
            got = run_one(size)
            if who == "floor":
                bare = got if bare is None else bare.add(got)
            else:
                ours_run = got if ours_run is None else ours_run.add(got)
    assert bare is not None and ours_run is not None  # rounds >= 1
    return ours_run, bare


def cycles(server: Proc, token: str, clients: int, n: int, called: list[str]) -> Run:
    """Each client is one counter (w1, w2, ...): call-next then finish; n cycles in all."""
    auth = {"Authorization": f"Bearer {token}"}
    lock = threading.Lock()

    def step(http: requests.Session, k: int, i: int) -> int:
        base = f"{server.url}/api/v1/counters/{COUNTERS[k]}"
        r = http.post(base + "/call-next", headers=auth, timeout=TIMEOUT)
        r.raise_for_status()
        ticket = r.json()["ticket"]
        if ticket is None:
            return 0
        with lock:
            called.append(ticket["id"])
        http.post(base + "/finish", json={"outcome": "completed"}, headers=auth, timeout=TIMEOUT).raise_for_status()
        return 2

    run = hammer(server, "call-next+finish", clients, n, step, max_s=120)
    return run


# -- a database between runs ---------------------------------------------------------------------------


def reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for t in ("tickets", "number_seqs", "ledger", "ratings", "complaints"):
            conn.execute(text(f"DELETE FROM {t}"))  # noqa: S608 - fixed table names
        conn.execute(text("UPDATE counters SET state='closed', held_ticket=NULL, priority_streak=0"))
    engine.dispose()


def check_claims(url: str, called: list[str]) -> dict[str, Any]:
    """No ticket called twice, none lost: every called ticket is done, with exactly one `called` line."""
    engine = create_engine(url)
    with engine.connect() as conn:
        lines = Counter(
            r[0] for r in conn.execute(text("SELECT ticket_id FROM ledger WHERE kind = 'called'")).all() if r[0]
        )
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM tickets GROUP BY status")).all())
        held = conn.execute(text("SELECT count(*) FROM counters WHERE held_ticket IS NOT NULL")).scalar_one()
    engine.dispose()
    twice = [t for t, k in lines.items() if k > 1]
    answered_twice = len(called) - len(set(called))
    return {
        "called": len(called),
        "called_twice": len(twice) + answered_twice,
        "lost": len(set(called) - set(lines)) + len(set(lines) - set(called)),
        "done": statuses.get("done", 0),
        "still_held": held,
        "ok": not twice and not answered_twice and set(lines) == set(called) and statuses.get("done", 0) == len(called),
    }


def open_counters(server: Proc, token: str, ids: list[str]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    for c in ids:
        requests.post(f"{server.url}/api/v1/counters/{c}/open", headers=auth, timeout=TIMEOUT).raise_for_status()


def prefill(server: Proc, depth: int, url: str | None = None) -> None:
    if depth:
        errors: Counter[str] = Counter()
        hammer(server, "prefill", 8, depth, issue_step(server.url, errors, server.kiosk), max_s=300)
        if errors:
            raise RuntimeError(f"prefill failed: {errors}")
    if url is not None and url.startswith("postgresql"):
        analyze(url)


def analyze(url: str) -> None:
    """PostgreSQL: fresh planner statistics of the filled tables, as autovacuum gives a real hall within a
    minute of such a change. Without them the planner of a schema made seconds ago takes the tables for empty
    and reads the queue heads through `ix_tickets_day` (every ticket of the day, not the waiting ones):
    a fresh schema's artefact, which made call-next's cost grow with the day's tickets here."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE tickets, ledger, counters, number_seqs"))
    engine.dispose()


def waiting(server: Proc) -> int:
    services = requests.get(f"{server.url}/api/v1/halls/town/services", timeout=TIMEOUT).json()
    return int(sum(s["waiting"] for s in services))


# -- call to screen -------------------------------------------------------------------------------------


@dataclass
class Screen:
    displays: int
    calls: int
    delivered: int = 0
    others: int = 0  # `waiting` events the same calls sent each display (hallq: the contract's count update)
    latencies: list[float] = field(default_factory=list, repr=False)
    answer: list[float] = field(default_factory=list, repr=False)
    cpu_s: float = 0.0  # the server's CPU over the whole run of calls and a quiet second after, less before_cpu_s
    before_cpu_s: float = 0.0

    def p(self, q: float, values: list[float] | None = None) -> float:
        return percentile(self.latencies if values is None else values, q) * 1000

    @property
    def cpu_ms_per_event(self) -> float:
        return self.cpu_s / self.delivered * 1000 if self.delivered else math.nan

    def summary(self) -> dict[str, Any]:
        return {
            "displays": self.displays,
            "calls": self.calls,
            "delivered": self.delivered,
            "expected": self.displays * self.calls,
            "p50_ms": round(self.p(50), 1),
            "p99_ms": round(self.p(99), 1),
            "answer_p50_ms": round(self.p(50, self.answer), 1),
            "cpu_ms_per_delivered": round(self.cpu_ms_per_event, 4),
            "waiting_delivered": self.others,
            "cpu_ms_per_any_event": round(self.cpu_s / (self.delivered + self.others) * 1000, 4)
            if self.delivered
            else math.nan,
        }


def one_call(
    out: Screen,
    proc: Proc,
    displays: Displays,
    i: int,
    fire: Callable[[int], str],
    before: Callable[[int], None] = lambda i: None,
    counts: bool = False,
) -> None:
    """One call at most each 0.2 s; `fire(i)` sends it and returns the ticket id the displays will see. Latency is
    until every display has the event and, with `counts` (hallq: a call changes the waiting counts, which the
    contract sends every display), the `waiting` event that follows it. The CPU of `before(i)` (hallq: finishing
    the last ticket) is kept apart, to be taken off the run's (`screens`). Added to `out`."""
    started = time.perf_counter()
    cpu = proc.cpu_s()
    before(i)
    out.before_cpu_s += proc.cpu_s() - cpu
    time.sleep(0.02)
    seen = displays.waiting
    t0 = time.perf_counter()
    ticket = fire(i)
    out.answer.append(time.perf_counter() - t0)
    got = displays.wait(ticket, out.displays, timeout=15)
    if counts:
        out.others += displays.wait_waiting(seen + out.displays) - seen
    out.delivered += len(got)
    out.latencies += [x - t0 for x in got]
    time.sleep(max(0.0, 0.2 - (time.perf_counter() - started)))


def in_turns(calls: int, *callers: Callable[[int], None]) -> None:
    """Call i of each caller (the floor's, hallq's, ...), for each i, a different one first in each turn."""
    for i in range(calls):
        first = i % len(callers)
        for call in callers[first:] + callers[:first]:
            call(i)


def screens(
    hallq: Proc, floor: Proc, pair_floor: Proc, token: str, n_displays: int, calls: int
) -> tuple[Screen, Screen, Screen]:
    """Three sets of displays connected at once, and their calls taken in turns (a different one first in each
    turn): all see the same machine, however its speed drifts during the run. hallq's; the floor's bare `call`;
    and a second floor's `call` followed by a `waiting` counts event, the pair of events the contract sends on
    every call. Each server process holds its own set of displays only."""
    auth = {"Authorization": f"Bearer {token}"}
    http = requests.Session()

    def fire_floor(i: int, waiting: bool = False) -> str:
        ticket = f"floor-{n_displays}-{i}-{int(waiting)}"
        body = {"ticket": ticket, "waiting": waiting}
        http.post((pair_floor if waiting else floor).url + "/floor/emit", json=body, timeout=TIMEOUT).raise_for_status()
        return ticket

    def fire_hallq(i: int) -> str:
        r = http.post(f"{hallq.url}/api/v1/counters/w1/call-next", headers=auth, timeout=TIMEOUT)
        r.raise_for_status()
        return str(r.json()["ticket"]["id"])

    def finish(i: int = 0) -> None:
        if i:
            http.post(
                f"{hallq.url}/api/v1/counters/w1/finish", json={"outcome": "completed"}, headers=auth, timeout=TIMEOUT
            )

    for _ in range(calls):  # the tickets to call, issued before: only the calls are timed
        http.post(f"{hallq.url}/api/v1/halls/town/tickets", json={"service": "id-card"}, timeout=TIMEOUT)
    theirs = pair = ours = None
    try:
        theirs = Displays(floor.url, n_displays)
        pair = Displays(pair_floor.url, n_displays)
        ours = Displays(hallq.url, n_displays)
        time.sleep(1)
        bare, both, mine = Screen(n_displays, calls), Screen(n_displays, calls), Screen(n_displays, calls)
        # CPU over the whole run, with a quiet second after it: whatever a call leaves to the background (hallq's
        # batch to kiosks and counters, its forecast), whenever it runs, is the call's.
        runs = ((bare, floor), (both, pair_floor), (mine, hallq))
        cpu = [proc.cpu_s() for _, proc in runs]
        in_turns(
            calls,
            partial(one_call, bare, floor, theirs, fire=fire_floor),
            partial(one_call, both, pair_floor, pair, fire=partial(fire_floor, waiting=True), counts=True),
            partial(one_call, mine, hallq, ours, fire=fire_hallq, before=finish, counts=True),
        )
        time.sleep(1.5)
        for (out, proc), start in zip(runs, cpu, strict=True):
            out.cpu_s = proc.cpu_s() - start - out.before_cpu_s
        finish(1)
    finally:
        for shown in (theirs, pair, ours):
            if shown is not None:
                shown.close()
        http.close()
    return mine, bare, both


# -- a full day -------------------------------------------------------------------------------------


def arrivals(n: int, seed: int = 20261130) -> list[tuple[float, str, bool]]:
    """n (hour of day, service, priority) following the demo's curve and mix."""
    rng = random.Random(seed)
    weights = [(b - a) * rate for a, b, rate in ARRIVALS]
    services, shares = list(MIX), list(MIX.values())
    out = []
    for _ in range(n):
        a, b, _rate = rng.choices(ARRIVALS, weights)[0]
        out.append((rng.uniform(a, b), rng.choices(services, shares)[0], rng.random() < 0.08))
    return sorted(out)


@dataclass
class Day:
    tickets: int
    seconds: float = 0.0
    actions: dict[str, list[float]] = field(default_factory=dict, repr=False)
    errors: Counter[str] = field(default_factory=Counter)
    check: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "seconds": round(self.seconds, 1),
            "per_action": {
                k: {
                    "n": len(v),
                    "p50_ms": round(percentile(v, 50) * 1000, 1),
                    "p99_ms": round(percentile(v, 99) * 1000, 1),
                }
                for k, v in sorted(self.actions.items())
            },
            "errors": dict(self.errors),
            "check": self.check,
        }


def full_day(server: Proc, token: str, url: str, n: int, day_s: float, max_s: float) -> Day:
    """Issue n tickets on the day's curve squeezed into day_s seconds; 10 counters call, start and finish
    them; w3 is away (covered by w4) from 30% to 55% of the day."""
    day = Day(n)
    auth = {"Authorization": f"Bearer {token}"}
    counters = [f"w{i}" for i in range(1, 11)]
    open_counters(server, token, counters)
    plan = arrivals(n)
    first, last = plan[0][0], plan[-1][0]
    lock = threading.Lock()
    issued_all = threading.Event()
    called: list[str] = []
    t0 = time.perf_counter()
    deadline = t0 + max_s

    def record(kind: str, took: float, ok: bool) -> None:
        with lock:
            day.actions.setdefault(kind, []).append(took)
            if not ok:
                day.errors[kind] += 1

    def post(http: requests.Session, kind: str, path: str, body: dict[str, Any] | None = None) -> Any:
        a = time.perf_counter()
        r = http.post(server.url + path, json=body, headers=auth, timeout=TIMEOUT)
        record(kind, time.perf_counter() - a, r.status_code < 300)
        return r.json() if r.status_code < 300 else None

    def issuer() -> None:
        with requests.Session() as http:
            for hour, service, priority in plan:
                due = t0 + (hour - first) / max(1e-9, last - first) * day_s
                time.sleep(max(0.0, due - time.perf_counter()))
                if time.perf_counter() > deadline:
                    break
                post(http, "issue", "/api/v1/halls/town/tickets", {"service": service, "priority": priority})
        issued_all.set()

    def clerk(counter: str) -> None:
        away_from, away_to = t0 + 0.30 * day_s, t0 + 0.55 * day_s
        was_away = False
        with requests.Session() as http:
            while time.perf_counter() < deadline:
                now = time.perf_counter()
                if counter == "w3" and not was_away and now >= away_from:
                    if post(http, "away", f"/api/v1/counters/{counter}/away", {"reason": "meeting"}) is not None:
                        was_away = True
                        time.sleep(max(0.0, away_to - time.perf_counter()))
                        post(http, "back", f"/api/v1/counters/{counter}/back")
                    continue
                answer = post(http, "call-next", f"/api/v1/counters/{counter}/call-next")
                ticket = answer and answer["ticket"]
                if not ticket:
                    if issued_all.is_set():
                        return
                    time.sleep(0.02)
                    continue
                with lock:
                    called.append(ticket["id"])
                post(http, "start", f"/api/v1/counters/{counter}/start")
                post(http, "finish", f"/api/v1/counters/{counter}/finish", {"outcome": "completed"})

    threads = [threading.Thread(target=issuer, daemon=True)]
    threads += [threading.Thread(target=clerk, args=(c,), daemon=True) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_s + TIMEOUT)
    day.seconds = time.perf_counter() - t0
    day.check = check_claims(url, called)
    day.check["issued"] = len(day.actions.get("issue", [])) - day.errors.get("issue", 0)
    return day


# -- the scenario ------------------------------------------------------------------------------------


@contextmanager
def floor_process(kind: str, folder: Path) -> Iterator[Proc]:
    """One more floor, on a database of its own (the screens' contract pair)."""
    folder.mkdir(parents=True, exist_ok=True)
    with database_url(kind, folder) as url:
        port = free_port()
        config = write_config(folder, "floor", port, url, HALL)
        proc = Proc(["bench.floor", "--config", str(config), "--port", str(port)], port, folder / "floor.log",
                    "/floor/health")  # fmt: skip
        try:
            yield proc
        finally:
            proc.stop()


@contextmanager
def servers(
    kind: str, folder: Path, hall: str, with_floor: bool = True
) -> Iterator[tuple[Proc, Proc | None, str, str]]:
    with database_url(kind, folder) as url, database_url(kind, folder / "floor") as floor_url:
        (folder / "floor").mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = write_config(folder, "hallq", port, url, hall)
        token = admin_token(config)
        kiosk = admin_token(config, "--kiosk", "k1") if 'id = "k1"' in hall else ""
        hallq = Proc(["server.cli", "serve", "--config", str(config)], port, folder / "hallq.log", "/api/v1/health")
        hallq.kiosk = kiosk
        floor = None
        try:
            if with_floor:
                fport = free_port()
                fconfig = write_config(folder, "floor", fport, floor_url, hall)
                floor = Proc(
                    ["bench.floor", "--config", str(fconfig), "--port", str(fport)],
                    fport,
                    folder / "floor.log",
                    "/floor/health",
                )
            yield hallq, floor, token, url
        finally:
            hallq.stop()
            if floor is not None:
                floor.stop()


def run_db(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"db": kind, "issue": [], "cycles": [], "screens": []}
    with tempfile.TemporaryDirectory(prefix="hallq-hotpath-") as tmp:
        folder = Path(tmp)
        with servers(kind, folder, HALL) as (hallq, floor, token, url):
            assert floor is not None
            for clients in (1, 8):
                floor_rows(floor, clients, 50)  # warm-up
            for depth in args.depths:
                reset(url)
                open_counters(hallq, token, COUNTERS)  # the forecast has counters to run
                prefill(hallq, depth, url)
                issue(hallq, 1, 20)  # warm-up
                for clients in (1, 8) if "issue" in args.parts else ():  # the floor in rounds between hallq's
                    run, bare = interleaved(
                        args.rounds, args.n, partial(floor_rows, floor, clients), partial(issue, hallq, clients)
                    )
                    run.depth = depth
                    out["issue"].append({**run.summary(), "floor": bare.summary()})
                if "issue" not in args.parts:
                    prefill(hallq, 2 * args.n, url)  # the depth the issue runs would have left for the cycles
                called: list[str] = []
                for clients in (1, 8) if "cycles" in args.parts else ():
                    run_depth = waiting(hallq)
                    open_counters(hallq, token, COUNTERS)
                    run, bare = interleaved(
                        args.rounds,
                        args.n,
                        partial(floor_rows, floor, clients),
                        partial(cycles, hallq, token, clients, called=called),
                    )
                    run.depth = run_depth
                    summary = {**run.summary(), "floor": bare.summary()}
                    summary["check"] = check_claims(url, called) if clients == 8 else None
                    out["cycles"].append(summary)
                    prefill(hallq, max(0, run_depth - waiting(hallq)), url)  # back to the depth for the next run
            reset(url)
            open_counters(hallq, token, ["w1"])
            if "screens" in args.parts:
                with floor_process(kind, folder / "pair") as pair_floor:
                    for n_displays in args.displays:
                        try:
                            ours, bare, both = screens(hallq, floor, pair_floor, token, n_displays, args.calls)
                        except Exception as e:  # noqa: BLE001 - a shared machine may refuse 300 clients: go on
                            out.setdefault("failed", []).append(f"screens {n_displays}: {type(e).__name__}: {e}")
                            continue
                        out["screens"].append(
                            {"hallq": ours.summary(), "floor": bare.summary(), "floor_pair": both.summary()}
                        )
        if "day" not in args.parts:
            return out
        try:
            with servers(kind, folder / "day", day_hall(), with_floor=False) as (hallq, _, token, url):
                out["day"] = full_day(hallq, token, url, args.day_tickets, args.day_seconds, args.day_max_s).summary()
        except Exception as e:  # noqa: BLE001
            out.setdefault("failed", []).append(f"day: {type(e).__name__}: {e}")
        if "memory" not in args.parts:
            return out
        try:
            with servers(kind, folder / "memory", HALL, with_floor=False) as (hallq, _, token, url):
                issue(hallq, 1, 20)
                requests.get(f"{hallq.url}/api/v1/halls/town/services", timeout=TIMEOUT)
                time.sleep(1)
                idle = hallq.rss_mb()
                open_counters(hallq, token, COUNTERS)
                run = issue(hallq, 8, args.memory_tickets)
                time.sleep(1)
                out["memory"] = {"idle_mb": round(idle, 1), "after_mb": round(hallq.rss_mb(), 1), "tickets": run.n}
        except Exception as e:  # noqa: BLE001
            out.setdefault("failed", []).append(f"memory: {type(e).__name__}: {e}")
    return out


def ratios(r: dict[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for run in r["issue"]:
        f = run["floor"]
        rows.append(
            [
                r["db"],
                f"issue, {run['clients']} client(s), {run['depth']} waiting",
                f"{run['per_s']:.0f}/s p50 {run['p50_ms']:.1f} p99 {run['p99_ms']:.1f} ms",
                f"{f['per_s']:.0f}/s, {f['cpu_ms_per_request']:.2f} ms CPU",
                run["per_s"] / f["per_s"],
                run["cpu_ms_per_request"],
            ]
        )
    for run in r["cycles"]:
        f = run["floor"]
        check = run.get("check")
        verdict = "" if check is None else (" exactly once" if check["ok"] else " PROBLEMS")
        rows.append(
            [
                r["db"],
                f"call-next+finish, {run['clients']} counter(s), {run['depth']} waiting",
                f"{run['per_s'] / 2:.0f} cycles/s ({run['per_s']:.0f} req/s) p99 {run['p99_ms']:.1f} ms{verdict}",
                f"{f['per_s']:.0f}/s, {f['cpu_ms_per_request']:.2f} ms CPU",
                run["per_s"] / f["per_s"],
                run["cpu_ms_per_request"],
            ]
        )
    for s in r["screens"]:
        ours, bare, both = s["hallq"], s["floor"], s.get("floor_pair")
        rows.append(
            [
                r["db"],
                f"call to screen p99, {ours['displays']} displays",
                f"{ours['p99_ms']:.0f} ms (p50 {ours['p50_ms']:.0f}; {ours['delivered']}/{ours['expected']})",
                f"{bare['p99_ms']:.0f} ms",
                ours["p99_ms"] / bare["p99_ms"],
                math.nan,
            ]
        )
        if both is not None:  # the floor sending the contract's two events a call, as hallq must
            rows.append(
                [
                    r["db"],
                    f"call to screen p99 vs the floor's call + waiting, {ours['displays']} displays",
                    f"{ours['p99_ms']:.0f} ms",
                    f"{both['p99_ms']:.0f} ms (p50 {both['p50_ms']:.0f})",
                    ours["p99_ms"] / both["p99_ms"],
                    math.nan,
                ]
            )
            rows.append(
                [
                    r["db"],
                    f"server CPU per delivered event vs the floor's pair, {ours['displays']} displays",
                    f"{ours['cpu_ms_per_any_event']:.3f} ms",
                    f"{both['cpu_ms_per_any_event']:.3f} ms",
                    ours["cpu_ms_per_any_event"] / both["cpu_ms_per_any_event"],
                    math.nan,
                ]
            )
        rows.append(
            [
                r["db"],
                f"server CPU per delivered call, {ours['displays']} displays",
                f"{ours['cpu_ms_per_delivered']:.3f} ms (the call, its waiting counts)",
                f"{bare['cpu_ms_per_delivered']:.3f} ms",
                ours["cpu_ms_per_delivered"] / bare["cpu_ms_per_delivered"],
                math.nan,
            ]
        )
        rows.append(
            [
                r["db"],
                f"server CPU per delivered event, {ours['displays']} displays",
                f"{ours['cpu_ms_per_any_event']:.3f} ms ({ours['delivered'] + ours['waiting_delivered']} events)",
                f"{bare['cpu_ms_per_delivered']:.3f} ms",
                ours["cpu_ms_per_any_event"] / bare["cpu_ms_per_delivered"],
                math.nan,
            ]
        )
    for failure in r.get("failed", []):
        rows.append([r["db"], "FAILED", failure[:100], "", math.nan, math.nan])
    d = r.get("day")
    if d is not None:
        worst = max(d["per_action"].items(), key=lambda kv: kv[1]["p99_ms"], default=("-", {"p99_ms": math.nan}))
        rows.append(
            [
                r["db"],
                f"full day, {d['tickets']} tickets, 10 counters",
                f"{d['seconds']:.0f} s; worst p99 {worst[0]} {worst[1]['p99_ms']:.0f} ms;"
                f" {'exactly once' if d['check']['ok'] else 'PROBLEMS'}",
                "",
                math.nan,
                math.nan,
            ]
        )
    m = r.get("memory")
    if m is not None:
        rows.append(
            [
                r["db"],
                f"RSS after {m['tickets']} tickets vs idle",
                f"{m['after_mb']:.0f} MB vs {m['idle_mb']:.0f} MB",
                "",
                m["after_mb"] / m["idle_mb"],
                math.nan,
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--n", type=int, default=300, help="requests (or cycles) per throughput run")
    parser.add_argument("--depths", default="0,300,2000")
    parser.add_argument("--displays", default="50,300")
    parser.add_argument("--calls", type=int, default=40, help="calls observed per display count")
    parser.add_argument(
        "--rounds", type=int, default=4, help="hallq's and the floor's loads alternate in this many rounds each"
    )
    parser.add_argument("--day-tickets", type=int, default=3000)
    parser.add_argument("--day-seconds", type=float, default=30, help="the day's arrivals squeezed into this")
    parser.add_argument("--day-max-s", type=float, default=240)
    parser.add_argument("--memory-tickets", type=int, default=10000)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in about a minute per db")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which of {','.join(PARTS)} to run")
    args = parser.parse_args(argv)
    args.parts = {p for p in args.parts.split(",") if p}
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.quick:
        args.n, args.depths, args.displays, args.calls = 60, "0,300", "20", 10
        args.day_tickets, args.day_seconds, args.memory_tickets = 300, 10, 1000
    args.depths = [int(x) for x in args.depths.split(",") if x]
    args.displays = [int(x) for x in args.displays.split(",") if x]
    started = time.perf_counter()
    results = {"load": os.getloadavg(), "runs": []}
    rows: list[list[object]] = []
    for kind in [k for k in args.db.split(",") if k]:
        r = run_db(kind, args)
        results["runs"].append(r)
        mine = ratios(r)
        rows += mine
        print(f"-- {kind} done ({time.perf_counter() - started:.0f} s)", flush=True)
        print(table(["db", "what", "hallq", "floor", "ratio", "CPU ms/req"], mine), flush=True)
        print(f"BENCH_HOTPATH_{kind.upper()} " + json.dumps(r, default=str), flush=True)
    results["seconds"] = round(time.perf_counter() - started)
    results["load_after"] = os.getloadavg()
    print("== hotpath: hallq against the floor (same run, same machine) ==")
    print(table(["db", "what", "hallq", "floor", "ratio", "CPU ms/req"], rows))
    print(f"  load average before {results['load']}, after {results['load_after']}; {results['seconds']} s")
    print("BENCH_HOTPATH " + json.dumps(results, default=str))
    return results


if __name__ == "__main__":
    main()
