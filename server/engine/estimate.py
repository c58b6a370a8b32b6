"""Estimated wait.

The simple rule: people ahead × recent average service time ÷ open counters serving it. It is
what a clerk can explain, and what a resident sees while no counter serving the queue is open.
With counters open, `forecast` runs the hall forward with the engine's own call-next order:
windows shared by several services are where the simple rule errs most (bench/estimate.py
measures both on a replayed day).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .model import CounterState
from .rules import Candidate, Desk, appointment_key, call_next, next_priority_streak

RECENT = 20  # finished services that make up the "recent average"
ENOUGH_SEEN = 5  # measured services before the recent average may go below the configured prior


def recent_average(service_seconds: Sequence[int], prior_s: int) -> int:
    """Mean of the last RECENT service times, floored by the configured prior until ENOUGH_SEEN are known.

    A handful of very short services (a resident who only asked a question) must not promise
    "0 minutes" to people with others ahead of them: until ENOUGH_SEEN services are measured the
    prior is a floor, after that the measured mean stands on its own.
    """
    recent = [s for s in service_seconds[-RECENT:] if s > 0]
    if not recent:
        return prior_s
    mean = round(sum(recent) / len(recent))
    return max(mean, prior_s) if len(recent) < ENOUGH_SEEN else mean


def queue_key(c: Candidate) -> tuple[bool, datetime, int]:
    """Sort key of one queue: priority first, then original issue time."""
    return (not c.priority, c.order_at, c.seq)


def ahead_of(ticket: Candidate, queue: Sequence[Candidate]) -> int:
    """How many waiting tickets would be called before this one.

    Within one queue (a service, or tickets transferred to one counter) priority tickets
    go first, then issue order.
    """

    mine = queue_key(ticket)
    return sum(1 for c in queue if c.id != ticket.id and queue_key(c) < mine)


def own_queue_places(waiting: Iterable[Candidate]) -> dict[str, int]:
    """Each waiting ticket's place in its own queue (a service, or one counter): `ahead_of` for all at once."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in waiting:
        groups.setdefault(("counter", c.target_counter) if c.target_counter else ("service", c.service), []).append(c)
    return {c.id: i for group in groups.values() for i, c in enumerate(sorted(group, key=queue_key))}


def est_wait_s(ahead: int, avg_service_s: int, open_counters: int) -> int:
    """Seconds until this ticket is likely called."""
    return round(ahead * avg_service_s / max(1, open_counters))


def forecast(
    desks: Mapping[str, Desk],
    waiting: Sequence[Candidate],
    free_in_s: Mapping[str, float],
    streaks: Mapping[str, int],
    avg_s: Mapping[str, int],
    max_streak: int,
    default_avg_s: int = 300,
    now: datetime | None = None,
) -> dict[str, int]:
    """Seconds until each waiting ticket is likely called (see `forecast_with_newcomers`)."""
    return forecast_with_newcomers(desks, waiting, free_in_s, streaks, avg_s, max_streak, (), default_avg_s, now)[0]


NEWCOMER_AT = datetime.max.replace(tzinfo=UTC)


def forecast_with_newcomers(
    desks: Mapping[str, Desk],
    waiting: Sequence[Candidate],
    free_in_s: Mapping[str, float],
    streaks: Mapping[str, int],
    avg_s: Mapping[str, int],
    max_streak: int,
    services: Iterable[str],
    default_avg_s: int = 300,
    now: datetime | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Seconds until each waiting ticket is likely called, and for each of `services` when a normal
    ticket taken now would be (see `run_forecast`)."""
    run = run_forecast(desks, waiting, free_in_s, streaks, avg_s, max_streak, services, default_avg_s, now)
    return run.est, run.newcomer


@dataclass(frozen=True)
class Forecast:
    """One run of the hall forward: when each ticket is called, and how many are called before it."""

    est: dict[str, int]  # waiting ticket id → seconds until likely called
    newcomer: dict[str, int]  # service → seconds until a normal ticket taken now would be called
    ahead: dict[str, int]  # waiting ticket id → people called before it at the windows that serve it
    newcomer_ahead: dict[str, int]  # service → the same for a normal ticket taken now


def run_forecast(
    desks: Mapping[str, Desk],
    waiting: Sequence[Candidate],
    free_in_s: Mapping[str, float],
    streaks: Mapping[str, int],
    avg_s: Mapping[str, int],
    max_streak: int,
    services: Iterable[str],
    default_avg_s: int = 300,
    now: datetime | None = None,
) -> Forecast:
    """Seconds until each waiting ticket is likely called, by running the hall forward; and for
    each of `services`, when a normal ticket taken now would be.

    `ahead` is what a resident means by people ahead: the tickets the forecast calls before this
    one at the windows that could call it (those serving its queue), whatever their service: a
    ticket of another service called first at a shared window counts, one called at a window that
    never serves this queue does not, nor one called at the same moment (two idle windows).

    Each open counter, when next free (`free_in_s`, 0 if idle), calls what `rules.call_next`
    would call, and keeps the resident for the recent average time of that service. No new
    arrivals are assumed. Tickets no open counter would reach are left out: the caller falls
    back to the simple rule for them. Queues are kept sorted, and call-next only ever takes a
    queue's head, so it is shown just the heads: O(tickets × queues).

    A newcomer joins the end of its service's normal queue, so until it is called the hall runs
    exactly as without it: it is enough to ask, at each call once its queue is empty, whether the
    counter would take it instead. One run answers every service (the issue answer and /services).

    Checked-in appointments (PROTOCOL v1.2) are a queue of their own per service, in booked order;
    with `now` the run knows when each one's start comes (without it, every one counts as due).
    """
    queues: dict[tuple[str, str, bool], deque[Candidate]] = {}
    for c in sorted(waiting, key=_forecast_key):
        queues.setdefault(_forecast_queue(c), deque()).append(c)
    where = {c.id: key for key, q in queues.items() for c in q}
    newcomers = {s: Candidate(f"new:{s}", s, False, NEWCOMER_AT, 0) for s in services}
    heap = [(free_in_s.get(cid, 0.0), cid) for cid, d in desks.items() if d.state is CounterState.OPEN]
    heapq.heapify(heap)
    streak = dict(streaks)
    out: dict[str, int] = {}
    new_out: dict[str, int] = {}
    # People ahead: calls made before now per counter, summed over the counters that serve a queue (few).
    # Calls at the same moment (idle windows calling at once) are side by side, not one before the other.
    calls = dict.fromkeys(desks, 0)
    moment = 0.0
    same_moment: list[str] = []
    keys = [*queues, *(("service", s, False) for s in newcomers)]
    callers = {key: _callers(desks, key) for key in keys}
    ahead: dict[str, int] = {}
    new_ahead: dict[str, int] = {}
    while heap:
        at, cid = heapq.heappop(heap)
        if at != moment:
            for caller in same_moment:
                calls[caller] += 1
            moment, same_moment = at, []
        heads = [q[0] for q in queues.values() if q]
        if not heads and len(new_out) == len(newcomers):
            break
        desk = desks[cid]
        partner = desks.get(desk.counter.partner or "")
        for s, newcomer in newcomers.items():
            if s in new_out or queues.get(("service", s, False)) or not _serves(desk, partner, s):
                continue
            pick = call_next(desk, partner, [*heads, newcomer], streak.get(cid, 0), max_streak, _at(now, at))
            if pick is not None and pick.ticket is newcomer:
                new_out[s] = round(at)
                new_ahead[s] = sum(calls[c] for c in callers[("service", s, False)])
        choice = call_next(desk, partner, heads, streak.get(cid, 0), max_streak, _at(now, at)) if heads else None
        if choice is None:
            continue  # queues only shrink here: this counter has nothing left to call
        ticket = choice.ticket
        key = where[ticket.id]
        queues[key].remove(ticket)  # the head, or an appointment due before its queue's head
        out[ticket.id] = round(at)
        ahead[ticket.id] = sum(calls[c] for c in callers[key])
        same_moment.append(cid)
        streak[cid] = next_priority_streak(streak.get(cid, 0), choice)
        heapq.heappush(heap, (at + avg_s.get(ticket.service, default_avg_s), cid))
    return Forecast(out, new_out, ahead, new_ahead)


def _callers(desks: Mapping[str, Desk], key: tuple[str, str, bool]) -> tuple[str, ...]:
    """The open counters that may call a ticket of this queue: a service's (directly, or covering an
    away partner that has it), or one counter's own (it, or its open partner while it is away)."""
    kind, name, _ = key
    out = []
    for cid, desk in desks.items():
        if desk.state is not CounterState.OPEN:
            continue
        partner = desks.get(desk.counter.partner or "")
        if kind == "service":
            ok = _serves(desk, partner, name)
        else:
            ok = cid == name or (partner is not None and partner.id == name and partner.state is CounterState.AWAY)
        if ok:
            out.append(cid)
    return tuple(out)


def _at(now: datetime | None, seconds: float) -> datetime | None:
    return None if now is None else now + timedelta(seconds=seconds)


def _forecast_queue(c: Candidate) -> tuple[str, str, bool]:
    if c.target_counter:
        return ("counter", c.target_counter, False)
    if c.appointment_at is not None and not c.priority:
        return ("appointment", c.service, False)
    return ("service", c.service, c.priority)


def _forecast_key(c: Candidate) -> tuple[bool, datetime, datetime, int]:
    if c.appointment_at is not None and not c.priority and not c.target_counter:
        return (False, *appointment_key(c))
    return (not c.priority, c.order_at, c.order_at, c.seq)


def _serves(desk: Desk, partner: Desk | None, service: str) -> bool:
    if service in desk.counter.services:
        return True
    return partner is not None and partner.state is CounterState.AWAY and service in partner.counter.services
