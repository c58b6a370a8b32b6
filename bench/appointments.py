"""Appointments (PROTOCOL v1.2): is a slot's last place given once across processes, and are slots fast?

(a) 1,000 bookings by 1,000 different people race for 100 places (10 slots × 10 public places) through two OS
    processes (multiprocessing, spawn) on one PostgreSQL database, 500 each, calling the booking use case;
    afterwards: exactly 100 booked, none over, the slot counters equal to the rows.
(b) `slots` of 20 appointment services, each over 31 days, with some places taken: p50/p99 of one answer.

    python -m bench.appointments [--bookings 1000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from stdnum.cn import ric

from server.clock import FrozenClock
from server.config import Config, load_config
from server.engine.errors import HallError
from server.services import appointments
from server.services.context import Context
from server.store.models import AppointmentRow, AppointmentSlotRow

from .common import make_context, percentile, pg_schema, table

HALL = "bench"
NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 in the hall
SERVICES = tuple(f"s{i:02d}" for i in range(20))
HALL_TOML = f"""
[server]
log_level = "WARNING"

[[hall]]
id = "{HALL}"
name = "压测大厅"
timezone = "Asia/Shanghai"
hours = "always"
{
    "".join(
        f'''
[[hall.service]]
id = "{s}"
name = "事项{s}"
prefix = "{chr(ord("A") + i // 5)}{chr(ord("A") + i % 5)}"

[hall.service.appointments]
public_places = 10
staff_places = 2
max_days = 25
per_day = 5
per_week = 10
per_month = 40
'''
        for i, s in enumerate(SERVICES)
    )
}
[[hall.counter]]
id = "c1"
number = 1
services = {list(SERVICES)!r}
"""


def bench_config(folder: Path) -> Config:
    path = folder / "hall.toml"
    path.write_text(HALL_TOML, encoding="utf-8")
    return load_config(path, data_dir=folder)


def person(i: int) -> tuple[str, str]:
    first17 = f"1101051990{1 + (i // 28) % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0"), f"139{i:08d}"


def slot_starts(ctx: Context) -> list[str]:
    tomorrow = date(2026, 12, 8)
    found = appointments.slots(ctx, HALL, SERVICES[0], tomorrow, tomorrow, staff=False)
    return [s["start"] for s in found[:10]]


def _racer(args: tuple[str, str, list[str], range]) -> dict[str, int]:
    folder, url, starts, people = args
    config = bench_config(Path(folder))
    ctx = make_context(config, url, FrozenClock(NOW))
    out: dict[str, int] = {}
    for i in people:
        id_number, phone = person(i)
        try:
            appointments.book(ctx, HALL, SERVICES[0], starts[i % len(starts)], f"居民{i}", phone, id_number, "")
            out["booked"] = out.get("booked", 0) + 1
        except HallError as e:
            out[e.code] = out.get(e.code, 0) + 1
    ctx.db.dispose()
    return out


def race(folder: Path, url: str, bookings: int) -> dict[str, Any]:
    ctx = make_context(bench_config(folder), url, FrozenClock(NOW))
    starts = slot_starts(ctx)
    half = bookings // 2
    jobs = [(str(folder), url, starts, range(0, half)), (str(folder), url, starts, range(half, bookings))]
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(2) as pool:
        results = pool.map(_racer, jobs)
    wall = time.perf_counter() - t0
    merged: dict[str, int] = {}
    for r in results:
        for k, v in r.items():
            merged[k] = merged.get(k, 0) + v
    with ctx.db.read() as s:
        rows = s.scalar(select(func.count()).select_from(AppointmentRow))
        taken = s.scalar(select(func.sum(AppointmentSlotRow.public_taken)))
        over = s.scalar(
            select(func.count()).select_from(AppointmentSlotRow).where(AppointmentSlotRow.public_taken > 10)
        )
    ctx.db.dispose()
    return {"answers": merged, "rows": rows, "taken": taken, "over": over, "wall_s": wall}


def slots_latency(folder: Path, url: str, rounds: int) -> tuple[float, float, int]:
    ctx = make_context(bench_config(folder), url, FrozenClock(NOW))
    starts = slot_starts(ctx)
    for i, start in enumerate(starts):  # some places taken, in several services
        for svc in SERVICES[:5]:
            id_number, phone = person(5000 + i * 10 + SERVICES.index(svc))
            appointments.book(ctx, HALL, svc, start, "居民", phone, id_number, "")
    first = NOW.date()
    times: list[float] = []
    count = 0
    for _ in range(rounds):
        for svc in SERVICES:
            a = time.perf_counter()
            found = appointments.slots(ctx, HALL, svc, first, first + timedelta(days=30), staff=False)
            times.append(time.perf_counter() - a)
            count = len(found)
    ctx.db.dispose()
    return percentile(times, 50) * 1000, percentile(times, 99) * 1000, count


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.appointments", description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, pg_schema() as url:
        result = race(Path(tmp), url, args.bookings)
    with tempfile.TemporaryDirectory() as tmp, pg_schema() as url:
        p50, p99, count = slots_latency(Path(tmp), url, args.rounds)
    print(table(
        ["scenario", "figure", "value"],
        [
            ["race (2 processes, PostgreSQL)", "bookings tried", args.bookings],
            ["race (2 processes, PostgreSQL)", "answers", result["answers"]],
            ["race (2 processes, PostgreSQL)", "rows booked / places taken", f"{result['rows']} / {result['taken']}"],
            ["race (2 processes, PostgreSQL)", "slots over their places", result["over"]],
            ["race (2 processes, PostgreSQL)", "wall time (s)", f"{result['wall_s']:.1f}"],
            ["slots, 31 days × 20 services", "slots per answer", count],
            ["slots, 31 days × 20 services", "p50 / p99 (ms)", f"{p50:.1f} / {p99:.1f}"],
        ],
    ))  # fmt: skip
    assert result["rows"] == result["taken"] == 100 and result["over"] == 0, result
    assert p99 < 50, f"slots p99 {p99:.1f} ms"
    return {"race": result, "slots_p50_ms": p50, "slots_p99_ms": p99}


if __name__ == "__main__":
    main()
