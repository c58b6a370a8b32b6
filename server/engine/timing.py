"""Wait and service seconds, derived from a ticket's ledger events.

The rule (docs/api.md): waiting runs from issue (or transfer) to the call; service runs from
`started` to `finished` (or to a transfer or a park; parked time counts as neither). A call finished
without pressing start counts its service from the call: the clerk began serving when the resident
was called, and the walk to the window is seconds against minutes of service. A no-show has no service.
A ticket closed out at the end of the day stops both clocks there (reports average waits over called tickets only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# Ledger kinds that move a ticket between phases.
WAIT_STARTS = {"issued", "transferred", "reactivated", "checked_in"}  # checked_in: a remote ticket starts waiting
WAIT_ENDS = {"called", "closed_out", "cancelled"}
SERVICE_STARTS = {"started"}
SERVICE_ENDS = {"finished", "transferred", "closed_out", "parked"}
# Parked (挂起) time is neither wait nor service: `parked` stops the service clock, `resumed` is a new call
# (a finish without start counts service from it), and no clock runs in between.
CALLS = {"called", "resumed"}


@dataclass
class Clock:
    """Running totals for one ticket; fold ledger events into it in order."""

    wait_s: int = 0
    service_s: int = 0
    waiting_since: datetime | None = None
    serving_since: datetime | None = None
    called_at: datetime | None = None  # the latest call (the ticket's own `called_at`)

    def apply(self, kind: str, at: datetime) -> None:
        """Account for one ledger event."""
        if kind == "finished" and self.serving_since is None and self.called_at is not None:
            self.serving_since = self.called_at  # finished without start: service counts from the call
        if kind in SERVICE_ENDS and self.serving_since is not None:
            self.service_s += _seconds(self.serving_since, at)
            self.serving_since = None
        if kind in CALLS:
            self.called_at = at
        if kind in WAIT_ENDS and self.waiting_since is not None:
            self.wait_s += _seconds(self.waiting_since, at)
            self.waiting_since = None
        if kind in WAIT_STARTS:
            self.waiting_since = at
        if kind in SERVICE_STARTS:
            self.serving_since = at


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def replay(events: Iterable[tuple[str, datetime]]) -> Clock:
    """The totals a ticket's events add up to."""
    clock = Clock()
    for kind, at in events:
        clock.apply(kind, at)
    return clock
