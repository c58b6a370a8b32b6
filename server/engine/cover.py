"""不得空岗 in figures: when a queue had residents waiting and no open window serving it.

The ledger says everything needed: when tickets joined a queue (`issued`, `transferred`) and left it
(`called`, `closed_out`), and when counters opened, closed, went away or came back (with the profile
they opened with). `uncovered` replays those lines with the same `served_now` rule the pages show, so
the report's figure counts every cause alike: a window closed, away without cover, or never opened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Counter, CounterState, Hall
from .rules import Desk, served_now

QueueKey = tuple[str, str]  # ("service", service id) or ("counter", counter id): a ticket sent to one window

JOINS = frozenset({"issued", "transferred", "reactivated"})  # reactivated: waits again (PROTOCOL v1.2)
LEAVES = frozenset({"called", "closed_out", "cancelled", "no_show", "finished", "parked"})  # parked: 挂起
STATES = {
    "counter_opened": CounterState.OPEN,
    "counter_closed": CounterState.CLOSED,
    "away": CounterState.AWAY,
    "back": CounterState.OPEN,
}
KINDS = JOINS | LEAVES | frozenset(STATES)  # the ledger kinds worth reading for `uncovered`


@dataclass(frozen=True)
class Fact:
    """One ledger line as the replay reads it (LedgerRow's at, kind, ticket_id, counter_id, detail)."""

    at: datetime
    kind: str
    ticket: str | None = None
    counter: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return max(0, int((self.end - self.start).total_seconds()))


@dataclass
class Snapshot:
    """The hall at one moment: each counter's state and the queue of each waiting ticket."""

    states: dict[str, CounterState] = field(default_factory=dict)
    waiting: dict[str, QueueKey] = field(default_factory=dict)
    profiles: dict[str, Counter] = field(default_factory=dict)  # counters as they last opened


@dataclass
class Uncovered:
    """Intervals, clipped to the asked window, during which residents waited and nobody served them.

    `services`: a service's queue had waiting tickets and no open counter served it (directly or by
    covering an away partner). `counters`: a window's queue went uncovered: tickets waited, unserved,
    for a service of its profile or sent to it by name (which also means the window was not open).
    """

    services: dict[str, list[Interval]] = field(default_factory=dict)
    counters: dict[str, list[Interval]] = field(default_factory=dict)
    at_end: Snapshot = field(default_factory=Snapshot)  # feed it as `before` to continue the next day


def seconds(intervals: Iterable[Interval]) -> int:
    """Total seconds of some intervals (they never overlap within one service or counter)."""
    return sum(i.seconds for i in intervals)


def uncovered(
    hall: Hall, facts: Iterable[Fact], start: datetime, end: datetime, before: Snapshot | None = None
) -> Uncovered:
    """Replay ledger facts (in ledger order) and return the uncovered intervals inside [start, end).

    `before` is the hall as it was before the first fact (default: every counter closed, nobody
    waiting, as after a hall's first start or a close-day). Facts before `start` only set the state.
    """
    state = before or Snapshot()
    profiles = {c.id: c for c in hall.counters} | state.profiles
    states = {c: state.states.get(c, CounterState.CLOSED) for c in profiles} | state.states
    waiting = dict(state.waiting)
    since: dict[QueueKey, datetime] = {}  # queue -> when it became uncovered
    out = Uncovered()

    def desks() -> dict[str, Desk]:
        return {cid: Desk(c, states.get(cid, CounterState.CLOSED)) for cid, c in profiles.items()}

    def settle(at: datetime) -> None:
        hall_desks = desks()
        now_uncovered = {
            key
            for key in set(waiting.values())
            if not (served_now(hall_desks, key[1]) if key[0] == "service" else served_now(hall_desks, "", key[1]))
        }
        for key in [k for k in since if k not in now_uncovered]:
            _close(out, profiles, key, since.pop(key), at, start, end)
        for key in now_uncovered:
            since.setdefault(key, at)

    settle(start)  # residents may already wait, unserved, in the `before` snapshot
    for fact in facts:
        _apply(fact, profiles, states, waiting)
        settle(fact.at)
    for key, began in since.items():  # still uncovered at the end
        _close(out, profiles, key, began, end, start, end)
    out.counters = {c: _merge(v) for c, v in out.counters.items()}
    out.at_end = Snapshot(dict(states), dict(waiting), dict(profiles))
    return out


def _apply(
    fact: Fact,
    profiles: dict[str, Counter],
    states: dict[str, CounterState],
    waiting: dict[str, QueueKey],
) -> None:
    d = fact.detail
    if fact.kind in ("issued", "reactivated") and fact.ticket and d.get("service"):
        waiting[fact.ticket] = ("service", str(d["service"]))
    elif fact.kind == "transferred" and fact.ticket:
        if d.get("to_counter"):
            waiting[fact.ticket] = ("counter", str(d["to_counter"]))
        else:
            waiting[fact.ticket] = ("service", str(d.get("to_service") or d.get("from_service") or ""))
    elif fact.kind in LEAVES and fact.ticket:
        waiting.pop(fact.ticket, None)
    elif fact.kind in STATES and fact.counter:
        states[fact.counter] = STATES[fact.kind]
        if fact.kind == "counter_opened" and "services" in d:
            known = profiles.get(fact.counter) or Counter(fact.counter, 0, fact.counter, ())
            profiles[fact.counter] = dataclasses.replace(
                known, services=tuple(d["services"]), partner=d.get("partner", known.partner)
            )


def _close(
    out: Uncovered,
    profiles: Mapping[str, Counter],
    key: QueueKey,
    began: datetime,
    ended: datetime,
    start: datetime,
    end: datetime,
) -> None:
    lo, hi = max(began, start), min(ended, end)
    if hi <= lo:
        return
    interval = Interval(lo, hi)
    kind, ident = key
    if kind == "service":
        out.services.setdefault(ident, []).append(interval)
        windows = [cid for cid, c in profiles.items() if ident in c.services]
    else:
        windows = [ident]
    for cid in windows:
        out.counters.setdefault(cid, []).append(interval)


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Union of overlapping intervals (a window's several queues may be uncovered at once)."""
    merged: list[Interval] = []
    for i in sorted(intervals, key=lambda i: i.start):
        if merged and i.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, i.end))
        else:
            merged.append(i)
    return merged
