"""Estimated wait: people ahead × recent average service time ÷ open counters serving it.

Deliberately simple so a clerk can explain it to a resident; bench/estimate.py measures
its error on a replayed day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .rules import Candidate

RECENT = 20  # finished services that make up the "recent average"


def recent_average(service_seconds: Sequence[int], prior_s: int) -> int:
    """Mean of the last RECENT service times, or the configured prior when none are known."""
    recent = [s for s in service_seconds[-RECENT:] if s > 0]
    if not recent:
        return prior_s
    return round(sum(recent) / len(recent))


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
