"""Staff time from the ledger: sign-in, away periods and their reasons, idle time and call-to-desk time.

Pure arithmetic over ledger facts (engine.cover.Fact), replayed in ledger order:

- `signed_in_s`: from `signed_in` to `signed_out` (or the end) at a counter, per counter and per clerk.
- `away_s` and `away_by_reason`: from `away` to `back` (or a close, or the end), with the reason the
  `away` line gave; the clerk is the one who stepped away.
- `idle_empty_s`: the counter open, holding no ticket, and nobody waiting for it (its queue as call-next
  sees it: its services and tickets sent to it, plus an away partner's it covers).
- `idle_waiting_s`: the counter open, holding no ticket, while residents waited for it: not calling.
- `call_to_desk`: for each call (or resume) followed by `started` at the same counter, the seconds from
  the call to the start (the resident's walk to the window), counted and averaged.

Idle time goes to the counter and to the clerk signed in there at the time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Counter, CounterState, Hall
from .rules import Desk, covered_counters

STATES = {
    "counter_opened": CounterState.OPEN,
    "counter_closed": CounterState.CLOSED,
    "away": CounterState.AWAY,
    "back": CounterState.OPEN,
}
JOINS = frozenset({"issued", "transferred", "reactivated"})
LEAVES = frozenset({"called", "closed_out", "cancelled", "no_show", "finished", "parked", "expired"})
HOLDS = frozenset({"called", "resumed"})
FREES = frozenset({"finished", "no_show", "transferred", "parked", "closed_out"})
SIGNS = frozenset({"signed_in", "signed_out"})
KINDS = JOINS | LEAVES | HOLDS | FREES | SIGNS | frozenset(STATES) | {"started"}  # the lines worth reading


@dataclass(frozen=True)
class Fact:
    """One ledger line as the replay reads it (LedgerRow's at, kind, ticket_id, counter_id, clerk, detail)."""

    at: datetime
    kind: str
    ticket: str | None = None
    counter: str | None = None
    clerk: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Tally:
    """One counter's or one clerk's staff time over the period."""

    signed_in_s: int = 0
    open_s: int = 0
    away_s: int = 0
    away_by_reason: dict[str, int] = field(default_factory=dict)
    idle_empty_s: int = 0
    idle_waiting_s: int = 0
    calls_started: int = 0
    call_to_desk_sum_s: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "signed_in_s": self.signed_in_s,
            "open_s": self.open_s,
            "away_s": self.away_s,
            "away_by_reason": dict(sorted(self.away_by_reason.items())),
            "idle_empty_s": self.idle_empty_s,
            "idle_waiting_s": self.idle_waiting_s,
            "calls_started": self.calls_started,
            "avg_call_to_desk_s": round(self.call_to_desk_sum_s / self.calls_started) if self.calls_started else 0,
        }


@dataclass
class StaffTime:
    counters: dict[str, Tally] = field(default_factory=dict)
    clerks: dict[str, Tally] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The report's `staff` part: one row per counter and per clerk."""
        return {
            "counters": [{"counter": c, **t.row()} for c, t in sorted(self.counters.items())],
            "clerks": [{"clerk": c, **t.row()} for c, t in sorted(self.clerks.items())],
        }


@dataclass
class Start:
    """The hall as it was at the period's start: each counter's state, clerk and away reason."""

    states: dict[str, CounterState] = field(default_factory=dict)
    clerks: dict[str, str] = field(default_factory=dict)
    away: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # counter -> (clerk, reason)


def staff_time(
    hall: Hall, facts: Iterable[Fact], start: datetime, end: datetime, before: Start | None = None
) -> StaffTime:
    """Replay ledger facts (ledger order, all at or after `start`) and add up staff time inside [start, end)."""
    before = before or Start()
    profiles: dict[str, Counter] = {c.id: c for c in hall.counters}
    states = {c: before.states.get(c, CounterState.CLOSED) for c in profiles}
    clerk_at: dict[str, str] = dict(before.clerks)
    away_by: dict[str, tuple[str | None, str]] = dict(before.away)
    held: dict[str, str] = {}  # counter -> ticket it holds
    waiting: dict[str, tuple[str, str]] = {}  # ticket -> ("service", id) or ("counter", id)
    called: dict[str, tuple[str, datetime]] = {}  # ticket -> (counter, when it was called there)
    out = StaffTime()
    clock = start

    def tally(kind: str, key: str) -> Tally:
        group = out.counters if kind == "counter" else out.clerks
        return group.setdefault(key, Tally())

    def waits_for(cid: str) -> bool:
        desk = Desk(profiles[cid], states[cid])
        partner_id = profiles[cid].partner
        partner = Desk(profiles[partner_id], states[partner_id]) if partner_id in profiles else None
        served = set(covered_counters(Desk(desk.counter, CounterState.OPEN), partner))
        services = {s for c in served for s in profiles[c].services}
        return any((q == "service" and ident in services) or (q == "counter" and ident in served)
                   for q, ident in waiting.values())  # fmt: skip

    def advance(to: datetime) -> None:
        nonlocal clock
        to = min(max(to, start), end)
        seconds = max(0, int((to - clock).total_seconds()))
        clock = max(clock, to)
        if not seconds:
            return
        for cid in profiles:
            who = clerk_at.get(cid)
            mine = [tally("counter", cid)] + ([tally("clerk", who)] if who else [])
            for t in mine:
                t.signed_in_s += seconds if who else 0
            if states[cid] is CounterState.OPEN:
                idle = "" if cid in held else ("idle_waiting_s" if waits_for(cid) else "idle_empty_s")
                for t in mine:
                    t.open_s += seconds
                    if idle:
                        setattr(t, idle, getattr(t, idle) + seconds)
            elif states[cid] is CounterState.AWAY:
                away_clerk, reason = away_by.get(cid, (who, ""))
                for t in [tally("counter", cid)] + ([tally("clerk", away_clerk)] if away_clerk else []):
                    t.away_s += seconds
                    t.away_by_reason[reason] = t.away_by_reason.get(reason, 0) + seconds

    for fact in facts:
        advance(fact.at)
        _apply(fact, profiles, states, clerk_at, away_by, held, waiting, called, tally)
    advance(end)
    return out


def _apply(
    fact: Fact,
    profiles: dict[str, Counter],
    states: dict[str, CounterState],
    clerk_at: dict[str, str],
    away_by: dict[str, tuple[str | None, str]],
    held: dict[str, str],
    waiting: dict[str, tuple[str, str]],
    called: dict[str, tuple[str, datetime]],
    tally: Any,
) -> None:
    d: Mapping[str, Any] = fact.detail
    kind, ticket, counter = fact.kind, fact.ticket, fact.counter
    if kind in JOINS and ticket:
        if kind == "transferred" and d.get("to_counter"):
            waiting[ticket] = ("counter", str(d["to_counter"]))
        else:
            waiting[ticket] = ("service", str(d.get("to_service") or d.get("service") or d.get("from_service") or ""))
    elif kind in LEAVES and ticket:
        waiting.pop(ticket, None)
    if ticket and kind in FREES:
        for cid in [c for c, t in held.items() if t == ticket]:
            del held[cid]
        called.pop(ticket, None)
    if ticket and counter and kind in HOLDS:
        held[counter] = ticket
        called[ticket] = (counter, fact.at)
    if ticket and counter and kind == "started" and ticket in called:
        where, at = called.pop(ticket)
        if where == counter:
            seconds = max(0, int((fact.at - at).total_seconds()))
            who = fact.clerk
            for t in [tally("counter", counter)] + ([tally("clerk", who)] if who else []):
                t.calls_started += 1
                t.call_to_desk_sum_s += seconds
    if counter and counter in profiles:
        if kind in STATES:
            states[counter] = STATES[kind]
            if kind == "away":
                away_by[counter] = (fact.clerk, str(d.get("reason") or ""))
            if kind == "counter_opened" and "services" in d:
                profiles[counter] = dataclasses.replace(
                    profiles[counter],
                    services=tuple(d["services"]),
                    partner=d.get("partner", profiles[counter].partner),
                )
        elif kind == "signed_in" and fact.clerk:
            clerk_at[counter] = fact.clerk
        elif kind == "signed_out" and clerk_at.get(counter) == fact.clerk:
            del clerk_at[counter]
