"""AB岗 and 不得空岗 figures from the ledger: cover taken over, time away, and time queues had nobody.

Uncovered time is replayed day by day through the engine's rule (server/engine/cover.py); a closed
day's result is read back from its stored summary instead of replaying its ledger again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.engine import cover as rule
from server.engine.model import CounterState, Hall
from server.store.models import LedgerRow

from . import views
from .periods import day_bounds, each_day

COVER_KINDS = ("away", "back", "cover_lost", "cover_restored")


def read_lines(s: Session, hall: Hall, kinds: Iterable[str], start: datetime, end: datetime) -> list[Any]:
    """Ledger lines of some kinds in [start, end), in ledger order, as plain rows (no ORM objects: a month
    of them is read in one go)."""
    return list(
        s.execute(
            select(
                LedgerRow.id, LedgerRow.at, LedgerRow.kind, LedgerRow.ticket_id, LedgerRow.counter_id, LedgerRow.detail
            )
            .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(tuple(kinds)))
            .where(LedgerRow.at >= start, LedgerRow.at < end)
            .order_by(LedgerRow.id)
        )
    )


def cover(s: Session, hall: Hall, start: datetime, end: datetime) -> dict[str, Any]:
    """AB岗: takeovers, time away (covered) and time a window's queue had nobody (cover_lost .. cover_restored)."""
    if end <= start:
        return {"takeovers": 0, "uncovered_s": 0, "counters": []}
    lines = read_lines(s, hall, COVER_KINDS, start, end)
    away_s = _intervals(lines, "away", "back", start, end)
    uncovered_s = _intervals(lines, "cover_lost", "cover_restored", start, end)
    takeovers: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.kind == "away":
            takeovers[line.counter_id or ""] += 1
    ids = sorted(set(away_s) | set(uncovered_s) | set(takeovers))
    return {
        "takeovers": sum(takeovers.values()),
        "uncovered_s": sum(uncovered_s.values()),
        "counters": [
            {
                "counter": c,
                "takeovers": takeovers.get(c, 0),
                "away_s": away_s.get(c, 0),
                "uncovered_s": uncovered_s.get(c, 0),
            }
            for c in ids
        ],
    }


def _intervals(lines: list[Any], opens: str, closes: str, start: datetime, end: datetime) -> dict[str, int]:
    """Seconds per counter between `opens` and `closes` lines, clipped to [start, end)."""
    since: dict[str, datetime] = {}
    total: dict[str, int] = defaultdict(int)
    for line in lines:
        cid = line.counter_id or ""
        if line.kind == opens:
            since.setdefault(cid, max(line.at, start))
        elif line.kind == closes and cid in since:
            total[cid] += int((min(line.at, end) - since.pop(cid)).total_seconds())
    for cid, began in since.items():  # still open at the end of the period (or now)
        total[cid] += max(0, int((end - began).total_seconds()))
    return dict(total)


def uncovered(
    s: Session, hall: Hall, first: date, last: date, now: datetime, stored: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Time each service had people waiting and no window serving it, per service and per window."""
    services: dict[str, int] = defaultdict(int)
    counters: dict[str, int] = defaultdict(int)
    desertions: list[dict[str, Any]] = []
    intervals: list[dict[str, Any]] = []
    for day in each_day(first, last):
        kept = stored.get(day.isoformat(), {}).get("uncovered")
        found = kept if kept is not None and "desertions" in kept else uncovered_day(s, hall, day, now)
        for row in found["services"]:
            services[row["service"]] += row["uncovered_s"]
        for row in found["counters"]:
            counters[row["counter"]] += row["uncovered_s"]
        desertions += found.get("desertions", [])
        if first == last:
            intervals += found.get("intervals", [])
    return {
        "uncovered_s": sum(services.values()),
        "desertions": desertions,
        **({"intervals": intervals} if first == last else {}),
        "services": [{"service": k, "uncovered_s": v} for k, v in sorted(services.items()) if v],
        "counters": [{"counter": k, "uncovered_s": v} for k, v in sorted(counters.items()) if v],
    }


def uncovered_day(s: Session, hall: Hall, day: date, now: datetime) -> dict[str, Any]:
    """Replay one day's ledger through the engine's 不得空岗 rule (`engine.cover`), up to now for today."""
    start, end = day_bounds(hall, day, day)
    end = min(end, now)
    if end <= start:
        return {"services": [], "counters": [], "intervals": [], "desertions": []}
    lines = read_lines(s, hall, rule.KINDS, start, end)
    facts = [
        rule.Fact(line.at, line.kind, ticket=line.ticket_id, counter=line.counter_id, detail=line.detail or {})
        for line in lines
    ]
    found = rule.uncovered(hall, facts, start, end, rule.Snapshot(states=_states_at(s, hall, start)))
    return {
        "services": [{"service": k, "uncovered_s": rule.seconds(v)} for k, v in sorted(found.services.items())],
        "counters": [{"counter": k, "uncovered_s": rule.seconds(v)} for k, v in sorted(found.counters.items())],
        "intervals": [
            {"service": sid, "from": views.iso(hall, i.start), "to": views.iso(hall, i.end)}
            for sid, spans in sorted(found.services.items())
            for i in spans
        ],
        "desertions": _desertions(hall, lines, found),
    }


def _desertions(hall: Hall, lines: list[Any], found: rule.Uncovered) -> list[dict[str, Any]]:
    """A window closing or going away at the very moment one of its queues became uncovered left it so."""
    began: dict[str, set[datetime]] = {}
    for sid, spans in found.services.items():
        began[sid] = {i.start for i in spans}
    out = []
    for line in lines:
        if line.kind not in ("counter_closed", "away") or not line.counter_id:
            continue
        counter = hall.counter(line.counter_id)
        services = counter.services if counter is not None else ()
        if any(line.at in began.get(sid, ()) for sid in services):
            out.append({"counter": line.counter_id, "event": line.id})
    return out


def _states_at(s: Session, hall: Hall, start: datetime) -> dict[str, CounterState]:
    """Each counter's state at an instant, from its last state line before it."""
    kinds = tuple(rule.STATES)
    last_ids = (
        select(func.max(LedgerRow.id))
        .where(LedgerRow.hall_id == hall.id, LedgerRow.kind.in_(kinds), LedgerRow.at < start)
        .group_by(LedgerRow.counter_id)
    )
    rows = s.execute(select(LedgerRow.counter_id, LedgerRow.kind).where(LedgerRow.id.in_(last_ids)))
    return {cid: rule.STATES[kind] for cid, kind in rows if cid}
