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
    """Seconds until each waiting ticket is likely called, by running the hall forward; and for
    each of `services`, when a normal ticket taken now would be.

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
    while heap:
        at, cid = heapq.heappop(heap)
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
        choice = call_next(desk, partner, heads, streak.get(cid, 0), max_streak, _at(now, at)) if heads else None
        if choice is None:
            continue  # queues only shrink here: this counter has nothing left to call
        ticket = choice.ticket
        queues[where[ticket.id]].remove(ticket)  # the head, or an appointment due before its queue's head
        out[ticket.id] = round(at)
        streak[cid] = next_priority_streak(streak.get(cid, 0), choice)
        heapq.heappush(heap, (at + avg_s.get(ticket.service, default_avg_s), cid))
    return out, new_out


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
