"""The hall's forecast, computed once per change of hall state and shared by every answer.

Running the hall forward (engine.estimate) costs time that grows with the queue, so it is not run
per issue or per resident's page: a `Board` holds one run's answers, labelled with the ledger's
last line (every state change appends one, whoever's process made it). An answer whose label still
matches is exact; one that does not is recomputed, except in the server while the hall is busy:
there the last board answers (with the people ahead counted now) and the publisher recomputes it
off the request path (realtime.Publisher).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.estimate import est_wait_s, own_queue_places, run_forecast
from server.engine.model import CounterState, Hall
from server.engine.rules import Desk, served_now
from server.store.models import LedgerRow

from . import queue

_L = LedgerRow.__table__.c
_HEAD = select(_L.id, _L.kind, _L.ticket_id, _L.at).order_by(_L.id.desc()).limit(1)
SYNC_LIMIT = 16  # waiting tickets up to which a stale board is simply recomputed in the request


def ledger_head(s: Session) -> tuple[Any, ...] | None:
    """The last ledger line: changes whenever the hall's state does (the id alone could be reused)."""
    row = s.connection().execute(_HEAD).first()
    return tuple(row) if row is not None else None


@dataclass(frozen=True)
class Board:
    version: tuple[Any, ...] | None
    at: datetime
    est: dict[str, int]  # waiting ticket id → seconds from `at` until likely called
    newcomer: dict[str, int]  # service → when a normal ticket taken at `at` would be called
    newcomer_ahead: dict[str, int]  # service → people ahead of such a ticket at `at`
    avg: dict[str, int]
    servers: dict[str, int]
    waiting: int
    desks: dict[str, Desk]
    compute_s: float = 0.0
    # People ahead in the forecast's order (estimate.Forecast.ahead) less the ticket's own-queue place, both
    # at `at`: an answer adds this to the own-queue place counted now, so it stays right while the board ages.
    others_ahead: dict[str, int] = field(default_factory=dict)  # waiting ticket id → calls of other queues
    newcomer_others: dict[str, int] = field(default_factory=dict)  # service → the same for a new ticket

    def place(
        self, row: Any, ahead: int, now: datetime, desks: dict[str, Desk] | None = None, newcomer: bool = False
    ) -> queue.Place:
        """A waiting ticket's place at `now`; `desks` read now when this board is not the latest.

        `ahead` is counted now in the ticket's own queue; the answer's `ahead` adds the people of other
        queues the forecast calls before it at the windows that serve it (`people_ahead`)."""
        served = served_now(desks if desks is not None else self.desks, row.service_id, row.target_counter)
        est = self.new_ticket_s(row.service_id, ahead, now) if newcomer else self.wait_s(row, ahead, now)
        return queue.Place(self.people_ahead(row, ahead, newcomer), est, served)

    def people_ahead(self, row: Any, ahead: int, newcomer: bool = False) -> int:
        """People called before this ticket at the windows that serve it: its own-queue place counted now
        (`ahead`), plus those of other queues the forecast puts before it (one dict read, no query)."""
        if not newcomer and row.id in self.others_ahead:
            return ahead + self.others_ahead[row.id]
        if row.target_counter is None:  # a ticket newer than this board stands where a newcomer would
            return ahead + self.newcomer_others.get(row.service_id, 0)
        return ahead

    def wait_s(self, row: Any, ahead: int, now: datetime) -> int:
        """A waiting ticket's estimate at `now`, `ahead` being its people ahead counted now."""
        elapsed = max(0.0, (now - self.at).total_seconds())
        avg = self.avg.get(row.service_id, 300)
        if row.id in self.est:
            return max(0, round(self.est[row.id] - elapsed))
        if row.target_counter is not None:
            return est_wait_s(ahead, avg, 1)
        servers = self.servers.get(row.service_id, 0)
        if row.service_id in self.newcomer and servers:  # joined since: behind the newcomer's place
            extra = (ahead - self.newcomer_ahead.get(row.service_id, 0)) * avg / servers
            return max(0, round(self.newcomer[row.service_id] + extra - elapsed))
        return est_wait_s(ahead, avg, servers)

    def new_ticket_ahead(self, service_id: str, waiting: int) -> int:
        """People ahead of a normal ticket taken now for this service (`waiting` in its queue, counted now)."""
        return self.people_ahead(_New(f"new:{service_id}", service_id), waiting, newcomer=True)

    def new_ticket_s(self, service_id: str, ahead: int, now: datetime) -> int:
        """What a normal ticket taken now for this service would wait, `ahead` being counted now."""
        return self.wait_s(_New(f"new:{service_id}", service_id), ahead, now)

    def dumps(self) -> str:
        """This board as JSON, for the other processes of the hall (server/bus.py): one forecast run serves all."""
        return json.dumps(
            {
                "version": _version_out(self.version),
                "at": self.at.isoformat(),
                "est": self.est,
                "newcomer": self.newcomer,
                "newcomer_ahead": self.newcomer_ahead,
                "avg": self.avg,
                "servers": self.servers,
                "waiting": self.waiting,
                "desks": {cid: d.state.value for cid, d in self.desks.items()},
                "compute_s": self.compute_s,
                "others_ahead": self.others_ahead,
                "newcomer_others": self.newcomer_others,
            },
            separators=(",", ":"),
        )

    @staticmethod
    def loads(hall: Hall, text: str | bytes) -> Board:
        """A board another process made (`dumps`), its desks the counters of this process's config."""
        d = json.loads(text)
        counters = {c.id: c for c in hall.counters}
        desks = {cid: Desk(counters[cid], CounterState(state)) for cid, state in d["desks"].items() if cid in counters}
        return Board(
            _version_in(d["version"]), datetime.fromisoformat(d["at"]), d["est"], d["newcomer"], d["newcomer_ahead"],
            d["avg"], d["servers"], int(d["waiting"]), desks, float(d["compute_s"]), d["others_ahead"],
            d["newcomer_others"],
        )  # fmt: skip


def _version_out(version: tuple[Any, ...] | None) -> list[Any] | None:
    """A ledger head (id, kind, ticket, at) as JSON: the time as ISO text, back to the same datetime after."""
    return None if version is None else [v.isoformat() if isinstance(v, datetime) else v for v in version]


def _version_in(found: list[Any] | None) -> tuple[Any, ...] | None:
    if found is None:
        return None
    *first, at = found
    return (*first, datetime.fromisoformat(at) if isinstance(at, str) else at)


@dataclass(frozen=True)
class _New:
    id: str
    service_id: str
    target_counter: None = None


def compute(s: Session, hall: Hall, now: datetime, version: tuple[Any, ...] | None) -> Board:
    started = time.perf_counter()
    found, waiting, free_in, streaks, avg = queue.forecast_inputs(s, hall, now)
    services = [svc.id for svc in hall.services]
    run = run_forecast(found, waiting, free_in, streaks, avg, hall.max_priority_streak, services, now=now)
    ahead = dict.fromkeys(services, 0)
    for c in waiting:
        if c.target_counter is None and c.service in ahead:
            ahead[c.service] += 1
    own = own_queue_places(waiting)
    others = {tid: max(0, n - own.get(tid, 0)) for tid, n in run.ahead.items()}
    newcomer_others = {sid: max(0, n - ahead.get(sid, 0)) for sid, n in run.newcomer_ahead.items()}
    servers = {sid: queue.servers_of(sid, found) for sid in services}
    elapsed = time.perf_counter() - started
    return Board(
        version, now, run.est, run.newcomer, ahead, avg, servers, len(waiting), found, elapsed, others, newcomer_others
    )


@dataclass(frozen=True)
class Tally:
    """SQLite: a hall's untargeted queues counted as they stood after this process's last issue (`version`, its
    ledger line: id, kind, ticket), with the counters' states text (queue.STATES_TEXT) of that moment.

    SQLite runs one write at a time, and every change of the hall's state appends a ledger line: an issue
    whose number statement finds that very line last (`board.HEAD_COLUMNS`) knows nothing changed since, so
    its people ahead are these counts and its ticket's INSERT counts nothing (the counts walk the queue's
    index: O(waiting)). Any other change, by any process, is another last line: the issue counts again."""

    version: tuple[Any, ...]
    day: str
    priority: dict[str, int]  # service → waiting priority tickets not sent to a counter
    normal: dict[str, int]  # service → waiting normal tickets not sent to a counter (when known)
    states: str | None
    at: datetime  # the last issue's time: a clock set back since (a later ticket ordered before it) counts again

    def matches(self, before: tuple[Any, ...] | None, day: str) -> bool:
        return before is not None and tuple(before[:3]) == self.version and day == self.day


@dataclass
class Boards:
    """One board per hall, in this process. `on_stale` (set by the server) refreshes boards in the background."""

    on_stale: Callable[[str], None] | None = None
    sync_limit: int = SYNC_LIMIT
    _boards: dict[str, Board] = field(default_factory=dict)
    tallies: dict[str, Tally] = field(default_factory=dict)  # hall → its queues after this process's last issue

    def peek(self, hall_id: str) -> Board | None:
        return self._boards.get(hall_id)

    def current(self, s: Session, hall: Hall, now: datetime) -> tuple[Board, bool]:
        """The hall's board, and whether it is exact: it is when nothing changed since, or once recomputed;
        a busy server (more than `sync_limit` waiting) answers from the last one and refreshes it off the path."""
        version = ledger_head(s)
        board = self._boards.get(hall.id)
        if board is not None and board.version == version:
            return board, True
        if board is not None and self.on_stale is not None and board.waiting > self.sync_limit:
            self.on_stale(hall.id)
            return board, False
        return self.refresh(s, hall, now, version), True

    def place(self, s: Session, hall: Hall, row: Any, ahead: int, now: datetime) -> queue.Place:
        """A waiting ticket's place (`ahead` counted in this session) from the shared forecast."""
        board, exact = self.current(s, hall, now)
        return board.place(row, ahead, now, None if exact else queue.desks(s, hall))

    def adopt(self, hall_id: str, board: Board) -> None:
        """Take a board another process made (server/bus.py) as this process's own."""
        self._boards[hall_id] = board

    def refresh(self, s: Session, hall: Hall, now: datetime, version: Any = False) -> Board:
        """Run the forecast now (the version is read before the rows, so a board is never newer than its label)."""
        board = compute(s, hall, now, ledger_head(s) if version is False else version)
        self._boards[hall.id] = board
        return board

    def quick_place(
        self,
        s: Session,
        hall: Hall,
        row: Any,
        ahead: int,
        now: datetime,
        before: tuple[Any, ...] | None,
        desks: dict[str, Desk] | None = None,
    ) -> queue.Place | None:
        """A just-issued ticket's place without running the forecast, or None when it must run.

        `before` is the ledger's last line before this ticket: if the board was made from exactly that
        state, a normal ticket's estimate is the board's newcomer estimate (exact). Otherwise a busy
        server answers from the last board, `served_now` read now (`desks`, when the caller read them
        in its own statement), and refreshes it off the path.
        """
        board = self._boards.get(hall.id)
        if board is None:
            return None
        if board.version == before and not row.priority:
            return board.place(row, ahead, now, newcomer=True)
        if self.on_stale is not None and board.waiting > self.sync_limit:
            self.on_stale(hall.id)
            return board.place(row, ahead, now, desks if desks is not None else queue.desks(s, hall))
        return None


# The ledger's last line as scalar subqueries, to fold into a statement the caller sends anyway (the issue's
# number upsert returns them): the same columns and order as `ledger_head`, so the tuples compare equal.
HEAD_COLUMNS = tuple(select(c).order_by(_L.id.desc()).limit(1).scalar_subquery() for c in _HEAD.selected_columns)
