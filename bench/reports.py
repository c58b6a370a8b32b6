"""A year of a busy hall, and how long its reports take: `python -m bench.reports`.

Generates a year (2026, Monday to Friday) of the demo hall's tickets and ledger straight into the tables
with bulk inserts (COPY on PostgreSQL): about 950 tickets a day, each issued, called, started and finished
(with no-shows, recalls, transfers, cover and ratings mixed in), over 1,000,000 ledger lines, and the
matters (办件) its promised services accept, each carried to its result on time, late or not at all. Then times the
daily, monthly and yearly reports through the real service layer, first straight from the ledger and then
with the stored daily summaries (the rollups close-day writes), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from server.clock import FrozenClock
from server.config import load_demo_config
from server.engine import staff
from server.services import closing, matters, reports, scores, staff_time
from server.services.context import Context
from server.services.periods import day_bounds, parse_month
from server.store.models import LedgerRow, MatterRow, RatingRow, TicketRow

from .common import database_url, make_context, table

YEAR = 2026
TICKETS_PER_DAY = 950
ZONE = ZoneInfo("Asia/Shanghai")
CHUNK = 50_000


def working_days(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


class Generator:
    """Tickets, ledger lines and ratings of one day at a time, as plain rows."""

    def __init__(self, ctx: Context, seed: int) -> None:
        self.hall = ctx.config.halls[0]
        self.rng = random.Random(seed)
        self.line_id = 0
        self.tickets: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.ratings: list[dict[str, Any]] = []
        self.matters: list[dict[str, Any]] = []
        self.matter_seq = 0
        self.due_after: dict[tuple[date, int], timedelta] = {}  # working-day deadlines, per day and time limit
        self.serving = {s.id: [c for c in self.hall.counters if s.id in c.services] for s in self.hall.services}

    def line(
        self, at: datetime, kind: str, ticket: str | None = None, counter: str | None = None, **detail: Any
    ) -> None:
        self.line_id += 1
        self.lines.append(
            {
                "id": self.line_id,
                "hall_id": self.hall.id,
                "at": at,
                "kind": kind,
                "ticket_id": ticket,
                "counter_id": counter,
                "clerk": "clerk" if counter else None,
                "on_behalf_of": None,
                "detail": detail or None,
            }
        )

    def day(self, day: date) -> None:
        rng, hall = self.rng, self.hall
        opening = datetime(day.year, day.month, day.day, 8, 30, tzinfo=ZONE).astimezone(UTC)
        closing_at = opening + timedelta(hours=9)
        for c in hall.counters:  # each window's own clerk signs in before opening and out after closing
            self.line(opening, "signed_in", counter=c.id)
            self.lines[-1]["clerk"] = f"clerk-{c.id}"
            self.line(opening, "counter_opened", counter=c.id, services=list(c.services), partner=c.partner)
        away = rng.choice([c for c in hall.counters if c.partner])
        gone = opening + timedelta(minutes=rng.randint(60, 300))
        self.line(gone, "away", counter=away.id, covered_by=away.partner, reason="会议")
        self.line(gone + timedelta(minutes=rng.randint(10, 60)), "back", counter=away.id)
        seqs: dict[str, int] = {}
        services = [s for s in hall.services if self.serving[s.id]]
        for i in range(TICKETS_PER_DAY):
            svc = rng.choice(services)
            seqs[svc.id] = seqs.get(svc.id, 0) + 1
            issued = opening + timedelta(seconds=rng.randint(0, 8 * 3600))
            tid = hashlib.md5(f"{day}{i}".encode(), usedforsecurity=False).hexdigest()  # noqa: S324
            counter = rng.choice(self.serving[svc.id]).id
            wait = int(rng.expovariate(1 / 900))
            called = issued + timedelta(seconds=wait)
            row: dict[str, Any] = {
                "id": tid,
                "hall_id": hall.id,
                "service_id": svc.id,
                "issued_service": svc.id,
                "day": day.isoformat(),
                "seq": seqs[svc.id],
                "number": f"{svc.prefix}{seqs[svc.id]:03d}",
                "priority": rng.random() < 0.08,
                "token_hash": hashlib.sha256(tid.encode()).hexdigest(),
                "kiosk_id": None,
                "issued_at": issued,
                "order_at": issued,
                "recalls": 0,
                "transfers": 0,
                "wait_s": wait,
                "service_s": 0,
                "owner_counter": counter,
                "served_by": counter,
                "counter_id": counter,
                "clerk": "clerk",
            }
            self.line(issued, "issued", tid, service=svc.id)
            if called >= closing_at:  # never reached before closing: closed out
                row.update(status="closed_out", finished_at=closing_at, owner_counter=None, served_by=None,
                           counter_id=None, wait_s=int((closing_at - issued).total_seconds()))  # fmt: skip
                self.line(closing_at, "closed_out", tid, reason="day_closed", status="waiting", service=svc.id)
                self.tickets.append(row)
                continue
            row["called_at"] = called
            self.line(called, "called", tid, counter, service=svc.id, reason="fifo")
            roll = rng.random()
            if roll < 0.03:
                self.line(called + timedelta(seconds=60), "recalled", tid, counter, count=1)
                done = called + timedelta(seconds=120)
                self.line(done, "no_show", tid, counter, recalls=1)
                row.update(status="no_show", finished_at=done, recalls=1)
                self.tickets.append(row)
                continue
            if roll < 0.05:  # handed to another service (首问负责)
                other = rng.choice(services)
                moved = called + timedelta(seconds=90)
                self.line(moved, "transferred", tid, counter, from_service=svc.id, to_service=other.id)
                counter = rng.choice(self.serving[other.id]).id
                called = moved + timedelta(seconds=int(rng.expovariate(1 / 300)))
                self.line(called, "called", tid, counter, service=other.id)
                row.update(service_id=other.id, transfers=1, served_by=counter, counter_id=counter, called_at=called)
            started = called + timedelta(seconds=rng.randint(15, 60))
            service_s = max(30, int(rng.expovariate(1 / svc.avg_service_s)))
            finished = started + timedelta(seconds=service_s)
            accepted = "accepted" if svc.kind.value == "promised" else "completed"  # 受理 opens a matter
            outcome = rng.choices([accepted, "incomplete", "consulted"], [85, 8, 7])[0]
            self.line(started, "started", tid, counter)
            self.line(finished, "finished", tid, counter, outcome=outcome)
            if outcome == "accepted":
                self.matter(tid, svc, counter, finished)
            row.update(status="done", started_at=started, finished_at=finished, service_s=service_s, outcome=outcome)
            if outcome == "incomplete":
                row["missing"] = ["居民户口簿"]
            self.tickets.append(row)
            if rng.random() < 0.3:
                level = rng.choices([5, 4, 3, 2, 1], [70, 18, 7, 3, 2])[0]
                rated = finished + timedelta(minutes=5)
                self.ratings.append({"id": tid, "ticket_id": tid, "hall_id": hall.id, "level": level, "at": rated,
                                     "counter_id": counter, "clerk": "clerk"})  # fmt: skip
                self.line(rated, "rated", tid, counter, level=level)
        for c in hall.counters:
            self.line(closing_at, "counter_closed", counter=c.id)
            self.line(closing_at, "signed_out", counter=c.id)
            self.lines[-1]["clerk"] = f"clerk-{c.id}"

    def matter(self, tid: str, svc: Any, counter: str, accepted: datetime) -> None:
        """A promised matter accepted at `counter`: 88% ready by its due date, 6% late, 2% rejected, the rest
        never ready (overdue when the period is over); picked up a few days after its result."""
        rng, hall = self.rng, self.hall
        self.matter_seq += 1
        mid, number = tid[:16], f"BJ{YEAR}{self.matter_seq:06d}"
        key = (accepted.date(), svc.time_limit_days)
        if key not in self.due_after:
            self.due_after[key] = hall.deadline(accepted, svc.time_limit_days) - accepted
        due = accepted + self.due_after[key]
        row: dict[str, Any] = {
            "id": mid, "hall_id": hall.id, "number": number, "service_id": svc.id, "ticket_id": tid,
            "status": "accepted", "owner": "clerk", "owner_counter": counter, "proxy": False, "home_visit": False,
            "accepted_at": accepted, "due_at": due, "result_ready_at": None, "closed_at": None, **MATTER_DEFAULTS,
        }  # fmt: skip
        self.matters.append(row)
        self.line(accepted, "matter_accepted", tid, counter, matter=mid, number=number, note=None)
        roll = rng.random()
        progress = accepted + (due - accepted) * rng.uniform(0.05, 0.3)
        if progress >= BENCH_NOW:
            return
        row["status"] = "in_progress"
        self.line(progress, "matter_in_progress", tid, counter, matter=mid, number=number, note=None)
        if roll < 0.02:
            rejected = progress + timedelta(days=1)
            if rejected < BENCH_NOW:
                row.update(status="rejected", closed_at=rejected, reason="不符合办理条件")
                self.line(rejected, "matter_rejected", tid, counter, matter=mid, number=number, note="不符合办理条件")
            return
        if roll < 0.04:
            return  # never ready: overdue once its due date passes
        ready = progress + (due - progress) * rng.uniform(0.2, 0.99)
        if roll < 0.10:
            ready = due + timedelta(days=rng.randint(1, 10))
        if ready >= BENCH_NOW:
            return
        row.update(status="result_ready", result_ready_at=ready)
        self.line(ready, "matter_result_ready", tid, counter, matter=mid, number=number, note=None)
        picked = ready + timedelta(days=rng.randint(1, 5))
        if picked < BENCH_NOW:
            row.update(status="picked_up", closed_at=picked)
            self.line(picked, "matter_picked_up", tid, counter, matter=mid, number=number, note=None)

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        out = (self.tickets, self.lines, self.ratings, self.matters)
        self.tickets, self.lines, self.ratings, self.matters = [], [], [], []
        return out


BENCH_NOW = datetime(YEAR + 1, 1, 2, tzinfo=UTC)  # the frozen clock the reports are read at
MATTER_DEFAULTS = {"applicant_name": None, "applicant_phone": None, "applicant_id_hash": None,
                   "applicant_id_masked": None, "note": None, "reason": None, "result_level": None,
                   "result_comment": None, "result_rated_at": None, "pickup_ticket": None}  # fmt: skip
TICKET_DEFAULTS = {"called_at": None, "started_at": None, "finished_at": None, "waiting_since": None,
                   "serving_since": None, "target_counter": None, "on_behalf_of": None, "outcome": None,
                   "note": None, "missing": None}  # fmt: skip


def load(
    ctx: Context, kind: str, days: list[date], only_matters: bool = False, no_matters: bool = False
) -> tuple[int, int, int, float]:
    """Generate and insert the year; returns (tickets, ledger lines, matters, seconds). `only_matters` keeps
    only the matters and their ledger lines (the same year, drawn alike): the quick 及时办结率 run;
    `no_matters` leaves them out (the staff-time run)."""
    gen = Generator(ctx, seed=2026)
    started = time.perf_counter()
    n_tickets = n_lines = n_matters = 0
    for i, day in enumerate(days):
        gen.day(day)
        if len(gen.lines) >= CHUNK or i == len(days) - 1:
            tickets, lines, ratings, opened = gen.take()
            if only_matters:
                tickets, ratings = [], []
                lines = [x for x in lines if x["kind"].startswith("matter_")]
            if no_matters:
                opened = []
                lines = [x for x in lines if not x["kind"].startswith("matter_")]
            tickets = [{**TICKET_DEFAULTS, **t} for t in tickets]
            n_tickets += len(tickets)
            n_lines += len(lines)
            n_matters += len(opened)
            if kind == "postgres":
                _copy(ctx, "tickets", tickets)
                _copy(ctx, "ledger", lines)
                _copy(ctx, "ratings", [{**r, "comment": None} for r in ratings])
                _copy(ctx, "matters", opened)
            else:
                with ctx.db.engine.begin() as conn:
                    if tickets:
                        conn.execute(insert(TicketRow), tickets)
                    conn.execute(insert(LedgerRow), lines)
                    if ratings:
                        conn.execute(insert(RatingRow), ratings)
                    if opened:
                        conn.execute(insert(MatterRow), opened)
    if kind == "postgres":
        with ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('ledger', 'id'), (SELECT max(id) FROM ledger))")
            conn.exec_driver_sql("ANALYZE")
    else:
        with ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return n_tickets, n_lines, n_matters, time.perf_counter() - started


def _copy(ctx: Context, name: str, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY FROM a CSV buffer: the fast bulk path."""
    if not rows:
        return
    columns = list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([_pg(row[c]) for c in columns])
    buf.seek(0)
    raw = ctx.db.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.copy_expert(f"COPY {name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)
        raw.commit()
    finally:
        raw.close()


def _pg(value: Any) -> Any:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def timed(fn: Any, *args: Any, repeat: int = 3) -> float:
    """Best of `repeat` runs, in seconds."""
    return timed_cpu(fn, *args, repeat=repeat)[0]


def timed_cpu(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, float]:
    """Best of `repeat` runs: wall seconds, and this process's CPU seconds (not the database server's)."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn(*args)
        best, best_cpu = min(best, time.perf_counter() - started), min(best_cpu, time.process_time() - cpu)
    return best, best_cpu


def matter_figures(ctx: Context, hall_id: str, first: date, last: date) -> tuple[float, float, str]:
    """The month's 及时办结率 (matters accepted in it) and its overdue_matter lapses (matters due in it), in
    ms, as the reports read them; and what was found."""
    hall = ctx.hall(hall_id)
    start, end = hall.day_bounds(first)[0], hall.day_bounds(last)[1]
    now = ctx.clock.now()
    out: dict[str, Any] = {}

    def rate() -> None:
        with ctx.db.read() as s:
            out["rate"] = matters.figures(s, hall, start, end, now)

    def lapses() -> None:
        with ctx.db.read() as s:
            out["lapses"] = list(scores.late_matters(s, hall, start, end, now))

    rate_s, lapses_s = timed(rate), timed(lapses)
    got = out["rate"]
    found = f"{got['received']:,} accepted, rate {got['rate']}, {len(out['lapses'])} late or overdue"
    return rate_s * 1000, lapses_s * 1000, found


def staff_reference(ctx: Context, hall_id: str, first: date, last: date) -> dict[str, Any]:
    """Staff time as it was computed before (the "before" figure, and the check of the figures): every line of
    the period as an ORM object, each counter's state before it by two queries, engine.staff's replay."""
    hall = ctx.hall(hall_id)
    start, end = day_bounds(hall, first, last)
    end = max(start, min(end, ctx.clock.now()))

    def last_line(s: Any, counter: str, kinds: Any) -> LedgerRow | None:
        return s.scalars(  # type: ignore[no-any-return]
            select(LedgerRow)
            .where(LedgerRow.hall_id == hall.id, LedgerRow.counter_id == counter,
                   LedgerRow.kind.in_(sorted(kinds)), LedgerRow.at < start)
            .order_by(LedgerRow.id.desc()).limit(1)
        ).first()  # fmt: skip

    with ctx.db.read() as s:
        before = staff.Start()
        for counter in hall.counters:
            state = last_line(s, counter.id, staff.STATES)
            if state is not None:
                before.states[counter.id] = staff.STATES[state.kind]
                if state.kind == "away":
                    before.away[counter.id] = (state.clerk, str((state.detail or {}).get("reason") or ""))
            sign = last_line(s, counter.id, staff.SIGNS)
            if sign is not None and sign.kind == "signed_in" and sign.clerk:
                before.clerks[counter.id] = sign.clerk
        rows = s.scalars(
            select(LedgerRow)
            .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(sorted(staff.KINDS)),
                   LedgerRow.at >= start, LedgerRow.at < end)
            .order_by(LedgerRow.id)
        ).all()  # fmt: skip
        facts = [staff.Fact(r.at, r.kind, r.ticket_id, r.counter_id, r.clerk, r.detail or {}) for r in rows]
    return staff.staff_time(hall, facts, start, end, before).body()


def staff_rows(ctx: Context, kind: str, hall: str, first: date, last: date, days: list[date]) -> list[list[object]]:
    """`--only-staff`: the month's staff time now and before (the same figures, checked), then the month's days
    closed and the manager's monthly report from the stored summaries."""
    out: dict[str, Any] = {}

    def fast() -> None:
        out["fast"] = staff_time.report(ctx, hall, first, last)

    def slow() -> None:
        out["slow"] = staff_reference(ctx, hall, first, last)

    (fast_s, fast_cpu), (slow_s, slow_cpu) = timed_cpu(fast, repeat=5), timed_cpu(slow, repeat=1)
    if out["fast"] != out["slow"]:
        raise SystemExit(f"{kind}: staff time differs from the reference replay")
    clerks = len(out["fast"]["clerks"])

    def ms(wall: float, cpu: float) -> str:
        return f"{wall * 1000:.0f} ms (CPU {cpu * 1000:.0f})"

    rows: list[list[object]] = [
        [
            kind,
            f"the month's staff time before: ORM rows + engine.staff replay ({clerks} clerks)",
            ms(slow_s, slow_cpu),
        ],
        [kind, "**the month's staff time now: one ordered pass (figures identical)**", ms(fast_s, fast_cpu)],
    ]
    for d in days:
        if first <= d <= last:
            closing.close_day(ctx, hall, d, who="bench")
    scores = ctx.config.settings.scores
    warm, warm_cpu = timed_cpu(reports.monthly, ctx, hall, first, last, scores, repeat=5)
    rows.append([kind, "**the month's report (its days closed), staff time included**", ms(warm, warm_cpu)])
    return rows


def run(kinds: list[str], months: int = 12, only_matters: bool = False, only_staff: bool = False) -> list[list[object]]:
    rows: list[list[object]] = []
    days = [d for d in working_days(YEAR) if d.month <= months]
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp, database_url(kind, Path(tmp)) as url:
            config = load_demo_config(Path(tmp))
            ctx = make_context(config, url, FrozenClock(BENCH_NOW))
            hall = ctx.config.halls[0].id
            n_tickets, n_lines, n_matters, secs = load(ctx, kind, days, only_matters, no_matters=only_staff)
            what = f"generate + insert {n_tickets:,} tickets, {n_lines:,} ledger lines, {n_matters:,} matters"
            rows.append([kind, what, f"{secs:.1f} s"])
            day = date(YEAR, min(months, 6), 10)
            first, last = parse_month(day.isoformat()[:7])
            year_first, year_last = date(YEAR, 1, 1), date(YEAR, 12, 31)
            if only_staff:
                rows.extend(staff_rows(ctx, kind, hall, first, last, days))
                ctx.db.dispose()
                continue
            rate_ms, lapses_ms, found = matter_figures(ctx, hall, first, last)
            rows.append([kind, f"及时办结率 of the month ({found}), by service and window", f"{rate_ms:.0f} ms"])
            rows.append([kind, "the month's overdue_matter deductions, with their ledger lines", f"{lapses_ms:.0f} ms"])
            if only_matters:
                ctx.db.dispose()
                continue
            scores = ctx.config.settings.scores
            rows.append(
                [kind, "daily report (from the ledger)", f"{timed(reports.daily, ctx, hall, day) * 1000:.0f} ms"]
            )
            cold = timed(reports.monthly, ctx, hall, first, last, scores, repeat=1)
            rows.append([kind, "monthly report, no stored summaries", f"{cold * 1000:.0f} ms"])
            started = time.perf_counter()
            for d in days:
                closing.close_day(ctx, hall, d, who="bench")
            rollup = time.perf_counter() - started
            rows.append([kind, f"close-day for {len(days)} days (stores each summary)", f"{rollup:.1f} s"])
            warm = timed(reports.monthly, ctx, hall, first, last, scores)
            rows.append([kind, "monthly report, with stored summaries", f"{warm * 1000:.0f} ms"])
            year = timed(reports.period, ctx, ctx.hall(hall), year_first, year_last, True, repeat=1)
            rows.append([kind, "yearly figures (range report), with stored summaries", f"{year * 1000:.0f} ms"])
            ctx.db.dispose()
    return rows


def main(argv: list[str] | None = None) -> list[list[object]]:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (default)")
    parser.add_argument("--months", type=int, default=12, help="generate only the first N months (quick runs)")
    parser.add_argument(
        "--only-matters",
        action="store_true",
        help="insert only the year's matters and their ledger lines, and time 及时办结率 (minutes)",
    )
    parser.add_argument(
        "--only-staff",
        action="store_true",
        help="insert tickets and ledger (no matters), time the month's staff time now and as it was, then the"
        " month's report with its days closed",
    )
    args = parser.parse_args(argv)
    rows = run([k for k in args.db.split(",") if k], args.months, args.only_matters, args.only_staff)
    print(table(["db", "what", "time"], rows))
    return rows


if __name__ == "__main__":
    main()
