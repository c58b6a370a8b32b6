"""How fast are tickets issued and claimed, and is every claim made exactly once?

(a) One process, sequential: issue N tickets, then call-next + finish until the queue is empty.
(b) Two OS processes (multiprocessing, spawn) race call-next on the same database over 1000
    waiting tickets, each driving 4 counters of its own, all counters serving the same services;
    afterwards the database is checked: every ticket called exactly once, none lost, none twice.
    `--racers 8`: eight processes of one counter each, so eight counters claim at the same moment; the
    claim statements each process sent are counted (claim tries per call-next that got a ticket).

Both on SQLite (a temp file) and PostgreSQL (a fresh schema on 127.0.0.1, dropped afterwards).

    python -m bench.claims [--n 2000] [--race 1000] [--db sqlite,postgres] [--racers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from server.clock import FrozenClock
from server.config import Config, load_config
from server.services import counters, tickets
from server.services.context import Context
from server.store import raw
from server.store.models import LedgerRow, TicketRow

from .common import database_url, make_context, percentile, table

HALL = "bench"
SERVICES = ("s1", "s2", "s3", "s4")
COUNTERS = tuple(f"c{i}" for i in range(1, 9))
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in the hall

# One hall where every counter serves every service, so that all claimers compete for the same tickets.
HALL_TOML = f"""
[server]
log_level = "WARNING"

[[hall]]
id = "{HALL}"
name = "压测大厅"
timezone = "Asia/Shanghai"
number_width = 4
hours = "always"
max_priority_streak = 2
{
    "".join(
        f'''
[[hall.service]]
id = "{s}"
name = "事项{s}"
prefix = "{chr(ord("A") + i)}"
avg_service_s = 300
'''
        for i, s in enumerate(SERVICES)
    )
}
{
    "".join(
        f'''
[[hall.counter]]
id = "{c}"
number = {i + 1}
services = {list(SERVICES)!r}
'''
        for i, c in enumerate(COUNTERS)
    )
}
"""


def bench_config(folder: Path) -> Config:
    path = folder / "bench_hall.toml"
    path.write_text(HALL_TOML, encoding="utf-8")
    return load_config(path)


class TickingClock(FrozenClock):
    """A frozen clock that moves one millisecond every time it is read: distinct, ordered times."""

    def now(self) -> datetime:
        return self.advance(0.001)


def _ms(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50) * 1000, percentile(values, 99) * 1000


# -- (a) sequential -------------------------------------------------------------------------------


@dataclass
class Sequential:
    db: str
    n: int
    drained: int
    issue_per_s: float
    issue_p50_ms: float
    issue_p99_ms: float
    issue_first_last_ms: tuple[float, float]  # mean of the first and last 10% (the queue grows)
    cycle_per_s: float
    cycle_p50_ms: float
    cycle_p99_ms: float
    cycle_first_last_ms: tuple[float, float]


def sequential(ctx: Context, kind: str, n: int, drain: int | None = None) -> Sequential:
    """Issue n tickets in a row, then claim and finish them (or the first `drain`) with four counters in turn."""
    drain = n if drain is None else min(n, drain)
    issue: list[float] = []
    t0 = time.perf_counter()
    for i in range(n):
        a = time.perf_counter()
        tickets.issue_ticket(ctx, HALL, SERVICES[i % len(SERVICES)], priority=i % 13 == 0)
        issue.append(time.perf_counter() - a)
    issue_wall = time.perf_counter() - t0
    mine = COUNTERS[:4]
    for c in mine:
        counters.open_counter(ctx, c, f"clerk-{c}")
    cycle: list[float] = []
    t0 = time.perf_counter()
    i = 0
    while len(cycle) < drain:
        c = mine[i % len(mine)]
        i += 1
        a = time.perf_counter()
        result, _ = counters.call_next(ctx, c, None)
        if result.ticket is None:
            break
        counters.finish(ctx, c, None, "completed", None, None)
        cycle.append(time.perf_counter() - a)
    cycle_wall = time.perf_counter() - t0
    assert len(cycle) == drain, f"claimed {len(cycle)} of {drain}"
    tenth = max(1, len(cycle) // 10)
    return Sequential(
        kind,
        n,
        drain,
        n / issue_wall,
        *_ms(issue),
        (statistics.fmean(issue[: max(1, n // 10)]) * 1000, statistics.fmean(issue[-max(1, n // 10) :]) * 1000),
        drain / cycle_wall,
        *_ms(cycle),
        (statistics.fmean(cycle[:tenth]) * 1000, statistics.fmean(cycle[-tenth:]) * 1000),
    )


# -- (b) two processes racing ---------------------------------------------------------------------


def _racer(config_path: str, url: str, mine: list[str], gate: Any, out: Any) -> None:
    """One claiming process: its own engine, its own counters; call-next + finish until nothing is left.

    A "database is locked" error is counted and the action pressed again, as a clerk would.
    """
    claimed: list[str] = []
    locked: list[float] = []  # seconds waited before each "database is locked"
    tries = [0]  # claim statements sent (a claim another counter won first is tried again)
    t0 = t1 = 0.0
    ctx: Context | None = None
    try:
        ctx = make_context(load_config(config_path), url, TickingClock(START))

        def count(_conn: Any, _cursor: Any, sent: str, *_: Any) -> None:
            statement = raw.statement_of(sent)  # a prepared statement's EXECUTE: the statement it runs
            if "RETURNING" in statement and statement.startswith(("UPDATE tickets", "WITH pick")):
                tries[0] += 1

        event.listen(ctx.db.engine, "before_cursor_execute", count)
        counters.current(ctx, mine[0])  # warm the connection before the start
        gate.wait(timeout=120)
        t0 = time.perf_counter()
        empty: set[str] = set()
        i = 0
        while len(empty) < len(mine):
            c = mine[i % len(mine)]
            i += 1
            if c in empty:
                continue
            a = time.perf_counter()
            try:
                result, _ = counters.call_next(ctx, c, None)
            except OperationalError:
                locked.append(time.perf_counter() - a)
                continue
            if result.ticket is None:
                empty.add(c)
                continue
            claimed.append(result.ticket.id)
            while True:
                a = time.perf_counter()
                try:
                    counters.finish(ctx, c, None, "completed", None, None)
                    break
                except OperationalError:
                    locked.append(time.perf_counter() - a)
        t1 = time.perf_counter()
        error = None
    except Exception as e:  # noqa: BLE001 - reported to the parent, which reports the scenario as failed
        error = repr(e)[:300]
        gate.abort()
    finally:
        if ctx is not None:
            ctx.db.dispose()
    out.put(
        {"counters": mine, "claimed": claimed, "t0": t0, "t1": t1, "locked": locked, "error": error, "tries": tries[0]}
    )


@dataclass
class Race:
    db: str
    tickets: int
    claims_per_s: float
    per_process: list[int]
    locked: list[float]
    overlap_s: float
    wall_s: float
    problems: list[str]
    tries_per_claim: float = 0.0


def race(ctx: Context, config_path: Path, url: str, kind: str, waiting: int, racers: int = 2) -> Race:
    for i in range(waiting):
        tickets.issue_ticket(ctx, HALL, SERVICES[i % len(SERVICES)], priority=i % 13 == 0)
    for c in COUNTERS:
        counters.open_counter(ctx, c, f"clerk-{c}")
    with ctx.db.read() as s:
        issued = set(s.scalars(select(TicketRow.id).where(TicketRow.hall_id == HALL)))
    spawn = mp.get_context("spawn")
    per = len(COUNTERS) // racers
    halves = [list(COUNTERS[i : i + per]) for i in range(0, len(COUNTERS), per)]
    gate = spawn.Barrier(len(halves))  # both start claiming at the same instant, once both are ready
    out = spawn.Queue()
    procs = [spawn.Process(target=_racer, args=(str(config_path), url, h, gate, out)) for h in halves]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=600) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():  # only our own children, by handle
                p.terminate()
                p.join()
    problems = [f"{r['counters']}: {r['error']}" for r in results if r["error"]]
    if not problems:
        problems += verify(ctx, issued, results)
    start = min(r["t0"] for r in results)
    end = max(r["t1"] for r in results)
    overlap = max(0.0, min(r["t1"] for r in results) - max(r["t0"] for r in results))
    total = sum(len(r["claimed"]) for r in results)
    return Race(
        kind,
        waiting,
        total / (end - start) if end > start else 0.0,
        [len(r["claimed"]) for r in sorted(results, key=lambda r: r["counters"])],
        [x for r in results for x in r["locked"]],
        overlap,
        end - start,
        problems,
        sum(r["tries"] for r in results) / total if total else 0.0,
    )


def verify(ctx: Context, issued: set[str], results: list[dict[str, Any]]) -> list[str]:
    """Everything the race must leave true, counted from the database."""
    problems: list[str] = []
    with ctx.db.read() as s:
        statuses = dict(
            s.execute(
                select(TicketRow.status, func.count()).where(TicketRow.hall_id == HALL).group_by(TicketRow.status)
            ).all()
        )
        calls = dict(
            s.execute(
                select(LedgerRow.ticket_id, func.count())
                .where(LedgerRow.hall_id == HALL, LedgerRow.kind == "called")
                .group_by(LedgerRow.ticket_id)
            ).all()
        )
        served_by = dict(s.execute(select(TicketRow.id, TicketRow.served_by).where(TicketRow.hall_id == HALL)).all())
    if statuses != {"done": len(issued)}:
        problems.append(f"ticket statuses {statuses}, expected all {len(issued)} done")
    twice = {t: n for t, n in calls.items() if n != 1}
    if twice:
        problems.append(f"{len(twice)} tickets called more than once in the ledger")
    never = issued - set(calls)
    if never:
        problems.append(f"{len(never)} tickets never called (lost)")
    claimed = [r["claimed"] for r in results]
    both = set(claimed[0]) & set(claimed[1]) if len(claimed) == 2 else set()
    if both:
        problems.append(f"{len(both)} tickets claimed by both processes")
    reported = {t for c in claimed for t in c}
    if reported != issued or sum(map(len, claimed)) != len(issued):
        problems.append(f"processes reported {sum(map(len, claimed))} claims of {len(issued)} tickets")
    for r in results:
        wrong = [t for t in r["claimed"] if served_by.get(t) not in r["counters"]]
        if wrong:
            problems.append(f"{len(wrong)} tickets claimed by {r['counters']} but served by another counter")
    return problems


# -- the scenario ---------------------------------------------------------------------------------


@dataclass
class Report:
    sequential: list[Sequential]
    races: list[Race]
    seconds: float


def run(
    n: int = 2000,
    waiting: int = 1000,
    kinds: tuple[str, ...] = ("sqlite", "postgres"),
    drain: int | None = None,
    racers: int = 2,
) -> Report:
    started = time.perf_counter()
    seq: list[Sequential] = []
    races: list[Race] = []
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as tmp:
        folder = Path(tmp)
        config = bench_config(folder)
        for kind in kinds:
            for scenario in ("sequential", "race"):
                sub = folder / f"{kind}-{scenario}"
                sub.mkdir()
                with database_url(kind, sub) as url:
                    ctx = make_context(config, url, TickingClock(START))
                    try:
                        if scenario == "sequential":
                            seq.append(sequential(ctx, kind, n, drain))
                        else:
                            races.append(race(ctx, folder / "bench_hall.toml", url, kind, waiting, racers))
                    finally:
                        ctx.db.dispose()
    return Report(seq, races, time.perf_counter() - started)


def print_report(report: Report) -> None:
    print("== claims (a): one process, sequential ==")
    rows = [
        [
            s.db,
            s.n,
            f"{s.n}->{s.n - s.drained}",
            s.issue_per_s,
            s.issue_p50_ms,
            s.issue_p99_ms,
            f"{s.issue_first_last_ms[0]:.1f} -> {s.issue_first_last_ms[1]:.1f}",
            s.cycle_per_s,
            s.cycle_p50_ms,
            s.cycle_p99_ms,
            f"{s.cycle_first_last_ms[0]:.1f} -> {s.cycle_first_last_ms[1]:.1f}",
        ]
        for s in report.sequential
    ]
    print(
        table(
            [
                "db",
                "N",
                "queue drained",
                "issue/s",
                "p50 ms",
                "p99 ms",
                "mean ms first->last 10%",
                "call+finish/s",
                "p50 ms",
                "p99 ms",
                "mean ms first->last 10%",
            ],
            rows,
        )
    )
    print("== claims (b): processes racing call-next (8 counters split among them, same services) ==")
    rows = [
        [
            r.db,
            r.tickets,
            r.claims_per_s,
            " / ".join(map(str, r.per_process)),
            f"{len(r.locked)}" + (f" (after {min(r.locked):.1f}-{max(r.locked):.1f} s)" if r.locked else ""),
            r.tries_per_claim,
            r.overlap_s,
            r.wall_s,
            "OK: each called exactly once, none lost" if not r.problems else "; ".join(r.problems),
        ]
        for r in report.races
    ]
    heads = ["db", "tickets", "claims/s", "per process", "locked", "claim tries/call", "overlap s", "wall s", "check"]
    print(table(heads, rows))
    print(
        "  claims/s = call-next + finish cycles per second, both processes together; locked = 'database is locked'"
        f" errors retried; {report.seconds:.0f} s"
    )


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.claims", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="tickets for the sequential run")
    parser.add_argument("--race", type=int, default=1000, help="waiting tickets for the two-process race")
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--drain", type=int, help="call-next + finish only this many of the N (default: all)")
    parser.add_argument("--racers", type=int, default=2, choices=(1, 2, 4, 8), help="processes in the race")
    args = parser.parse_args(argv)
    report = run(args.n, args.race, tuple(args.db.split(",")), args.drain, args.racers)
    print_report(report)
    return report


if __name__ == "__main__":
    main()
