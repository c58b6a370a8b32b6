"""Staff time (issue 24) as the reports compute it (one ordered pass, server/services/staff_time.py) against the
straightforward reference: every ledger line of the period read through the ORM, each counter's state before it
found line by line, and engine.staff.staff_time's replay, which re-examines every counter and every waiting
ticket at every line.

The day is generated (seeded): clerks signing in and out and moving between windows, counters opening (some
with a changed work profile), going away with reasons and coming back while their partners cover, tickets
issued to services, called, started, parked and resumed, transferred to services or to named counters,
finished, missed or closed out; times with microseconds, a few lines out of time order, lines of the day before
(a counter left open, one left away, a clerk left signed in) and another hall's lines that must not count.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from support.inproc import Hall, hall_app

from server.engine import staff
from server.services.periods import day_bounds
from server.store.models import LedgerRow

D = date(2026, 3, 2)
ZONE = ZoneInfo("Asia/Shanghai")
COUNTERS = ["w1", "w2", "w3", "w4"]
SERVICES = ["id-card", "social", "water", "closed"]
CLERKS = ["li", "wang", "zhao", "qian", "sun"]
REASONS = ["午休", "会议", "培训", ""]


def generate(seed: int) -> list[dict[str, Any]]:
    """Ledger lines of the day before (a little) and of the day (about 2,000), in ledger (id) order."""
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = []

    def line(at: datetime, kind: str, ticket: str | None = None, counter: str | None = None,
             clerk: str | None = None, hall: str = "town", **detail: Any) -> None:  # fmt: skip
        row = {"id": len(lines) + 1, "hall_id": hall, "at": at, "kind": kind, "ticket_id": ticket}
        lines.append({**row, "counter_id": counter, "clerk": clerk, "on_behalf_of": None, "detail": detail or None})

    eve = datetime(2026, 3, 1, 16, 0, tzinfo=ZONE)
    line(eve, "signed_in", counter="w3", clerk="zhao")
    line(eve, "counter_opened", counter="w3", clerk="zhao")
    line(eve, "counter_opened", counter="w4", clerk="qian")
    line(eve + timedelta(minutes=5), "away", counter="w4", clerk="qian", reason="会议")
    line(eve + timedelta(minutes=6), "issued", "y1", service="water")  # waits overnight: not in the day's replay
    now = datetime.combine(D, datetime.min.time(), ZONE) + timedelta(hours=8, minutes=30)
    tickets: list[str] = []
    held: dict[str, str] = {}
    clerk_at: dict[str, str] = {"w3": "zhao"}
    for i in range(2000):
        now += timedelta(seconds=rng.randint(0, 40), microseconds=rng.randint(0, 999_999))
        at = now - timedelta(seconds=rng.randint(1, 90)) if rng.random() < 0.03 else now  # out of time order
        counter = rng.choice(COUNTERS)
        clerk = clerk_at.get(counter) or (rng.choice(CLERKS) if rng.random() < 0.2 else None)
        roll = rng.random()
        if roll < 0.30:
            tid = f"t{i}"
            tickets.append(tid)
            line(at, "issued", tid, service=rng.choice(SERVICES))
        elif roll < 0.50 and tickets:
            tid = rng.choice(tickets)
            kind = rng.choice(["called", "called", "resumed"])
            held[counter] = tid
            line(at, kind, tid, counter, clerk, service=rng.choice(SERVICES))
        elif roll < 0.60 and held:
            counter = rng.choice(sorted(held))
            line(at, "started", held[counter], counter, clerk_at.get(counter) or rng.choice([None, *CLERKS]))
        elif roll < 0.72 and held:
            counter = rng.choice(sorted(held))
            kind = rng.choice(["finished", "finished", "finished", "no_show", "parked", "closed_out"])
            line(at, kind, held.pop(counter), counter, clerk_at.get(counter))
        elif roll < 0.76 and tickets:
            tid = rng.choice(tickets)
            if rng.random() < 0.5:
                line(at, "transferred", tid, counter, clerk, from_service="social", to_counter=rng.choice(COUNTERS))
            else:
                line(at, "transferred", tid, counter, clerk, from_service="water", to_service=rng.choice(SERVICES))
        elif roll < 0.78 and tickets:
            line(at, rng.choice(["reactivated", "cancelled", "expired", "recalled", "rated"]), rng.choice(tickets))
        elif roll < 0.83:
            kind = rng.choice(["counter_opened", "counter_opened", "counter_closed", "away", "back", "back"])
            if kind == "away":
                line(at, kind, None, counter, clerk, reason=rng.choice(REASONS), covered_by="w?")
            elif kind == "counter_opened" and rng.random() < 0.3:
                services = rng.sample(SERVICES[:3], rng.randint(1, 2))
                line(at, kind, None, counter, clerk, services=services, partner=rng.choice([*COUNTERS, None]))
            else:
                line(at, kind, None, counter, clerk)
        elif roll < 0.88:
            who = rng.choice(CLERKS)
            if rng.random() < 0.55:
                clerk_at[counter] = who
                line(at, "signed_in", None, counter, who)
            else:
                if rng.random() < 0.7 and counter in clerk_at:
                    who = clerk_at.pop(counter)
                line(at, "signed_out", None, counter, who)
        elif roll < 0.90:
            line(at, "called", f"x{i}", "gone", "li")  # a counter no longer in the hall
            line(at, "started", f"x{i}", "gone", "li")
        else:
            line(at, rng.choice(["issued", "counter_opened", "signed_in"]), f"e{i}", "e1", "li", hall="east",
                 service="id-card")  # fmt: skip
    return lines


def reference(h: Hall, first: date, last: date) -> dict[str, Any]:
    """The straightforward computation: ORM rows, the state before line by line, engine.staff's replay."""
    hall = h.ctx.hall("town")
    start, end = day_bounds(hall, first, last)
    end = max(start, min(end, h.ctx.clock.now()))

    def last_line(s: Any, counter: str, kinds: Any) -> LedgerRow | None:
        return s.scalars(
            select(LedgerRow)
            .where(LedgerRow.hall_id == "town", LedgerRow.counter_id == counter,
                   LedgerRow.kind.in_(sorted(kinds)), LedgerRow.at < start)
            .order_by(LedgerRow.id.desc()).limit(1)
        ).first()  # fmt: skip

    with h.ctx.db.read() as s:
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
            .where(
                LedgerRow.hall_id == "town",
                LedgerRow.kind.in_(sorted(staff.KINDS)),
                LedgerRow.at >= start,
                LedgerRow.at < end,
            )  # fmt: skip
            .order_by(LedgerRow.id)
        ).all()
        facts = [staff.Fact(r.at, r.kind, r.ticket_id, r.counter_id, r.clerk, r.detail or {}) for r in rows]
    return staff.staff_time(hall, facts, start, end, before).body()


@pytest.fixture(params=["sqlite", "postgres"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with hall_app(tmp_path, "2026-03-03 09:00", kind=request.param) as h:
        yield h


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_pass_gives_the_reference_figures_on_a_generated_day(hall: Hall, seed: int) -> None:
    lines = generate(seed)
    with hall.ctx.db.engine.begin() as conn:
        conn.execute(insert(LedgerRow), [{**x, "at": x["at"].astimezone(UTC)} for x in lines])
    for clock, path in [
        ("2026-03-03 09:00", f"/api/v1/halls/town/reports/monthly?month={D.isoformat()[:7]}"),  # the whole day
        ("2026-03-02 11:17:31", f"/api/v1/halls/town/reports/monthly?month={D.isoformat()[:7]}"),  # up to now
    ]:
        hall.at(clock)
        got = hall.json(path)["staff"]
        want = reference(hall, D.replace(day=1), D.replace(day=31))
        assert got["counters"] == want["counters"], (seed, clock)
        assert got["clerks"] == want["clerks"], (seed, clock)
    # the figures compared are not empty: every kind of time occurred on this day
    counters = {row["counter"]: row for row in got["counters"]}
    assert set(counters) >= set(COUNTERS)
    for key in ("signed_in_s", "open_s", "away_s", "idle_empty_s", "idle_waiting_s", "calls_started"):
        assert sum(row[key] for row in counters.values()) > 0, key
    assert len({r for row in counters.values() for r in row["away_by_reason"]}) >= 2
    assert {row["clerk"] for row in got["clerks"]} >= {"li", "wang"}
