"""Properties of the service layer on a real database (SQLite and PostgreSQL).

Hypothesis drives random clerks and residents through the use cases of server.services with a
frozen clock that jumps by random amounts (the hall's day turns at Shanghai midnight during a run),
and after every step reads the database back and checks what must always hold:

- no ticket is held by two counters, and a held ticket is called or serving, by that counter;
- every issued ticket exists exactly once, in one of the five statuses, and is never lost;
- numbers are unique per hall and day, count up from 1 per service and day, and are never reused;
- a ticket is called at most once per waiting phase (issue or transfer);
- wait_s / service_s on the ticket equal a replay of its ledger events, and fit in its life;
- on_behalf_of is always the partner of the counter that served;
- a refusal (HallError) leaves the database exactly as it was;
- the ledger is append-only, and its cover_lost / cover_restored lines match who is uncovered now;
- each refusal is the one the state called for, and each call picks what the engine's rules pick from
  every waiting ticket of the hall (so the service layer's own preselection of candidates is checked too);
- the people ahead shown to residents, the waiting counts and the daily report agree with the tickets;
- PROTOCOL v1.2: a named call (指呼), park (挂起) and resume, a supervisor's cancel and reactivate: a parked
  ticket is never lost (some counter of its hall may resume it, and it stays in the parked list of every one
  that may), never called twice (a call per waiting phase, a resume per park), and a fetch_documents ticket
  never loses its place (its `order_at` stays its issue time, and counters list it in that order); a
  reactivated ticket waits again with its original `order_at`; parked time is neither wait nor service.

Two more properties: with one open counter and neither priority nor transfers, tickets are called in issue
order (across the hall's midnight, when numbers start again); tickets are issued only in opening hours,
judged on the hall's wall clock.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text
from support.checks import check_service_row_balances
from support.databases import TABLES, pg_schema

from server.clock import FrozenClock
from server.config import Config, load_config
from server.engine import rules
from server.engine.errors import HallError
from server.engine.estimate import ahead_of, run_forecast
from server.engine.model import CounterState, Hours, Outcome, ServiceKind, TicketStatus
from server.engine.timing import replay
from server.services import counters, halls, history, parking, reports, tickets
from server.services.context import Context
from server.services.queue import candidate, desks, forecast_inputs, place, waiting_counts
from server.store.db import Database
from server.store.models import CounterRow, LedgerRow, NumberSeqRow, TicketRow

HALL_TOML = Path(__file__).resolve().parent.parent / "data" / "test_hall.toml"
START = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: the hall's day turns during a run

STATUSES = {s.value for s in TicketStatus}
HELD = {TicketStatus.CALLED.value, TicketStatus.SERVING.value}
# What the ticket's last ledger line says its status is.
STATUS_AFTER = {
    "issued": "waiting",
    "transferred": "waiting",
    "called": "called",
    "recalled": "called",
    "started": "serving",
    "finished": "done",
    "no_show": "no_show",
    "parked": "parked",
    "resumed": "called",
    "cancelled": "cancelled",
    "reactivated": "waiting",
}
# Which held-ticket statuses each counter action accepts (independent copy of the hall's rule).
ACCEPTS = {
    "recall": {"called"},
    "start": {"called"},
    "finish": {"called", "serving"},
    "no_show": {"called"},
    "transfer": {"called", "serving"},
    "park": {"called", "serving"},
}


# --- fresh databases, one per example -----------------------------------------------------------


class Databases(Protocol):
    def fresh(self) -> Database: ...

    def release(self, db: Database) -> None: ...


def _config(data_dir: Path) -> Config:
    return load_config(HALL_TOML, data_dir=data_dir)


class SqliteFiles:
    """A migrated template file, copied to a new folder for every example (migrating takes ~0.2 s)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = _config(folder)
        self.template = folder / "template.db"
        db = Database(f"sqlite:///{self.template}")
        db.migrate()
        halls.seed_counters(Context(self.config, db, FrozenClock(START)))
        db.dispose()  # the last connection closing checkpoints the WAL into the file
        assert not Path(f"{self.template}-wal").exists()

    def fresh(self) -> Database:
        path = Path(tempfile.mkdtemp(dir=self.folder)) / "h.db"
        shutil.copyfile(self.template, path)
        return Database(f"sqlite:///{path}")

    def release(self, db: Database) -> None:
        db.dispose()
        shutil.rmtree(Path(db.engine.url.database or "").parent)


class PgSchema:
    """One fresh schema for the test; every example empties it and closes every counter."""

    def __init__(self, url: str, folder: Path) -> None:
        self.config = _config(folder)
        self.db = Database(url)
        self.db.migrate()
        halls.seed_counters(Context(self.config, self.db, FrozenClock(START)))

    def fresh(self) -> Database:
        with self.db.write() as s:
            for table in TABLES:
                s.execute(text(f"DELETE FROM {table}"))
            s.execute(
                text(
                    "UPDATE counters SET state='closed', held_ticket=NULL, priority_streak=0, clerk=NULL,"
                    " since=NULL, away_reason=NULL"
                )
            )
        return self.db

    def release(self, db: Database) -> None:
        pass


@contextmanager
def databases(kind: str, folder: Path) -> Iterator[SqliteFiles | PgSchema]:
    if kind == "sqlite":
        yield SqliteFiles(folder)
        return
    with pg_schema() as url:  # fails loudly when PostgreSQL is not there: never skipped
        pg = PgSchema(url, folder)
        try:
            yield pg
        finally:
            pg.db.dispose()


KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# --- reading the database back ------------------------------------------------------------------


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a counter or kiosk action may write."""
    with db.read() as s:
        return {
            table: sorted((tuple(r) for r in s.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in ("tickets", "counters", "ledger", "number_seqs")
        }


@dataclass
class State:
    tickets: dict[str, TicketRow]
    counters: dict[str, CounterRow]
    ledger: list[LedgerRow]
    seqs: list[NumberSeqRow]


def read_state(db: Database) -> State:
    with db.read() as s:
        return State(
            tickets={t.id: t for t in s.scalars(select(TicketRow))},
            counters={c.id: c for c in s.scalars(select(CounterRow))},
            ledger=list(s.scalars(select(LedgerRow).order_by(LedgerRow.id))),
            seqs=list(s.scalars(select(NumberSeqRow))),
        )


# --- the hall as a state machine ---------------------------------------------------------------

COUNTERS = ["w1", "w2", "w3", "w4", "e1"]
WHERE = [
    *[("town", "id-card")] * 3,
    *[("town", "social")] * 2,
    *[("town", "water")] * 2,
    ("town", "closed"),
    ("east", "id-card"),
]
gaps = st.one_of(st.just(0), st.integers(1, 900), st.floats(0, 5, allow_nan=False, allow_infinity=False))
ACTIONS = [
    "open", "close", "call_next", "recall", "start", "finish", "no_show", "transfer", "away", "back",
    "named_call", "park", "resume",
]  # fmt: skip
PARK_KINDS = ["fetch_documents", "keep_documents", "wait_step"]
MAX_RECALLS = 3  # the test hall's default
counter_ids = st.sampled_from(COUNTERS)
clerks = st.sampled_from([None, "clerk-li", "clerk-wang"])
transfer_to = st.one_of(
    st.tuples(st.sampled_from(["id-card", "social", "water"]), st.none()),
    st.tuples(st.none(), st.sampled_from(COUNTERS)),
    st.sampled_from([("tax", None), (None, "w9"), (None, None), ("social", "w2"), ("closed", None)]),
)


@dataclass(frozen=True)
class Issue:
    """What was true when a ticket was issued; none of it may change later."""

    hall: str
    service: str
    day: str
    seq: int
    number: str
    priority: bool
    issued_at: datetime


def has_parked(state: State) -> bool:
    return any(t.status == "parked" for t in state.tickets.values())


def holding(c: CounterRow) -> bool:
    return c.held_ticket is not None


def idle_open(c: CounterRow) -> bool:
    return c.state == "open" and c.held_ticket is None


def not_open(c: CounterRow) -> bool:
    return c.state != "open"


def away_now(c: CounterRow) -> bool:
    return c.state == "away"


def closable(c: CounterRow) -> bool:
    return c.state != "closed" and c.held_ticket is None


REPORT_EVERY = 4  # steps between two checks of the reports against the tickets


class HallMachine(RuleBasedStateMachine):
    """Residents take numbers; clerks at five counters of two halls do whatever they like."""

    databases: ClassVar[Databases]
    config: ClassVar[Config]

    def __init__(self) -> None:
        super().__init__()
        self.db = self.databases.fresh()
        self.clock = FrozenClock(START)
        self.ctx = Context(self.config, self.db, self.clock)
        self.issued: dict[str, Issue] = {}
        self.last_seq: dict[tuple[str, str, str], int] = {}
        self.ledger_seen: list[tuple[Any, ...]] = []
        self.rows: dict[str, CounterRow] = {}  # the counters as the last invariant check read them
        self.steps = 0
        self.parked_any = False
        self.parked_homes: set[str] = set()  # counters that may resume some parked ticket

    def teardown(self) -> None:
        try:
            if self.issued:
                self.check_reports(read_state(self.db))
        finally:
            self.databases.release(self.db)

    @initialize(
        offset=st.integers(0, 7200),
        opened=st.sets(counter_ids),
        queue=st.lists(st.tuples(st.sampled_from(WHERE), st.booleans()), max_size=6),
    )
    def start_the_day(self, offset: int, opened: set[str], queue: list[tuple[tuple[str, str], bool]]) -> None:
        """Some counters open, some residents already waiting."""
        self.clock.set(START + timedelta(seconds=offset))
        for counter in sorted(opened):
            counters.open_counter(self.ctx, counter, "clerk-zhang")
        for where, priority in queue:
            self.issue_one(7, where, priority, None)

    # -- which counter acts -------------------------------------------------------------------
    # Each action has a rule aimed at counters where it can do something (so the queue moves),
    # and one rule lets any clerk try any action at any counter (so every refusal is reached).

    def some(self, useful: Callable[[CounterRow], bool]) -> bool:
        return any(useful(c) for c in self.rows.values())

    def aim(self, data: st.DataObject, useful: Callable[[CounterRow], bool]) -> str:
        return data.draw(st.sampled_from(sorted(c.id for c in self.rows.values() if useful(c))), label="counter")

    @precondition(lambda self: self.some(not_open))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def open(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_open(gap, self.aim(data, not_open), clerk, data)

    @precondition(lambda self: self.some(closable))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def close(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_close(gap, self.aim(data, closable), clerk, data)

    @precondition(lambda self: self.some(idle_open))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def call_next(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_call_next(gap, self.aim(data, idle_open), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def recall(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_recall(gap, self.aim(data, holding), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def start(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_start(gap, self.aim(data, holding), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def finish(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_finish(gap, self.aim(data, holding), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def no_show(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_no_show(gap, self.aim(data, holding), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def transfer(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_transfer(gap, self.aim(data, holding), clerk, data)

    def served(self, counter_id: str) -> bool:
        """Open, or away with its open partner covering it."""
        row = self.counter_row(counter_id)
        if row.state == "open":
            return True
        found = self.config.find_counter(counter_id)
        partner = found[1].partner if found else None
        return row.state == "away" and partner is not None and self.counter_row(partner).state == "open"

    def coverable(self, c: CounterRow) -> bool:
        """Open and idle, with an open partner to take its queue."""
        found = self.config.find_counter(c.id)
        partner = self.rows.get(found[1].partner or "") if found else None
        return idle_open(c) and partner is not None and partner.state == "open"

    @precondition(lambda self: self.some(self.coverable))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def away(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_away(gap, self.aim(data, self.coverable), clerk, data)

    @precondition(lambda self: self.some(away_now))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def back(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_back(gap, self.aim(data, away_now), clerk, data)

    @precondition(lambda self: self.some(idle_open))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def named_call(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_named_call(gap, self.aim(data, idle_open), clerk, data)

    @precondition(lambda self: self.some(holding))
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def park(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_park(gap, self.aim(data, holding), clerk, data)

    @precondition(lambda self: self.some(idle_open) and self.parked_any)
    @rule(gap=gaps, data=st.data(), clerk=clerks)
    def resume(self, gap: float, data: st.DataObject, clerk: str | None) -> None:
        self.do_resume(gap, self.aim(data, self.resumes_here), clerk, data)

    def resumes_here(self, c: CounterRow) -> bool:
        """Idle and open, and among the counters a parked ticket comes back to (any, when none is)."""
        homes = self.parked_homes & {r.id for r in self.rows.values() if idle_open(r)}
        return idle_open(c) and (c.id in homes or not homes)

    @precondition(lambda self: self.issued)
    @rule(gap=gaps, data=st.data(), reason=st.sampled_from(["", "重复取号", "居民回来了", "误操作"]))
    def supervisor_corrects(self, gap: float, data: st.DataObject, reason: str) -> None:
        self.do_correct(gap, data, reason)

    @rule(gap=gaps, data=st.data(), clerk=clerks, counter=counter_ids, action=st.sampled_from(ACTIONS))
    def any_clerk_tries_anything(
        self, gap: float, data: st.DataObject, clerk: str | None, counter: str, action: str
    ) -> None:
        getattr(self, f"do_{action}")(gap, counter, clerk, data)

    # -- acting, with the refusal expected from the state before -----------------------------

    def act(self, name: str, expected: str | None, gap: float, use_case: Callable[..., Any], *args: Any) -> Any:
        """Run one use case; it must refuse with exactly `expected` (None: succeed), changing nothing."""
        self.clock.advance(gap)
        note(f"{self.clock.now():%H:%M:%S} {name}{args}")
        before = snapshot(self.db)
        try:
            result = use_case(self.ctx, *args)
        except HallError as err:
            assert err.code == expected, f"{name}{args}: refused with {err.code}, expected {expected}"
            assert snapshot(self.db) == before, f"{name}{args}: refused with {err.code} but wrote to the database"
            event(f"{name}: {err.code}")
            return None
        assert expected is None, f"{name}{args}: succeeded, expected the refusal {expected}"
        event(f"{name}: ok")
        return result

    def counter_row(self, counter_id: str) -> CounterRow:
        with self.db.read() as s:
            row = s.get(CounterRow, counter_id)
        assert row is not None
        return row

    def held_status(self, row: CounterRow) -> str | None:
        if row.held_ticket is None:
            return None
        with self.db.read() as s:
            ticket = s.get(TicketRow, row.held_ticket)
        assert ticket is not None
        return ticket.status

    def partner_row(self, counter_id: str) -> CounterRow | None:
        found = self.config.find_counter(counter_id)
        assert found is not None
        partner = found[1].partner
        return self.counter_row(partner) if partner else None

    def held_refusal(self, action: str, counter_id: str) -> str | None:
        status = self.held_status(self.counter_row(counter_id))
        if status is None:
            return "no_ticket"
        return None if status in ACCEPTS[action] else "wrong_status"

    def ticket(self, ticket_id: str) -> TicketRow:
        with self.db.read() as s:
            row = s.get(TicketRow, ticket_id)
        assert row is not None
        return row

    # -- residents -------------------------------------------------------------------------

    @rule(
        gaps=st.lists(gaps, min_size=1, max_size=3),
        where=st.sampled_from(WHERE),
        priority=st.booleans(),
        kiosk=st.sampled_from([None, None, None, "k1"]),
    )
    def issue(self, gaps: list[float], where: tuple[str, str], priority: bool, kiosk: str | None) -> None:
        """A few residents in a row take a number for the same service."""
        for gap in gaps:
            self.issue_one(gap, where, priority, kiosk)

    def issue_one(self, gap: float, where: tuple[str, str], priority: bool, kiosk: str | None) -> None:
        hall_id, service_id = where
        hall = self.ctx.hall(hall_id)
        day = hall.day_of(self.clock.now() + timedelta(seconds=gap))
        last = self.last_seq.get((hall_id, service_id, day), 0)
        expected = None
        if kiosk is not None and hall.kiosk(kiosk) is None:
            expected = "not_found"
        elif service_id == "closed":
            expected = "service_closed"
        elif service_id == "water" and last >= 3:
            expected = "daily_limit"
        out = self.act("issue", expected, gap, tickets.issue_ticket, hall_id, service_id, priority, kiosk)
        if out is None:
            return
        t = out[0].ticket
        with self.db.read() as s:
            waiting = list(s.scalars(select(TicketRow).where(TicketRow.status == "waiting")))
        # People ahead in the forecast's order: never below the ticket's place in its own queue, never more
        # than everyone else waiting (the board that answered may be a moment older than this check).
        assert self.engine_ahead(t, waiting) <= out[0].ahead <= len(waiting) - 1
        service = self.ctx.service(hall, service_id)
        assert (t.day, t.seq, t.status) == (day, last + 1, "waiting")
        assert t.number == f"{service.prefix}{t.seq:03d}"
        self.last_seq[(hall_id, service_id, day)] = t.seq
        self.issued[t.id] = Issue(hall_id, service_id, day, t.seq, t.number, priority, self.clock.now())

    # -- clerks ------------------------------------------------------------------------------

    def do_open(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        before = self.counter_row(counter)
        was, signed_in = before.state, before.clerk
        expected = "counter_away" if was == "away" else None
        if self.act("open", expected, gap, counters.open_counter, counter, clerk):
            row = self.counter_row(counter)
            assert row.state == "open"
            if was == "closed":  # 考勤: a clerk signed in here stays so until signing out; else who opened it
                assert row.priority_streak == 0 and row.clerk == (signed_in or clerk)

    def do_close(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        row, partner = self.counter_row(counter), self.partner_row(counter)
        expected = "ticket_in_progress" if row.held_ticket else None
        if expected is None and row.state == "open" and partner is not None and partner.state == "away":
            expected = "covering"  # 不得空岗: the away partner comes back first
        if self.act("close", expected, gap, counters.close_counter, counter, clerk):
            assert self.counter_row(counter).state == "closed"

    def do_call_next(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        row, partner_row = self.counter_row(counter), self.partner_row(counter)
        expected, choice = None, None
        if row.held_ticket:
            expected = "ticket_in_progress"
        elif row.state != "open":
            expected = "counter_not_open"
        else:
            choice = self.expected_choice(counter, row, partner_row)
        if choice is not None and "in a row" not in choice.reason:
            # The resident called next was told nobody is ahead of them: the page and call-next agree.
            with self.db.read() as s:
                chosen = s.get(TicketRow, choice.ticket.id)
                assert chosen is not None
                assert place(s, self.ctx.counter(counter)[0], chosen)[0] == 0, f"{chosen.number} had people ahead"
        out = self.act("call_next", expected, gap, counters.call_next, counter, clerk)
        if out is None:
            return
        result, _ = out
        if choice is None:
            event("call_next: nobody waits")
        else:
            event(f"call_next: {choice.reason}{' (on behalf of the away partner)' if choice.on_behalf_of else ''}")
        after = self.counter_row(counter)
        if choice is None:
            assert result.ticket is None and after.held_ticket is None
            return
        assert result.ticket is not None
        assert result.ticket.id == choice.ticket.id, f"called {result.ticket.number}, the rules pick another"
        assert result.ticket.on_behalf_of == choice.on_behalf_of
        assert after.held_ticket == choice.ticket.id
        assert after.priority_streak == rules.next_priority_streak(row.priority_streak, choice)

    def expected_choice(self, counter_id: str, row: CounterRow, partner_row: CounterRow | None) -> rules.Choice | None:
        """What the rules pick from every waiting ticket of the hall (not the service layer's preselection)."""
        hall, counter = self.ctx.counter(counter_id)
        with self.db.read() as s:
            waiting = [
                candidate(t)
                for t in s.scalars(select(TicketRow).where(TicketRow.hall_id == hall.id, TicketRow.status == "waiting"))
            ]
        desk = rules.Desk(counter, CounterState(row.state))
        partner = None
        if partner_row is not None:
            partner_counter = hall.counter(partner_row.id)
            assert partner_counter is not None
            partner = rules.Desk(partner_counter, CounterState(partner_row.state))
        return rules.call_next(desk, partner, waiting, row.priority_streak, hall.max_priority_streak)

    def do_recall(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        held = self.counter_row(counter).held_ticket
        recalls = self.ticket(held).recalls if held else 0
        expected = self.held_refusal("recall", counter)
        if expected is None and recalls >= MAX_RECALLS:
            expected = "recall_limit"  # then the clerk marks a no-show
        if self.act("recall", expected, gap, counters.recall, counter, clerk):
            assert held is not None and self.ticket(held).recalls == recalls + 1

    def do_start(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        held = self.counter_row(counter).held_ticket
        if self.act("start", self.held_refusal("start", counter), gap, counters.start, counter, clerk):
            assert held is not None and self.ticket(held).status == "serving"

    def do_finish(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        outcome = data.draw(st.sampled_from([*(o.value for o in Outcome), "bogus"]), label="outcome")
        missing = data.draw(st.sampled_from([None, [], ["户口簿", "近期照片"]]), label="missing")
        held = self.counter_row(counter).held_ticket
        if outcome not in {o.value for o in Outcome} or (missing and outcome != "incomplete"):
            expected = "invalid_body"
        else:
            expected = self.held_refusal("finish", counter)
            if expected is None and outcome == Outcome.ACCEPTED and held is not None:
                # 受理 opens a matter (PROTOCOL v1.2): only a promised service has one to open
                hall = self.ctx.counter(counter)[0]
                service = self.ctx.service(hall, self.ticket(held).service_id)
                if service.kind is not ServiceKind.PROMISED:
                    expected = "invalid_body"
        if self.act("finish", expected, gap, counters.finish, counter, clerk, outcome, None, missing):
            assert held is not None
            t = self.ticket(held)
            assert (t.status, t.outcome, t.served_by) == ("done", outcome, counter)
            assert t.finished_at == self.clock.now() and (t.missing or None) == (missing or None)
            assert self.counter_row(counter).held_ticket is None

    def do_no_show(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        held = self.counter_row(counter).held_ticket
        if self.act("no_show", self.held_refusal("no_show", counter), gap, counters.no_show, counter, clerk):
            assert held is not None and self.ticket(held).status == "no_show"
            assert self.counter_row(counter).held_ticket is None

    def do_transfer(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        hall, here = self.ctx.counter(counter)
        to_partner = st.just((None, here.partner)) if here.partner else transfer_to
        service_id, to_counter = data.draw(st.one_of(transfer_to, to_partner), label="to")
        held = self.counter_row(counter).held_ticket
        if (service_id is None) == (to_counter is None):
            expected: str | None = "invalid_body"
        elif service_id is not None and hall.service(service_id) is None:
            expected = "not_found"
        elif to_counter is not None and hall.counter(to_counter) is None:
            expected = "not_found"
        elif to_counter == counter:
            expected = "same_counter"
        elif to_counter is not None and not self.served(to_counter):
            expected = "counter_not_open"  # nobody would ever call it there
        else:
            expected = self.held_refusal("transfer", counter)
        before = self.ticket(held) if held else None
        if self.act("transfer", expected, gap, counters.transfer, counter, clerk, service_id, to_counter):
            assert before is not None
            t = self.ticket(before.id)
            assert (t.status, t.counter_id, t.on_behalf_of, t.served_by) == ("waiting", None, None, None)
            assert t.service_id == (service_id or before.service_id) and t.target_counter == to_counter
            assert t.transfers == before.transfers + 1
            assert (t.order_at, t.number) == (before.order_at, before.number)  # keeps the original place
            assert self.counter_row(counter).held_ticket is None

    # -- PROTOCOL v1.2: named calls, parking, supervisors' corrections ------------------------------

    def pick_ticket(self, data: st.DataObject, status: str) -> str:
        """A ticket id: mostly one with `status`, sometimes any other (or none at all)."""
        with self.db.read() as s:
            rows = list(s.scalars(select(TicketRow)))
        # In the order this machine issued them: ids are random, so ordering by id (tickets issued at one frozen
        # instant tie on issued_at) picked another ticket for the same draw when Hypothesis replayed a run, and
        # it reported the test as flaky (FlakyStrategyDefinition).
        order = {tid: i for i, tid in enumerate(self.issued)}
        rows.sort(key=lambda t: order.get(t.id, len(order)))
        fitting = [t.id for t in rows if t.status == status]
        aim = data.draw(st.sampled_from(["fitting"] * 6 + ["any"] * 2 + ["none"]), label="aim")
        if aim == "fitting" and fitting:
            return data.draw(st.sampled_from(fitting), label="ticket")
        if aim != "none" and rows:
            return data.draw(st.sampled_from([t.id for t in rows]), label="ticket")
        return "no-such-ticket"

    def queues_of(self, counter_id: str) -> tuple[set[str], set[str]]:
        """The counters and services whose queues this counter serves (an independent copy of AB岗's rule)."""
        _, here = self.ctx.counter(counter_id)
        partner = self.partner_row(counter_id)
        served, services = {counter_id}, set(here.services)
        if partner is not None and partner.state == "away":
            served.add(partner.id)
            services |= set(self.ctx.counter(partner.id)[1].services)
        return served, services

    def ticket_refusal(self, counter: str, ticket_id: str) -> str | None:
        """The refusals a named call and a resume share, in the order they are checked."""
        hall, _ = self.ctx.counter(counter)
        with self.db.read() as s:
            t = s.get(TicketRow, ticket_id)
        if t is None:
            return "not_found"
        if t.hall_id != hall.id:
            return "forbidden"
        if self.counter_row(counter).held_ticket:
            return "ticket_in_progress"
        if self.counter_row(counter).state != "open":
            return "counter_not_open"
        return None

    def do_named_call(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        ticket_id = self.pick_ticket(data, "waiting")
        manager = data.draw(st.booleans(), label="supervisor")
        reason = data.draw(st.sampled_from(["老人回来了", "材料补齐", "窗口调剂", " "]), label="reason")
        expected = "invalid_reason" if not reason.strip() else self.ticket_refusal(counter, ticket_id)
        if expected is None:
            t = self.ticket(ticket_id)
            served, services = self.queues_of(counter)
            mine = t.target_counter in served if t.target_counter else t.service_id in services
            if t.status != "waiting":
                expected = "not_waiting"
            elif not mine and not manager:
                expected = "forbidden"
        streak = self.counter_row(counter).priority_streak
        args = (counter, clerk, ticket_id, reason, manager)
        if self.act("named_call", expected, gap, parking.named_call, *args):
            t = self.ticket(ticket_id)
            row = self.counter_row(counter)
            assert (t.status, t.counter_id, row.held_ticket) == ("called", counter, ticket_id)
            assert row.priority_streak == streak  # a named call is outside the priority rule
            assert t.called_at == self.clock.now()

    def do_park(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from([*PARK_KINDS, "lunch"]), label="kind")
        held = self.counter_row(counter).held_ticket
        expected = "invalid_body" if kind not in PARK_KINDS else self.held_refusal("park", counter)
        before = self.ticket(held) if held else None
        if self.act("park", expected, gap, parking.park, counter, clerk, kind, None):
            assert before is not None
            t = self.ticket(before.id)
            assert (t.status, t.park_kind, t.parked_counter, t.parked_at) == ("parked", kind, counter, self.clock.now())
            assert self.counter_row(counter).held_ticket is None
            assert t.service_s >= before.service_s and t.wait_s == before.wait_s

    def do_resume(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        ticket_id = self.pick_ticket(data, "parked")
        manager = data.draw(st.booleans(), label="supervisor")
        expected = self.ticket_refusal(counter, ticket_id)
        before = self.ticket(ticket_id) if expected not in ("not_found",) else None
        if expected is None:
            assert before is not None
            served, services = self.queues_of(counter)
            if before.status != "parked":
                expected = "not_parked"
            elif not manager and not (
                before.parked_counter in served
                or (before.park_kind == "fetch_documents" and before.service_id in services)
            ):
                expected = "forbidden"
        if self.act("resume", expected, gap, parking.resume, counter, clerk, ticket_id, manager):
            assert before is not None
            t = self.ticket(ticket_id)
            assert (t.status, t.counter_id, t.park_kind) == ("called", counter, None)
            assert (t.wait_s, t.service_s) == (before.wait_s, before.service_s)  # parked: neither
            assert self.counter_row(counter).held_ticket == ticket_id

    def do_correct(self, gap: float, data: st.DataObject, reason: str) -> None:
        action = data.draw(st.sampled_from(["cancel", "reactivate"]), label="correction")
        wanted = data.draw(st.sampled_from(["no_show", "cancelled"]), label="status")
        ticket_id = self.pick_ticket(data, wanted if action == "reactivate" else "waiting")
        t = self.ticket(ticket_id) if ticket_id != "no-such-ticket" else None
        if t is None:
            expected: str | None = "invalid_reason" if not reason else "not_found"
        elif not reason:
            expected = "invalid_reason"
        elif action == "cancel":
            expected = None if t.status in ("waiting", "parked") else "wrong_status"
        elif t.status not in ("no_show", "cancelled"):
            expected = "wrong_status"
        else:
            today = self.ctx.hall(t.hall_id).day_of(self.clock.now() + timedelta(seconds=gap))
            expected = None if t.day == today else "not_today"
        use_case = parking.cancel if action == "cancel" else parking.reactivate
        if self.act(action, expected, gap, use_case, ticket_id, "supervisor-zhao", reason):
            assert t is not None
            after = self.ticket(ticket_id)
            assert after.status == ("cancelled" if action == "cancel" else "waiting")
            assert (after.order_at, after.number) == (t.order_at, t.number)  # waits again in its original place

    def do_away(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        reason = data.draw(st.sampled_from([None, "lunch", "meeting"]), label="reason")
        row, partner = self.counter_row(counter), self.partner_row(counter)
        if row.held_ticket:
            expected: str | None = "ticket_in_progress"
        elif row.state != "open":
            expected = "counter_not_open"
        elif partner is None or partner.state != "open":
            expected = "no_cover"
        else:
            expected = None
        if self.act("away", expected, gap, counters.away, counter, clerk, reason):
            assert self.counter_row(counter).state == "away"

    def do_back(self, gap: float, counter: str, clerk: str | None, data: st.DataObject) -> None:
        expected = None if self.counter_row(counter).state == "away" else "counter_not_away"
        if self.act("back", expected, gap, counters.back, counter, clerk):
            assert self.counter_row(counter).state == "open"

    # -- what must hold after every step ------------------------------------------------------

    @invariant()
    def the_hall_is_consistent(self) -> None:
        state = read_state(self.db)
        self.rows = state.counters
        now = self.clock.now()
        self.check_counters_hold_their_tickets(state)
        self.check_no_ticket_is_lost(state)
        self.check_numbers(state)
        self.check_ledger(state, now)
        self.check_cover(state)
        self.check_places(state)
        self.check_parked(state)
        # The reports replay the whole day (over half of a step's time): every fourth step, and the final
        # state of each run (teardown), so a figure that stops adding up is still caught near its step.
        if self.steps % REPORT_EVERY == 0:
            self.check_reports(state)

    def check_counters_hold_their_tickets(self, state: State) -> None:
        held = [c.held_ticket for c in state.counters.values() if c.held_ticket is not None]
        assert len(held) == len(set(held)), "a ticket is held by two counters"
        for c in state.counters.values():
            assert c.state in {s.value for s in CounterState}
            assert c.priority_streak >= 0
            if c.held_ticket is None:
                continue
            t = state.tickets.get(c.held_ticket)
            assert t is not None, f"{c.id} holds a ticket that does not exist"
            assert t.status in HELD and t.counter_id == c.id, f"{c.id} holds {t.number} ({t.status}, {t.counter_id})"
            assert c.state == "open", f"{c.id} is {c.state} while holding {t.number}"
        for t in state.tickets.values():
            if t.status in HELD:
                assert t.counter_id is not None and state.counters[t.counter_id].held_ticket == t.id, (
                    f"{t.number} is {t.status} but no counter holds it"
                )

    def check_no_ticket_is_lost(self, state: State) -> None:
        assert set(state.tickets) == set(self.issued), "tickets appeared or disappeared"
        for t in state.tickets.values():
            issue = self.issued[t.id]
            assert t.status in STATUSES
            assert (t.hall_id, t.day, t.seq, t.number, t.priority) == (
                issue.hall,
                issue.day,
                issue.seq,
                issue.number,
                issue.priority,
            )
            assert t.issued_at == issue.issued_at and t.order_at == issue.issued_at
            if t.status == "waiting":
                assert t.counter_id is None
                if t.target_counter is not None:
                    assert self.ctx.hall(t.hall_id).counter(t.target_counter) is not None
            if t.status == "done":
                assert t.finished_at is not None and t.outcome is not None and t.served_by is not None
            if t.status in ("no_show", "cancelled"):
                assert t.finished_at is not None
            if t.status == "parked":
                assert t.park_kind in PARK_KINDS and t.parked_at is not None and t.parked_counter is not None
            else:
                assert (t.park_kind, t.parked_at, t.parked_counter) == (None, None, None), t.number
            if t.on_behalf_of is not None:
                served_by = self.ctx.hall(t.hall_id).counter(t.served_by or "")
                assert served_by is not None and served_by.partner == t.on_behalf_of, (
                    f"{t.number} served by {t.served_by} on behalf of {t.on_behalf_of}, not its partner"
                )

    def check_numbers(self, state: State) -> None:
        numbers = [(t.hall_id, t.day, t.number) for t in state.tickets.values()]
        assert len(numbers) == len(set(numbers)), "a number was handed out twice in one day"
        per_service: dict[tuple[str, str, str], list[int]] = {}
        for issue in self.issued.values():  # in issue order
            per_service.setdefault((issue.hall, issue.service, issue.day), []).append(issue.seq)
        for key, seqs in per_service.items():
            assert seqs == list(range(1, len(seqs) + 1)), f"{key}: numbers skipped or reused: {seqs}"
        # ticket numbers only: matters keep their case numbers' running count in the same table (#matters)
        kept = {(r.hall_id, r.service_id, r.day): r.last for r in state.seqs if not r.service_id.startswith("#")}
        assert kept == self.last_seq, "the kept sequence does not match the numbers handed out"

    def check_ledger(self, state: State, now: datetime) -> None:
        lines = [(r.id, r.kind, r.at, r.ticket_id, r.counter_id, r.on_behalf_of) for r in state.ledger]
        assert lines[: len(self.ledger_seen)] == self.ledger_seen, "the ledger was rewritten"
        self.ledger_seen = lines
        per_ticket: dict[str, list[LedgerRow]] = {}
        for r in state.ledger:
            assert r.at <= now
            if r.on_behalf_of is not None:
                found = self.config.find_counter(r.counter_id or "")
                assert found is not None and found[1].partner == r.on_behalf_of, (
                    f"ledger {r.kind}: {r.counter_id} acted on behalf of {r.on_behalf_of}, not its partner"
                )
            if r.ticket_id is not None:
                per_ticket.setdefault(r.ticket_id, []).append(r)
        assert set(per_ticket) == set(state.tickets), "a ticket without ledger lines, or lines without a ticket"
        for t in state.tickets.values():
            events = per_ticket[t.id]
            # a matter's lines (办件, PROTOCOL v1.2) follow the ticket's visit: the ticket's own path ends before them
            kinds = [e.kind for e in events if not e.kind.startswith("matter_")]
            assert kinds[0] == "issued" and kinds.count("issued") == 1
            waiting_phase = parked_phase = False
            for kind in kinds:
                if kind in {"issued", "transferred", "reactivated"}:
                    waiting_phase = True
                elif kind == "called":
                    assert waiting_phase, f"{t.number} was called twice in one waiting phase: {kinds}"
                    waiting_phase = False
                elif kind == "parked":
                    parked_phase = True
                elif kind == "resumed":
                    assert parked_phase, f"{t.number} was resumed twice for one park: {kinds}"
                    parked_phase = False
                elif kind == "cancelled":
                    waiting_phase = parked_phase = False
            waits = kinds.count("issued") + kinds.count("transferred") + kinds.count("reactivated")
            assert kinds.count("called") <= waits
            assert kinds.count("resumed") <= kinds.count("parked")
            assert STATUS_AFTER[kinds[-1]] == t.status, f"{t.number} is {t.status} but its ledger ends in {kinds[-1]}"
            clock = replay((e.kind, e.at) for e in events)
            assert (t.wait_s, t.service_s) == (clock.wait_s, clock.service_s), (
                f"{t.number}: stored {t.wait_s}/{t.service_s} s, ledger says {clock.wait_s}/{clock.service_s} s"
            )
            assert (t.waiting_since, t.serving_since) == (clock.waiting_since, clock.serving_since)
            assert 0 <= t.wait_s + t.service_s <= (now - t.issued_at).total_seconds()
            called = [e for e in events if e.kind == "called"]
            assert t.owner_counter == (called[0].counter_id if called else None), "首问: the owner changed"

    def check_cover(self, state: State) -> None:
        last_word: dict[str, str] = {}
        for r in state.ledger:
            if r.kind in {"cover_lost", "cover_restored"} and r.counter_id is not None:
                last_word[r.counter_id] = r.kind
        recorded = {c for c, kind in last_word.items() if kind == "cover_lost"}
        with self.db.read() as s:
            uncovered = set().union(*(rules.uncovered_counters(list(desks(s, h).values())) for h in self.config.halls))
        assert recorded == uncovered, f"the ledger says {sorted(recorded)} are uncovered, really {sorted(uncovered)}"

    def check_parked(self, state: State) -> None:
        """Parked tickets: never lost, listed where they may be resumed, fetch_documents in its original place."""
        self.parked_any = has_parked(state)
        self.parked_homes = set()
        for hall in self.config.halls:
            parked = [t for t in state.tickets.values() if t.hall_id == hall.id and t.status == "parked"]
            if not parked:
                continue
            with self.db.read() as s:
                hall_desks = desks(s, hall)
                lists = {
                    c.id: [p["id"] for p in parking.parked_at(
                        s, hall, rules.Desk(c, CounterState.OPEN), hall_desks.get(c.partner or ""), self.clock.now()
                    )]
                    for c in hall.counters
                }  # fmt: skip
            self.parked_homes |= {c for c, ids in lists.items() if ids}
            for t in parked:
                shown = {c for c, ids in lists.items() if t.id in ids}
                assert t.parked_counter in shown, f"{t.number} is not listed at the counter that parked it"
                if t.park_kind == "fetch_documents":  # back to any counter of its service
                    assert {c.id for c in hall.counters if t.service_id in c.services} <= shown, t.number
            for ids in lists.values():
                listed = [state.tickets[i] for i in ids]
                assert listed == sorted(listed, key=lambda x: (x.order_at, x.seq)), "parked list out of order"

    def check_places(self, state: State) -> None:
        """A waiting ticket's people ahead, as the resident's page shows it, follow the engine's queue order.

        Three tickets a step (a rotating pick, the middle one and the newest): asking every one is too slow.
        """
        waiting = sorted((t for t in state.tickets.values() if t.status == "waiting"), key=lambda t: t.issued_at)
        self.steps += 1
        at = {self.steps % len(waiting), len(waiting) // 2, len(waiting) - 1} if waiting else set()
        picked = [waiting[i] for i in sorted(at)]
        with self.db.read() as s:
            for t in picked:
                hall = self.ctx.hall(t.hall_id)
                now = self.ctx.clock.now()
                ahead, est, served = place(s, hall, t, now)
                assert ahead == self.forecast_ahead(s, t, waiting, now), f"{t.number}: {ahead} ahead"
                assert ahead >= self.engine_ahead(t, waiting), f"{t.number}: {ahead} ahead"
                assert est >= 0
                assert served == rules.served_now(desks(s, hall), t.service_id, t.target_counter), t.number
            for hall in self.config.halls:
                counts = waiting_counts(s, hall)
                assert counts == {
                    svc.id: sum(1 for t in waiting if (t.hall_id, t.service_id) == (hall.id, svc.id))
                    for svc in hall.services
                }

    def check_reports(self, state: State) -> None:
        """The daily summary and the ledger export add up to the tickets of each hall-local day."""
        for hall in self.config.halls:
            mine = [t for t in state.tickets.values() if t.hall_id == hall.id]
            days = sorted({t.day for t in mine})
            for day in days:
                of_day = [t for t in mine if t.day == day]
                summary = reports.daily(self.ctx, hall.id, date.fromisoformat(day))
                count = Counter(t.status for t in of_day)
                assert (summary["issued"], summary["served"], summary["no_show"], summary["waiting"]) == (
                    len(of_day),
                    count["done"],
                    count["no_show"],
                    count["waiting"],
                )
                assert summary["priority"] == sum(1 for t in of_day if t.priority)
                assert sum(s["issued"] for s in summary["by_service"]) == len(of_day)
                served_by = Counter(t.served_by for t in of_day if t.status == "done")
                assert {c["counter"]: c["served"] for c in summary["by_counter"] if c["served"]} == dict(served_by)
                for row in summary["by_service"]:
                    check_service_row_balances(row)
                assert sum(r["served"] for r in summary["by_service"]) == summary["served"]
                assert all(0 <= c["on_behalf"] <= c["served"] for c in summary["by_counter"])
            if days:
                listed = history.ledger(self.ctx, hall.id, date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
                assert sorted(item["id"] for item in listed) == sorted(t.id for t in mine)

    def forecast_ahead(self, s: Any, ticket: TicketRow, waiting: list[TicketRow], now: datetime) -> int:
        """People ahead in the forecast's order (docs/api.md, Estimated waits): the calls the engine's run
        makes before this ticket at the windows that serve it; the own-queue place when no open window does."""
        hall = self.ctx.hall(ticket.hall_id)
        found, queued, free_in, streaks, avg = forecast_inputs(s, hall, now)
        run = run_forecast(found, queued, free_in, streaks, avg, hall.max_priority_streak, ())
        own = self.engine_ahead(ticket, waiting)
        return max(own, run.ahead.get(ticket.id, own))

    @staticmethod
    def engine_ahead(ticket: TicketRow, waiting: list[TicketRow]) -> int:
        """estimate.ahead_of within the ticket's own queue: its named counter, or its service."""

        def same_queue(t: TicketRow) -> bool:
            if t.hall_id != ticket.hall_id or t.target_counter != ticket.target_counter:
                return False
            return ticket.target_counter is not None or t.service_id == ticket.service_id

        return ahead_of(candidate(ticket), [candidate(t) for t in waiting if same_queue(t)])


# Runs of 40 (SQLite) and 30 (PostgreSQL) random steps each. The SQLite budget was 45 runs: CPU-bound in the
# test's own process, it took 86 s alone and past pytest-timeout's 600 s with two suites at once on 2 cores;
# 25 runs (a thousand steps) keep its reach over the rules in about a minute alone, well inside the timeout.
SETTINGS = {
    "sqlite": settings(
        max_examples=25, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    ),
    "postgres": settings(
        max_examples=18, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_hall_keeps_its_invariants_whatever_clerks_and_residents_do(kind: str, tmp_path: Path) -> None:
    with databases(kind, tmp_path) as dbs:
        machine = type(f"HallMachine_{kind}", (HallMachine,), {"databases": dbs, "config": dbs.config})
        run_state_machine_as_test(machine, settings=SETTINGS[kind])


# --- fairness: one counter, no priority, no transfers: issue order ------------------------------

fair_steps = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(["id-card", "social", "water"]), st.integers(1, 1800)),
        st.tuples(st.just("serve"), st.sampled_from(["finish", "no_show"]), st.integers(1, 600)),
    ),
    min_size=3,
    max_size=40,
)


@pytest.mark.parametrize("kind", KINDS)
def test_call_next_is_fair_tickets_are_called_in_issue_order(kind: str, tmp_path: Path) -> None:
    examples = 40 if kind == "sqlite" else 15

    with databases(kind, tmp_path) as dbs:

        @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(counter=st.sampled_from(["w1", "w2", "w3", "w4"]), steps=fair_steps, offset=st.integers(0, 7200))
        def calls_follow_issue_order(counter: str, steps: list[tuple[str, str, int]], offset: int) -> None:
            db = dbs.fresh()
            try:
                clock = FrozenClock(START + timedelta(seconds=offset))  # Shanghai midnight falls inside
                ctx = Context(dbs.config, db, clock)
                serves = set(ctx.counter(counter)[1].services)
                counters.open_counter(ctx, counter, "clerk-li")  # the only open counter: its partner stays closed
                waiting: list[tuple[str, str]] = []  # (ticket id, service) in issue order

                def serve(how: str) -> None:
                    result, _ = counters.call_next(ctx, counter, None)
                    eligible = [tid for tid, service in waiting if service in serves]
                    if not eligible:
                        assert result.ticket is None
                        return
                    assert result.ticket is not None and result.ticket.id == eligible[0], (
                        f"called {result.ticket.number if result.ticket else None} while an earlier ticket waits"
                    )
                    waiting.remove((result.ticket.id, result.ticket.service_id))
                    if how == "finish":
                        counters.finish(ctx, counter, None, "completed", None, None)
                    else:
                        counters.no_show(ctx, counter, None)

                for action, arg, gap in steps:
                    clock.advance(gap)
                    if action == "serve":
                        serve(arg)
                        continue
                    try:
                        issued, _ = tickets.issue_ticket(ctx, "town", arg)
                    except HallError as err:
                        assert (arg, err.code) == ("water", "daily_limit")
                        continue
                    waiting.append((issued.ticket.id, arg))
                while any(service in serves for _, service in waiting):  # the rest of the day
                    clock.advance(60)
                    serve("finish")
                assert counters.call_next(ctx, counter, None)[0].ticket is None
            finally:
                dbs.release(db)

        calls_follow_issue_order()


# --- opening hours: judged on the hall's wall clock ------------------------------------------


def with_weekday_hours(config: Config) -> Config:
    """The test hall with the seeds' common hours (Mon–Fri 8:30–12:00, 13:30–17:30) instead of "always"."""
    halls_ = tuple(
        replace(h, services=tuple(replace(s, hours=Hours()) for s in h.services)) if h.id == "town" else h
        for h in config.halls
    )
    return replace(config, halls=halls_)


@pytest.mark.parametrize("kind", KINDS)
def test_tickets_are_issued_only_in_opening_hours_on_the_halls_wall_clock(kind: str, tmp_path: Path) -> None:
    examples = 30 if kind == "sqlite" else 12
    with databases(kind, tmp_path) as dbs:
        config = with_weekday_hours(dbs.config)
        town = config.hall("town")
        assert town is not None

        @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(moment=st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 15), timezones=st.just(UTC)))
        def issue_at(moment: datetime) -> None:
            db = dbs.fresh()
            try:
                ctx = Context(config, db, FrozenClock(moment))
                local = moment.astimezone(town.timezone)
                try:
                    issued, _ = tickets.issue_ticket(ctx, "town", "id-card")
                except HallError as err:
                    assert err.code == "service_closed"
                    assert not Hours().is_open(local), f"refused at {local:%a %H:%M} hall time"
                    return
                assert Hours().is_open(local), f"issued at {local:%a %H:%M} hall time"
                assert issued.ticket.day == local.date().isoformat()
            finally:
                dbs.release(db)

        issue_at()
