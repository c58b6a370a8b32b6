"""Before the day's first window opens: tickets are taken, and nobody serves them yet.

A queue no open window serves (`served_now` false, PROTOCOL v1.1) means two things to a resident. Later in
the day it means "no window does this now: ask at the help desk". Before any window of the hall has opened
today it only means "the windows have not opened yet": the number is called in order once they do. The
answers carry that difference as `before_opening` and `windows_open_at` (docs/api.md); `served_now`
itself stays false, as the contract says.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.engine.model import CounterState, Hall, Hours, Service
from server.store.models import CounterRow

_C = CounterRow.__table__.c
_STATES = select(_C.state, _C.since).where(_C.hall_id == bindparam("hall"))


class Opening(NamedTuple):
    """Whether the hall's windows have yet to open today, and at what hall-local time they are due ("HH:MM")."""

    before: bool
    at: str | None

    def fields(self) -> dict[str, object]:
        """The answers' fields (docs/api.md): `before_opening`, `windows_open_at`."""
        return {"before_opening": self.before, "windows_open_at": self.at if self.before else None}


NOT_BEFORE = Opening(False, None)


def day_started(s: Session, hall: Hall, now: datetime) -> bool:
    """Whether any window of the hall is open (or away) now, or has opened earlier today (it has closed since).

    Read once per session and hall (the publisher renders a whole queue's resident views in one session).
    """
    key = ("hallq.day_started", hall.id)
    if key in s.info:
        return bool(s.info[key])
    start, _ = hall.day_bounds(hall.local(now).date())
    started = False
    for state, since in s.connection().execute(_STATES, {"hall": hall.id}):
        # open or away now, or closed today (so it was open before that)
        if state != CounterState.CLOSED.value or (since is not None and since >= start):
            started = True
            break
    s.info[key] = started
    return started


def opening_time(hours: Hours, local: datetime) -> str | None:
    """The start of today's opening period that `local` is in or before ("HH:MM"); None when always open."""
    if hours.always:
        return None
    now = local.time()
    periods = sorted(hours.periods)
    due = next((start for start, end in periods if start <= now < end), None)
    if due is None:
        due = next((start for start, _ in periods if start > now), None)
    return due.strftime("%H:%M") if due is not None else None


def opening(s: Session, hall: Hall, service: Service | None, now: datetime) -> Opening:
    """Before the day's first window opens: (True, "HH:MM" or None); else NOT_BEFORE. One small read."""
    return given(day_started(s, hall, now), hall, service, now)


def given(started: bool, hall: Hall, service: Service | None, now: datetime) -> Opening:
    """`opening` when whether the day started (`day_started`) is known already."""
    if started:
        return NOT_BEFORE
    hours = service.hours if service is not None else Hours(always=True)
    return Opening(True, opening_time(hours, hall.local(now)))
