"""How good is the wait estimate a resident sees on the ticket?

A discrete-event replay of one Monday (2026-11-23) in the packaged demo hall, driven through the
real service layer on a FrozenClock and a SQLite file: residents arrive per service following a
town-hall day, clerks call the next ticket whenever they are free, one counter leaves for a
meeting while its A/B partner covers. For every ticket the estimate printed at issue time
(`Issued.est_wait_s`) is compared with the wait that followed (called_at - issued_at), and with a
naive baseline (ahead × configured avg_service_s, not divided by counters).

    python -m bench.estimate [--seed N]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.clock import FrozenClock
from server.config import load_demo_config
from server.engine import rules
from server.engine.estimate import est_wait_s
from server.engine.model import CounterState
from server.services import counters, queue, tickets
from server.services.context import Context
from server.store.models import CounterRow, TicketRow

from .common import make_context, percentile, table

DAY = date(2026, 11, 23)  # a Monday
TZ = ZoneInfo("Asia/Shanghai")
HALL = "town"

# Hall-wide arrivals (tickets per hour) over the opening hours Mon 08:30-12:00, 13:30-17:30.
ARRIVALS: list[tuple[str, str, float]] = [
    ("08:30", "09:00", 45),
    ("09:00", "10:30", 95),  # the morning peak
    ("10:30", "12:00", 60),
    ("13:30", "14:30", 50),
    ("14:30", "16:30", 45),
    ("16:30", "17:30", 27),
]

# Share of the day's tickets per service (sums to 1).
MIX: dict[str, float] = {
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

PRIORITY_SHARE = 0.08
NO_SHOW_SHARE = 0.03
SERVICE_SIGMA = 0.6  # lognormal spread of service times (mean kept at avg_service_s)
WALK_UP_S = (15, 60)  # from being called to sitting down at the window
NO_SHOW_WAIT_S = 60  # the clerk waits, recalls once, waits again, then marks the no-show
OPEN_AT = "08:30"
AWAY_COUNTER = "w3"  # goes to a meeting; its partner w4 covers (AB岗)
AWAY_AT = "10:15"
AWAY_MINUTES = (30, 60)
BUSY_SERVICE_MIN = 40  # services with at least this many tickets get their own line


def local_seconds(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 3600 + int(m) * 60


@dataclass
class Visit:
    """One resident: what they come for and how it will go (drawn up front, so runs are reproducible)."""

    at: int
    service: str
    priority: bool
    no_show: bool
    walk_up_s: int
    service_s: int
    outcome: str
    ticket_id: str = ""
    est_wait_s: int = 0
    ahead: int = 0
    avg_s: int = 0  # the recent average the server used at issue time
    servers: int = 0  # open counters serving the service at issue time
    replay_s: float = math.nan  # diagnostic: call-next replayed forward with recent averages


@dataclass
class Desk:
    id: str
    busy: bool = False
    away: bool = False
    away_due: int | None = None
    away_for: int = 0
    held: Visit | None = None
    called_at: int = 0
    occupancy: list[int] = field(default_factory=list)  # seconds per ticket from call to free


def draw_day(rng: random.Random, avg: dict[str, int]) -> list[Visit]:
    """Residents of one day: a piecewise Poisson process, service chosen by the mix."""
    services, weights = zip(*MIX.items(), strict=True)
    visits: list[Visit] = []
    for start, end, per_hour in ARRIVALS:
        t, stop = float(local_seconds(start)), local_seconds(end)
        while True:
            t += rng.expovariate(per_hour / 3600)
            if t >= stop:
                break
            service = rng.choices(services, weights)[0]
            mean = avg[service]
            mu = math.log(mean) - SERVICE_SIGMA**2 / 2
            service_s = int(min(4 * mean, max(30, rng.lognormvariate(mu, SERVICE_SIGMA))))
            roll = rng.random()
            outcome = "incomplete" if roll < 0.08 else "consulted" if roll < 0.12 else "completed"
            visits.append(
                Visit(
                    at=int(t),
                    service=service,
                    priority=rng.random() < PRIORITY_SHARE,
                    no_show=rng.random() < NO_SHOW_SHARE,
                    walk_up_s=rng.randint(*WALK_UP_S),
                    service_s=service_s,
                    outcome=outcome,
                )
            )
    return visits


class Day:
    """The event loop: arrivals, calls, starts, finishes, no-shows, the meeting."""

    def __init__(self, ctx: Context, clock: FrozenClock, rng: random.Random, visits: list[Visit]) -> None:
        self.ctx, self.clock, self.rng = ctx, clock, rng
        self.hall = ctx.hall(HALL)
        self.midnight = datetime.combine(DAY, datetime.min.time(), TZ).astimezone(UTC)
        self.desks = {c.id: Desk(c.id) for c in self.hall.counters}
        self.by_ticket: dict[str, Visit] = {}
        self.visits = visits
        self.events: list[tuple[int, int, str, object]] = []
        self.seq = 0
        self.away_log: list[tuple[str, int, int]] = []
        self.averages: dict[str, int] | None = None  # recent averages, dropped at every finish

    def at(self, t: int, kind: str, what: object) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, what))

    def run(self) -> None:
        opening = local_seconds(OPEN_AT)
        for desk in self.desks.values():
            self.at(opening, "open", desk)
        for v in self.visits:
            self.at(v.at, "arrive", v)
        away = self.desks[AWAY_COUNTER]
        away.away_for = self.rng.randint(*AWAY_MINUTES) * 60
        self.at(local_seconds(AWAY_AT), "away", away)
        while self.events:
            t, _, kind, what = heapq.heappop(self.events)
            self.clock.set(self.midnight + timedelta(seconds=t))
            getattr(self, "on_" + kind)(t, what)

    # -- events -------------------------------------------------------------------------------

    def on_open(self, t: int, desk: Desk) -> None:
        counters.open_counter(self.ctx, desk.id, f"clerk-{desk.id}")
        self.free(t, desk)

    def on_arrive(self, t: int, v: Visit) -> None:
        issued, _ = tickets.issue_ticket(self.ctx, HALL, v.service, priority=v.priority, kiosk_id="k1")
        v.ticket_id, v.est_wait_s, v.ahead = issued.ticket.id, issued.est_wait_s, issued.ahead
        self.by_ticket[v.ticket_id] = v
        self.diagnose(t, v)
        idle = [d for d in self.desks.values() if not d.busy and not d.away]
        self.rng.shuffle(idle)
        for desk in idle:
            if self.call(t, desk):
                break

    def on_start(self, t: int, desk: Desk) -> None:
        counters.start(self.ctx, desk.id, None)
        assert desk.held is not None
        self.at(t + desk.held.service_s, "finish", desk)

    def on_finish(self, t: int, desk: Desk) -> None:
        assert desk.held is not None
        missing = ["居民户口簿"] if desk.held.outcome == "incomplete" else None
        counters.finish(self.ctx, desk.id, None, desk.held.outcome, None, missing)
        self.averages = None
        self.free(t, desk)

    def on_recall(self, t: int, desk: Desk) -> None:
        counters.recall(self.ctx, desk.id, None)
        self.at(t + NO_SHOW_WAIT_S, "no_show", desk)

    def on_no_show(self, t: int, desk: Desk) -> None:
        counters.no_show(self.ctx, desk.id, None)
        self.free(t, desk)

    def on_away(self, t: int, desk: Desk) -> None:
        desk.away_due = t
        if not desk.busy:
            self.free(t, desk)

    def on_back(self, t: int, desk: Desk) -> None:
        counters.back(self.ctx, desk.id, None)
        desk.away = False
        self.free(t, desk)

    def diagnose(self, t: int, v: Visit) -> None:
        """What the server knew at issue time, and what a forward replay of call-next would have said."""
        with self.ctx.db.read() as s:
            if self.averages is None:
                self.averages = {svc.id: queue.average_service_s(s, HALL, svc) for svc in self.hall.services}
            hall_desks = queue.desks(s, self.hall)
            streaks = {r.id: r.priority_streak for r in s.scalars(select(CounterRow))}
            waiting = queue.waiting_for(s, HALL, [svc.id for svc in self.hall.services], list(self.desks))
        v.avg_s = self.averages[v.service]
        v.servers = queue.servers_of(v.service, hall_desks)
        free_in: dict[str, float] = {}
        for d in self.desks.values():
            if d.held is not None:
                free_in[d.id] = max(30.0, self.averages[d.held.service] - (t - d.called_at))
            else:
                free_in[d.id] = 0.0
        v.replay_s = forward_estimate(
            hall_desks, free_in, streaks, waiting, v.ticket_id, self.averages, self.hall.max_priority_streak
        )

    # -- clerks ------------------------------------------------------------------------------

    def free(self, t: int, desk: Desk) -> None:
        """The clerk is free: leave for the meeting if it is time, else call the next ticket."""
        if desk.held is not None:
            desk.occupancy.append(t - desk.called_at)
        desk.busy, desk.held = False, None
        if desk.away_due is not None and t >= desk.away_due:
            desk.away_due, desk.away = None, True
            counters.away(self.ctx, desk.id, None, "meeting")
            self.away_log.append((desk.id, t, desk.away_for))
            self.at(t + desk.away_for, "back", desk)
            partner = self.desks[self.hall.counter(desk.id).partner or ""]  # type: ignore[union-attr]
            if not partner.busy and not partner.away:
                self.call(t, partner)
            return
        self.call(t, desk)

    def call(self, t: int, desk: Desk) -> bool:
        result, _ = counters.call_next(self.ctx, desk.id, None)
        if result.ticket is None:
            return False
        v = self.by_ticket[result.ticket.id]
        desk.busy, desk.held, desk.called_at = True, v, t
        if v.no_show:
            self.at(t + NO_SHOW_WAIT_S, "recall", desk)
        else:
            self.at(t + v.walk_up_s, "start", desk)
        return True


def forward_estimate(
    hall_desks: dict[str, rules.Desk],
    free_in: dict[str, float],
    streaks: dict[str, int],
    waiting: list[rules.Candidate],
    target: str,
    avg: dict[str, int],
    max_streak: int,
) -> float:
    """Seconds until `target` is called if every open counter keeps calling by the engine's own
    rules (rules.call_next, with A/B cover) and each service takes its recent average.

    A diagnostic, not the server's rule: it shows how much of the error comes from counters
    that share their time between several services.
    """
    active = {cid: free_in.get(cid, 0.0) for cid, d in hall_desks.items() if d.state is CounterState.OPEN}
    pending = list(waiting)
    streak = {cid: streaks.get(cid, 0) for cid in active}
    while active:
        cid = min(active, key=lambda c: (active[c], c))
        desk = hall_desks[cid]
        choice = rules.call_next(desk, hall_desks.get(desk.counter.partner or ""), pending, streak[cid], max_streak)
        if choice is None:
            del active[cid]  # nothing more for this counter (no later arrivals are assumed)
            continue
        if choice.ticket.id == target:
            return active[cid]
        pending.remove(choice.ticket)
        streak[cid] = rules.next_priority_streak(streak[cid], choice)
        active[cid] += avg[choice.ticket.service]
    return math.nan


@dataclass
class Errors:
    n: int
    mae: float
    median: float
    p90: float
    bias: float
    within5: float
    within10: float

    @classmethod
    def of(cls, pairs: Sequence[tuple[float, float]]) -> Errors:
        """From (estimate, actual) pairs, in seconds; figures in minutes and percent."""
        if not pairs:
            return cls(0, *([math.nan] * 6))
        err = [e - a for e, a in pairs]
        ae = [abs(x) for x in err]
        return cls(
            n=len(pairs),
            mae=statistics.fmean(ae) / 60,
            median=statistics.median(ae) / 60,
            p90=percentile(ae, 90) / 60,
            bias=statistics.fmean(err) / 60,
            within5=100 * sum(x <= 300 for x in ae) / len(ae),
            within10=100 * sum(x <= 600 for x in ae) / len(ae),
        )

    def row(self, label: str, method: str) -> list[object]:
        return [label, method, self.n, self.mae, self.median, self.p90, self.bias, self.within5, self.within10]


HEADERS = ["tickets", "estimate", "n", "MAE min", "median", "p90", "bias", "±5min %", "±10min %"]


@dataclass
class Report:
    rows: list[list[object]]
    notes: list[str]
    summary: dict[str, float]
    seconds: float


def run(seed: int = 20261123) -> Report:
    started = time.perf_counter()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as tmp:
        config = load_demo_config(Path(tmp))
        clock = FrozenClock(datetime.combine(DAY, datetime.min.time(), TZ).astimezone(UTC))
        ctx = make_context(config, f"sqlite:///{tmp}/estimate.db", clock)
        hall = ctx.hall(HALL)
        prior = {s.id: s.avg_service_s for s in hall.services}
        day = Day(ctx, clock, rng, draw_day(rng, prior))
        day.run()
        with ctx.db.read() as s:
            rows = {r.id: r for r in s.scalars(select(TicketRow).where(TicketRow.hall_id == HALL))}
        ctx.db.dispose()
    return analyse(day, rows, prior, time.perf_counter() - started)


def analyse(day: Day, rows: dict[str, TicketRow], prior: dict[str, int], seconds: float) -> Report:
    served = [v for v in day.visits if rows[v.ticket_id].called_at is not None]
    waits = {v.ticket_id: (rows[v.ticket_id].called_at - rows[v.ticket_id].issued_at).total_seconds() for v in served}

    def pairs(vs: Sequence[Visit], how: str) -> list[tuple[float, float]]:
        out = []
        for v in vs:
            if how == "server":
                est = float(v.est_wait_s)
            elif how == "naive":
                est = float(v.ahead * prior[v.service])
            elif how == "replay":
                est = v.replay_s if not math.isnan(v.replay_s) else float(v.est_wait_s)
            else:  # diagnostic: one more service slot for the residents already at the windows
                est = (v.ahead + 1) * v.avg_s / max(1, v.servers)
            out.append((est, waits[v.ticket_id]))
        return out

    table_rows: list[list[object]] = []
    table_rows.append(Errors.of(pairs(served, "server")).row("all", "hallq"))
    table_rows.append(Errors.of(pairs(served, "naive")).row("all", "naive"))
    by_service: dict[str, list[Visit]] = defaultdict(list)
    for v in served:
        by_service[v.service].append(v)
    busy = sorted((s for s, vs in by_service.items() if len(vs) >= BUSY_SERVICE_MIN), key=lambda s: -len(by_service[s]))
    for service in busy:
        table_rows.append(Errors.of(pairs(by_service[service], "server")).row(service, "hallq"))
        table_rows.append(Errors.of(pairs(by_service[service], "naive")).row(service, "naive"))
    own_window = {svc for svc in prior if all(c.services == (svc,) for c in day.hall.counters if svc in c.services)}
    groups = {
        "own window: " + ",".join(sorted(own_window)): [v for v in served if v.service in own_window],
        "shared windows": [v for v in served if v.service not in own_window],
        "ahead = 0": [v for v in served if v.ahead == 0],
        "ahead >= 1": [v for v in served if v.ahead > 0],
        "priority": [v for v in served if v.priority],
        "normal": [v for v in served if not v.priority],
    }
    for label, vs in groups.items():
        table_rows.append(Errors.of(pairs(vs, "server")).row(label, "hallq"))
    table_rows.append(Errors.of(pairs(served, "plus1")).row("all", "diag: (ahead+1)"))
    table_rows.append(Errors.of(pairs(served, "replay")).row("all", "diag: replay"))
    for service in busy:
        table_rows.append(Errors.of(pairs(by_service[service], "replay")).row(service, "diag: replay"))

    all_waits = list(waits.values())
    done = [r for r in rows.values() if r.status == "done"]
    no_shows = sum(r.status == "no_show" for r in rows.values())
    mean_service = statistics.fmean(r.service_s for r in done if r.service_s > 0)
    occupancy = [x for d in day.desks.values() for x in d.occupancy]
    server = Errors.of(pairs(served, "server"))
    naive = Errors.of(pairs(served, "naive"))
    replay = Errors.of(pairs(served, "replay"))
    by_rule = sum(v.est_wait_s == est_wait_s(v.ahead, v.avg_s, v.servers) for v in day.visits)
    learned = sum(v.avg_s != prior[v.service] for v in day.visits)
    notes = [
        f"{len(day.visits)} tickets ({sum(v.priority for v in day.visits)} priority, {no_shows} no-shows), "
        f"seed-fixed; replay took {seconds:.1f} s of real time",
        f"actual wait: mean {statistics.fmean(all_waits) / 60:.1f} min, median {statistics.median(all_waits) / 60:.1f},"
        f" p90 {percentile(all_waits, 90) / 60:.1f}, max {max(all_waits) / 60:.1f}; mean estimate"
        f" {statistics.fmean(v.est_wait_s for v in served) / 60:.1f} min"
        f" ({statistics.fmean(v.est_wait_s for v in served) / statistics.fmean(all_waits):.0%} of the mean actual)",
        f"service time recorded (start->finish) mean {mean_service:.0f} s; counter time per ticket "
        f"(call->free) mean {statistics.fmean(occupancy):.0f} s",
        f"est_wait_s = round(ahead x recent avg / open counters) for {by_rule}/{len(day.visits)} tickets; "
        f"{learned} estimates used a measured average (not the configured prior)",
        "away: " + ", ".join(f"{c} at {_hhmm(t)} for {d // 60} min" for c, t, d in day.away_log),
        "per counter busy share 08:30-17:30: "
        + ", ".join(f"{d.id} {100 * sum(d.occupancy) / (9 * 3600):.0f}%" for d in day.desks.values()),
    ]
    summary = {
        "mae_min": server.mae,
        "bias_min": server.bias,
        "within5": server.within5,
        "within10": server.within10,
        "naive_mae_min": naive.mae,
        "naive_bias_min": naive.bias,
        "replay_mae_min": replay.mae,
        "replay_bias_min": replay.bias,
        "tickets": float(len(day.visits)),
    }
    return Report(table_rows, notes, summary, seconds)


def _hhmm(t: int) -> str:
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.estimate", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--seeds", type=int, default=0, help="also replay seeds 1..N and print one line each")
    args = parser.parse_args(argv)
    report = run(args.seed)
    print("== estimate: est_wait_s at issue vs actual wait (minutes; bias = estimate - actual) ==")
    print(table(HEADERS, report.rows))
    for note in report.notes:
        print("  " + note)
    if args.seeds:
        lines = []
        for seed in range(1, args.seeds + 1):
            x = run(seed).summary
            lines.append([seed, int(x["tickets"]), x["mae_min"], x["bias_min"], x["within5"], x["within10"]])
            lines[-1] += [x["naive_mae_min"], x["naive_bias_min"], x["replay_mae_min"], x["replay_bias_min"]]
        cols = ["seed", "tickets", "MAE", "bias", "±5min %", "±10min %", "naive MAE", "bias", "replay MAE", "bias"]
        print(table(cols, lines))
    return report


if __name__ == "__main__":
    main()
