"""Staff time in the reports (issue 24): sign-in, away periods with reasons, idle time and call-to-desk time,
per counter and per clerk, from the ledger lines of the period.

The figures are those of `server.engine.staff.staff_time` (the reference replay, see there) to the second.
That replay asks, for every counter at every ledger line, whether anybody waits for it by scanning every
waiting ticket: for a month (about 90,000 lines, 8 counters, dozens waiting) that is tens of millions of
steps. `_Replay` below is the same replay in one ordered pass with the bookkeeping kept incremental:

- waiting tickets are counted per queue (a service, or a counter they were sent to), and each queue knows
  the counters that serve it (their own services and counters, plus an away partner's they cover);
- each counter's current case (clerk, state, holding a ticket, idle with or without people waiting, away
  clerk and reason) is kept, and re-derived only when a line can change it: a state or profile change (all
  counters), a sign-in or sign-out, a ticket held or freed, a queue going from empty to not or back;
- time is not handed out at every line. The reference adds `int(seconds)` since the previous line to every
  counter at every line; here that sum of whole seconds runs as one clock (`ticks`) and a counter's case is
  credited with the ticks that passed while it lasted when it changes (and at the end). The same whole
  seconds go to the same tallies, so the figures are identical, rounding included.

Lines are read as plain rows (times as text on SQLite), with their JSON detail parsed only for the kinds that
use it (joining a queue, `away`'s reason, `counter_opened`'s profile).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, case, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from server.engine import staff
from server.engine.model import Counter, CounterState, Hall
from server.engine.rules import Desk, covered_counters
from server.store.models import LedgerRow

from .context import Context
from .periods import day_bounds

DETAILED = staff.JOINS | {"away", "counter_opened"}  # the kinds whose detail the replay reads
Queue = tuple[str, str]  # ("service", id) or ("counter", id), as engine.staff keys waiting tickets
# a counter's case: since (ticks), clerk signed in, state, idle field (None: holding or not open), away clerk, reason
Case = tuple[int, str | None, CounterState, str | None, str | None, str]


def report(ctx: Context, hall_id: str, first: date, last: date) -> dict[str, Any]:
    """The report's `staff` part over hall-local days first..last (up to now for today)."""
    hall = ctx.hall(hall_id)
    start, end = day_bounds(hall, first, last)
    end = max(start, min(end, ctx.clock.now()))
    with ctx.db.read() as s:
        replay = _Replay(hall, _naive(start), _naive(end), _before(s, hall, start))
        lines = _lines(s, hall, start, end)
    replay.run(lines)
    return replay.finish().body()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _lines(
    s: Session, hall: Hall, start: datetime, end: datetime
) -> list[tuple[datetime, str, str | None, str | None, str | None, Mapping[str, Any]]]:
    """The period's lines the replay reads, in ledger order: naive UTC times, detail only where used.

    Times come as text on SQLite (parsed with `datetime.fromisoformat`, several times faster than the
    DateTime type); a detail's JSON is parsed once per distinct text (an `issued` line's is one of a few).
    """
    sqlite = s.get_bind().dialect.name == "sqlite"
    table = LedgerRow.__table__.c
    at = type_coerce(table.at, String if sqlite else DateTime)
    detail = case((table.kind.in_(sorted(DETAILED)), cast(table.detail, Text)), else_=None)
    rows = s.execute(
        select(at, table.kind, table.ticket_id, table.counter_id, table.clerk, detail)
        .where(
            table.hall_id == hall.id,
            table.kind.in_(sorted(staff.KINDS)),
            table.at >= start,
            table.at < end,
        )
        .order_by(table.id)
    ).all()
    parsed: dict[str, Mapping[str, Any]] = {}

    def parse(text: str) -> Mapping[str, Any]:
        found = parsed.get(text)
        if found is None:
            found = parsed[text] = json.loads(text) or _EMPTY
        return found

    when = datetime.fromisoformat if sqlite else (lambda value: value.replace(tzinfo=None))
    return [(when(a), k, t, c, w, parse(d) if d else _EMPTY) for a, k, t, c, w, d in rows]


_EMPTY: Mapping[str, Any] = {}
_JOINS, _LEAVES, _HOLDS, _FREES = staff.JOINS, staff.LEAVES, staff.HOLDS, staff.FREES
if _FREES & _HOLDS or "started" in _FREES | _HOLDS:  # _Replay.line takes these as exclusive branches
    raise RuntimeError("engine.staff's FREES, HOLDS and started overlap")


def _before(s: Session, hall: Hall, start: datetime) -> staff.Start:
    """Each counter's state, signed-in clerk and away reason as its last lines before `start` left them.

    The last state line and the last sign line of every counter in one grouped query (ledger order, as the
    replay's), then those few lines themselves.
    """
    out = staff.Start()
    ids = [c.id for c in hall.counters]
    if not ids:
        return out
    group = case((LedgerRow.kind.in_(sorted(staff.STATES)), "state"), else_="sign")
    last_ids = s.scalars(
        select(func.max(LedgerRow.id))
        .where(
            LedgerRow.hall_id == hall.id,
            LedgerRow.kind.in_(sorted(set(staff.STATES) | staff.SIGNS)),
            LedgerRow.counter_id.in_(ids),
            LedgerRow.at < start,
        )
        .group_by(LedgerRow.counter_id, group)
    ).all()
    lines = s.scalars(select(LedgerRow).where(LedgerRow.id.in_(last_ids))).all() if last_ids else []
    for line in lines:
        counter = str(line.counter_id)
        if line.kind in staff.STATES:
            out.states[counter] = staff.STATES[line.kind]
            if line.kind == "away":
                out.away[counter] = (line.clerk, str((line.detail or {}).get("reason") or ""))
        elif line.kind == "signed_in" and line.clerk:
            out.clerks[counter] = line.clerk
    return out


class _Replay:
    """engine.staff.staff_time's replay in one pass with incremental bookkeeping (see the module's note)."""

    def __init__(self, hall: Hall, start: datetime, end: datetime, before: staff.Start) -> None:
        self.start, self.end, self.clock, self.ticks = start, end, start, 0
        self.profiles: dict[str, Counter] = {c.id: c for c in hall.counters}
        self.states = {c: before.states.get(c, CounterState.CLOSED) for c in self.profiles}
        self.clerk_at: dict[str, str] = dict(before.clerks)
        self.away_by: dict[str, tuple[str | None, str]] = dict(before.away)
        self.held: dict[str, str] = {}  # counter -> ticket it holds
        self.called: dict[str, tuple[str, datetime]] = {}  # ticket -> (counter, when it was called there)
        self.waiting: dict[str, Queue] = {}  # ticket -> its queue
        self.queued: dict[Queue, int] = {}  # queue -> tickets waiting in it (only queues with some)
        self.serves: dict[Queue, list[str]] = {}  # queue -> the counters that serve it now
        self.queues: dict[str, list[Queue]] = {}  # counter -> the queues it serves now
        self.cases: dict[str, Case] = {}
        self.out = staff.StaffTime()
        self._profiles_changed()

    def tally(self, kind: str, key: str) -> staff.Tally:
        group = self.out.counters if kind == "counter" else self.out.clerks
        found = group.get(key)
        if found is None:
            found = group[key] = staff.Tally()
        return found

    def run(self, lines: Iterable[tuple[datetime, str, str | None, str | None, str | None, Mapping[str, Any]]]) -> None:
        """The period's lines in ledger order (each at or after the start and before the end): the whole seconds
        since the previous line pass, then the line changes the hall. Names are bound locally: this loop runs
        once per line of the period."""
        joins, leaves, frees, holds, states = _JOINS, _LEAVES, _FREES, _HOLDS, staff.STATES
        waiting, called, held, profiles, recase = self.waiting, self.called, self.held, self.profiles, self._recase
        for at, kind, ticket, counter, clerk, d in lines:
            if at > self.clock:
                self.ticks += int((at - self.clock).total_seconds())
                self.clock = at
            if ticket:
                if kind in joins:
                    if kind == "transferred" and d.get("to_counter"):
                        self._wait(ticket, ("counter", str(d["to_counter"])))
                    else:
                        service = d.get("to_service") or d.get("service") or d.get("from_service") or ""
                        self._wait(ticket, ("service", str(service)))
                elif kind in leaves and ticket in waiting:
                    self._unwait(ticket)
                if kind in frees:
                    if ticket in called:
                        del called[ticket]
                    if ticket in held.values():
                        for cid in [c for c, t in held.items() if t == ticket]:
                            del held[cid]
                            recase(cid)
                elif counter:
                    if kind in holds:
                        held[counter] = ticket
                        called[ticket] = (counter, at)
                        recase(counter)
                    elif kind == "started" and ticket in called:
                        where, when = called.pop(ticket)
                        if where == counter:
                            self._started(counter, clerk, max(0, int((at - when).total_seconds())))
            if counter and counter in profiles:
                if kind in states:
                    self._state(kind, counter, clerk, d)
                elif kind == "signed_in" and clerk:
                    self.clerk_at[counter] = clerk
                    recase(counter)
                elif kind == "signed_out" and self.clerk_at.get(counter) == clerk:
                    self.clerk_at.pop(counter, None)
                    recase(counter)

    def _started(self, counter: str, clerk: str | None, seconds: int) -> None:
        """A call at this counter followed by its start here: the resident's walk to the window."""
        for t in [self.tally("counter", counter)] + ([self.tally("clerk", clerk)] if clerk else []):
            t.calls_started += 1
            t.call_to_desk_sum_s += seconds

    def _state(self, kind: str, counter: str, clerk: str | None, d: Mapping[str, Any]) -> None:
        self.states[counter] = staff.STATES[kind]
        if kind == "away":
            self.away_by[counter] = (clerk, str(d.get("reason") or ""))
        if kind == "counter_opened" and "services" in d:
            self.profiles[counter] = dataclasses.replace(
                self.profiles[counter],
                services=tuple(d["services"]),
                partner=d.get("partner", self.profiles[counter].partner),
            )
        self._profiles_changed()

    def finish(self) -> staff.StaffTime:
        """Up to the end of the period, every counter's last case credited."""
        if self.end > self.clock:
            self.ticks += int((self.end - self.clock).total_seconds())
            self.clock = self.end
        for cid in self.profiles:
            self._recase(cid)
        return self.out

    def _wait(self, ticket: str, queue: Queue) -> None:
        old = self.waiting.get(ticket)
        if old == queue:
            return
        if old is not None:
            self._unwait(ticket)
        self.waiting[ticket] = queue
        self.queued[queue] = self.queued.get(queue, 0) + 1
        if self.queued[queue] == 1:  # a queue no longer empty: its counters may now be idle with people waiting
            for cid in self.serves.get(queue, ()):
                self._recase(cid)

    def _unwait(self, ticket: str) -> None:
        queue = self.waiting.pop(ticket, None)
        if queue is None:
            return
        self.queued[queue] -= 1
        if not self.queued[queue]:
            del self.queued[queue]
            for cid in self.serves.get(queue, ()):
                self._recase(cid)

    def _profiles_changed(self) -> None:
        """A state or profile changed: which counter serves which queue, and every counter's case, anew."""
        self.serves, self.queues = {}, {}
        for cid, profile in self.profiles.items():
            partner_id = profile.partner
            partner = Desk(self.profiles[partner_id], self.states[partner_id]) if partner_id in self.profiles else None
            served = covered_counters(Desk(profile, CounterState.OPEN), partner)
            services = {s for c in served for s in self.profiles[c].services}
            mine = [("service", s) for s in sorted(services)] + [("counter", c) for c in served]
            self.queues[cid] = mine
            for queue in mine:
                self.serves.setdefault(queue, []).append(cid)
        for cid in self.profiles:
            self._recase(cid)

    def _recase(self, cid: str) -> None:
        """Credit the counter's current case with the ticks it lasted, then take its case as it is now."""
        if cid not in self.profiles:
            return
        old = self.cases.get(cid)
        if old is not None and self.ticks > old[0]:
            self._credit(cid, self.ticks - old[0], old)
        who = self.clerk_at.get(cid)
        state = self.states[cid]
        idle: str | None = None
        away_clerk: str | None = None
        reason = ""
        if state is CounterState.OPEN and cid not in self.held:
            waits = not self.queued.keys().isdisjoint(self.queues[cid])
            idle = "idle_waiting_s" if waits else "idle_empty_s"
        elif state is CounterState.AWAY:
            away_clerk, reason = self.away_by.get(cid, (who, ""))
        self.cases[cid] = (self.ticks, who, state, idle, away_clerk, reason)

    def _credit(self, cid: str, seconds: int, case_: Case) -> None:
        _, who, state, idle, away_clerk, reason = case_
        mine = [self.tally("counter", cid)] + ([self.tally("clerk", who)] if who else [])
        for t in mine:
            t.signed_in_s += seconds if who else 0
        if state is CounterState.OPEN:
            for t in mine:
                t.open_s += seconds
                if idle == "idle_waiting_s":
                    t.idle_waiting_s += seconds
                elif idle == "idle_empty_s":
                    t.idle_empty_s += seconds
        elif state is CounterState.AWAY:
            for t in [self.tally("counter", cid)] + ([self.tally("clerk", away_clerk)] if away_clerk else []):
                t.away_s += seconds
                t.away_by_reason[reason] = t.away_by_reason.get(reason, 0) + seconds
