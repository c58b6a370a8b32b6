"""Reading the queue: candidates for call-next, waiting counts, a ticket's place and wait.

Every statement here is built once, at import, with bound parameters: SQLAlchemy's compiled
cache then serves every call (docs/storage.md), and each one reads the `ix_tickets_waiting`
index (hall, status, service, target counter, priority, issue order), not the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import String, and_, bindparam, case, false, func, literal_column, or_, select, true, tuple_, union_all
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from server.engine.estimate import est_wait_s, forecast_with_newcomers, recent_average, run_forecast
from server.engine.model import CounterState, Hall, Service, TicketStatus
from server.engine.rules import Candidate, Desk, served_now, serving_counters
from server.store.db import connection
from server.store.models import CounterRow, TicketRow
from server.store.raw import Raw

WAITING = TicketStatus.WAITING.value
_T = TicketRow.__table__.c  # table columns: the statements below are plain Core, run on the connection
_QUEUE_COLUMNS = (
    _T.id,
    _T.hall_id,
    _T.counter_id,
    _T.number,
    _T.status,
    _T.service_id,
    _T.priority,
    _T.order_at,
    _T.seq,
    _T.target_counter,
    _T.appointment_at,  # PROTOCOL v1.2: a checked-in appointment's booked start (rules.appointment_order)
)
_IS_WAITING = and_(_T.hall_id == bindparam("hall"), _T.status == WAITING)
_SERVICES: BindParameter[Any] = bindparam("services", expanding=True)
_COUNTERS: BindParameter[Any] = bindparam("counters", expanding=True)
_TAKEN: BindParameter[Any] = bindparam("taken", expanding=True)

_WAITING_ROWS = select(*_QUEUE_COLUMNS).where(
    _IS_WAITING,
    or_(
        _T.service_id.in_(_SERVICES) & _T.target_counter.is_(None),
        _T.target_counter.in_(_COUNTERS),
    ),
)
_HALL_WAITING = select(*_QUEUE_COLUMNS).where(_IS_WAITING)
_ONE = select(*_QUEUE_COLUMNS).where(_T.id == bindparam("id"))
_SENT = select(*_QUEUE_COLUMNS).where(_IS_WAITING, _T.id.not_in(_TAKEN), _T.target_counter.in_(_COUNTERS))
# Of each queue's head, call-next reads so many: as many as PostgreSQL's claim tries at once (counters.CLAIM_CHOICES:
# the first free of the next few, as several counters may race for one head), and the checked-in appointments a
# normal queue's head may hold before its first walk-in. SQLite's call-next takes its first choice (the write lock
# held), and of a priority queue the engine only ever takes the first: one row (each row read costs more in Python
# than finding it).
CALL_WINDOW = 8


def _heads(priority: bool, service: Any, window: int = CALL_WINDOW) -> Any:
    """The first `window` waiting tickets of one service's priority or normal queue, as the index orders
    them: `target_counter` and `priority` are one value here, and ordering by them too is what lets
    PostgreSQL read the head in index order (to its planner IS NULL is no equality, so ORDER BY order_at,
    seq alone sorted the whole queue). One service per range: a list of them (IN) made both databases sort
    every waiting ticket of those services to find the first few."""
    return (
        select(*_QUEUE_COLUMNS)
        .where(
            _IS_WAITING,
            _T.id.not_in(_TAKEN),
            _T.service_id == service,
            _T.target_counter.is_(None),
            _T.priority == (true() if priority else false()),
        )
        .order_by(_T.target_counter, _T.priority, _T.order_at, _T.seq)
        .limit(window)
    )


# One statement: tickets sent to these counters, then each service's priority heads, then its normal heads.
# PostgreSQL: the services as an array, each one's heads read by one LATERAL range (planned once, whatever
# the number of services: PostgreSQL plans every statement it is sent). SQLite: one range per service,
# a statement per number of services (sqlite3 keeps each prepared).
_QUEUES = func.unnest(sql_cast(bindparam("services"), ARRAY(String))).table_valued("id", name="queues").render_derived()
_PG_CANDIDATES = Raw(
    union_all(
        _SENT,
        *(
            select(*heads.c).select_from(_QUEUES.join(heads, true()))
            for heads in (_heads(p, _QUEUES.c.id).lateral(f"heads_{int(p)}") for p in (True, False))
        ),
    )
)
_SQLITE_CANDIDATES: dict[int, Raw] = {}


def _candidates(dialect: str, services: int) -> Raw:
    if dialect == "postgresql":
        return _PG_CANDIDATES
    found = _SQLITE_CANDIDATES.get(services)
    if found is None:
        heads = [
            select(_heads(p, bindparam(f"service_{i}"), 1 if p else CALL_WINDOW).subquery())
            for p in (True, False)
            for i in range(services)
        ]
        found = _SQLITE_CANDIDATES[services] = Raw(union_all(_SENT, *heads))
    return found


_COUNTS = select(_T.service_id, func.count()).where(_IS_WAITING).group_by(_T.service_id)
_C = CounterRow.__table__.c
# What the forecast and `served_now` need of each counter, as plain rows (no ORM objects on the hot path).
_COUNTER_STATES = select(_C.id, _C.state, _C.priority_streak, _C.held_ticket).where(_C.hall_id == bindparam("hall"))
_RECENT = (
    select(_T.service_s)
    .where(
        _T.hall_id == bindparam("hall"),
        _T.service_id == bindparam("service"),
        _T.status == TicketStatus.DONE.value,
        _T.finished_at.is_not(None),  # always so when done; what lets either database read ix_tickets_finished
        _T.service_s > 0,
    )
    .order_by(_T.finished_at.desc())
    .limit(20)
)
_HELD = select(_T.id, _T.service_id, _T.called_at, _T.started_at).where(_T.id.in_(bindparam("ids", expanding=True)))


# Issued before the ticket (`ahead_params`): one row-value range of the index's last two columns, read as a range
# whatever the plan (as `a < x OR a = x AND b < y` it was a filter over the whole queue, and a prepared statement's
# generic plan on PostgreSQL made it a walk of the table).
_EARLIER = tuple_(_T.order_at, _T.seq) < tuple_(
    bindparam("ahead_order_at", type_=_T.order_at.type), bindparam("ahead_seq", type_=_T.seq.type)
)


def _ahead_statement(targeted: bool, priority: bool) -> Any:
    """People ahead in one queue, as two index range counts: priority first, then issue order."""
    queue = (
        _T.target_counter == bindparam("target")
        if targeted
        else and_(_T.service_id == bindparam("service"), _T.target_counter.is_(None))
    )
    # Not named after columns: the issue's INSERT returns this count, and an INSERT reserves its columns' names.
    same_class = select(func.count()).where(_IS_WAITING, queue, _T.priority == (true() if priority else false()))
    earlier = _EARLIER
    if priority:
        return same_class.where(earlier)
    before_all = select(func.count()).where(_IS_WAITING, queue, _T.priority == true()).scalar_subquery()
    return select(before_all + same_class.where(earlier).scalar_subquery())


_AHEAD = {(t, p): _ahead_statement(t, p) for t in (False, True) for p in (False, True)}


def _ahead_parts(priority: bool) -> tuple[Any, ...]:
    """An untargeted ticket's people ahead as its two counts (`ahead_count` is their sum): the priority tickets
    ahead of it, and the normal ones (None for a priority ticket, which no normal ticket goes before); then
    whether a ticket of the queue orders after it (a clock set back): only if not are those counts the
    counts of the whole queue (what services.board.Tally keeps)."""
    queue = and_(_T.service_id == bindparam("service"), _T.target_counter.is_(None))
    earlier = _EARLIER
    own_class = and_(_IS_WAITING, queue, _T.priority == (true() if priority else false()))
    # index range seeks (no walk): this ticket orders after every waiting one of the queue, unless one (of
    # either class: a later priority tap would take the priority count as its own) orders after it
    after = _T.order_at > bindparam("ahead_order_at")
    later = or_(*(select(_T.id).where(_IS_WAITING, queue, _T.priority == p, after).exists() for p in (true(), false())))
    first = select(func.count()).where(_IS_WAITING, queue, _T.priority == true())
    if priority:
        return first.where(earlier).scalar_subquery(), None, later
    normal = select(func.count()).where(own_class, earlier)
    return first.scalar_subquery(), normal.scalar_subquery(), later


AHEAD_PARTS = {p: _ahead_parts(p) for p in (False, True)}


def ahead_statement(targeted: bool, priority: bool) -> Any:
    """The people-ahead count of `ahead_count`, to fold into a statement (bound by `ahead_params`)."""
    return _AHEAD[(targeted, priority)]


def ahead_params(row: Any) -> dict[str, Any]:
    """The parameters of `ahead_statement` for this ticket."""
    return {
        "hall": row.hall_id,
        "service": row.service_id,
        "target": row.target_counter,
        "ahead_order_at": row.order_at,
        "ahead_seq": row.seq,
    }


def candidate(row: Any) -> Candidate:
    """A ticket (ORM row or plain row with the queue columns) as call-next sees it."""
    return Candidate(
        row.id, row.service_id, row.priority, row.order_at, row.seq, row.target_counter,
        getattr(row, "appointment_at", None),
    )  # fmt: skip


def _waiting_rows(session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str]) -> list[Any]:
    """Plain rows (the queue columns) of tickets waiting for these services or sent to these counters."""
    params = {"hall": hall_id, "services": list(services), "counters": list(counters)}
    return list(session.connection().execute(_WAITING_ROWS, params).all())


def queue_row(session: Session, ticket_id: str) -> Any | None:
    """One ticket's queue columns as a plain row (what `ahead_count` and `candidate` read), or None."""
    return session.connection().execute(_ONE, {"id": ticket_id}).first()


def hall_waiting_rows(session: Session, hall_id: str) -> list[Any]:
    """Every waiting ticket of the hall, as plain rows of the queue columns."""
    return list(session.connection().execute(_HALL_WAITING, {"hall": hall_id}).all())


def waiting_for(session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str]) -> list[Candidate]:
    """Every waiting ticket of these services (not sent to a named counter), plus those sent to these counters."""
    return [candidate(r) for r in _waiting_rows(session, hall_id, services, counters)]


def call_candidates(
    session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str], taken: set[str]
) -> list[Candidate]:
    """What call-next needs to choose from: every ticket sent to these counters, and the heads of
    the priority and normal queues of these services (the engine only ever takes a head)."""
    conn = connection(session)
    queues = sorted(services)  # one order: ties between services' heads always go the same way
    params: dict[str, Any] = {"hall": hall_id, "counters": list(counters), "taken": list(taken)}
    if conn.dialect.name == "postgresql":
        params["services"] = queues
    else:
        params |= {f"service_{i}": service for i, service in enumerate(queues)}
    # _QUEUE_COLUMNS' order: id, then (after hall, counter, number, status) what a Candidate holds, in its order
    return [Candidate(r[0], *r[5:]) for r in _candidates(conn.dialect.name, len(queues)).rows(conn, params)]


def waiting_counts(session: Session, hall: Hall) -> dict[str, int]:
    """{service id: tickets waiting}, every service of the hall present."""
    counts = dict.fromkeys((s.id for s in hall.services), 0)
    for service_id, n in session.connection().execute(_COUNTS, {"hall": hall.id}):
        if service_id in counts:
            counts[service_id] = n
    return counts


def counter_states(session: Session, hall: Hall) -> list[Any]:
    """Each counter's id, state, priority streak and held ticket, as plain rows (flush ORM changes first)."""
    return list(session.connection().execute(_COUNTER_STATES, {"hall": hall.id}).all())


# Every counter's state as one text, "w1 open 1,w2 closed 0", to fold into a statement the caller sends anyway
# (the INSERT returns it): a ticket's `served_now` read in that statement, not in one more. The third
# word says whether the counter's state changed since `day_start` (a window closed today was open before:
# opening.day_started). Ids are `[a-z0-9][a-z0-9_-]*` (config) and states words, so neither holds a separator.
STATES_TEXT = (
    select(
        func.aggregate_strings(
            _C.id + " " + _C.state + case((_C.since >= bindparam("day_start", type_=_C.since.type), " 1"), else_=" 0"),
            # in the SQL text: a bound separator is rendered anew on every execution (typed str for the stubs)
            cast(str, literal_column("','")),
        )
    )
    .where(_C.hall_id == bindparam("hall"))
    .scalar_subquery()
)


def states_params(hall: Hall, now: datetime) -> dict[str, Any]:
    """The parameters of STATES_TEXT: the hall, and the start of its day at `now`."""
    return {"hall": hall.id, "day_start": hall.day_bounds(hall.local(now).date())[0]}


_FROM_STATES: dict[tuple[str, str | None], tuple[Hall, dict[str, Desk], bool]] = {}


def from_states_text(hall: Hall, text: str | None) -> tuple[dict[str, Desk], bool]:
    """`desks_from_text` and `opened_today_from_text` of a STATES_TEXT value, parsed once per value: every issue
    reads the text, which changes only with a counter's state. The desks are shared: read them, never change them."""
    found = _FROM_STATES.get((hall.id, text))
    if found is None or found[0] is not hall:  # another configuration's hall of that id (a test, a reload)
        if len(_FROM_STATES) >= 256:
            _FROM_STATES.clear()
        found = _FROM_STATES[(hall.id, text)] = (hall, desks_from_text(hall, text), opened_today_from_text(text))
    return found[1], found[2]


def desks_from_text(hall: Hall, text: str | None) -> dict[str, Desk]:
    """`desks` from a STATES_TEXT value."""
    triples = (item.split(" ") for item in text.split(",")) if text else ()
    return desks_of(hall, {found[0]: found[1] for found in triples})


def opened_today_from_text(text: str | None) -> bool:
    """From a STATES_TEXT value: whether any window is open or away now, or changed state today (opening.py)."""
    triples = (item.split(" ") for item in text.split(",")) if text else ()
    return any(found[1] != CounterState.CLOSED.value or found[2] == "1" for found in triples)


def desks_of(hall: Hall, states: dict[str, str]) -> dict[str, Desk]:
    return {c.id: Desk(c, CounterState(states.get(c.id, "closed"))) for c in hall.counters}


def desks(session: Session, hall: Hall, rows: Iterable[Any] | None = None) -> dict[str, Desk]:
    """Every counter of the hall with its live state (ORM changes in this session flushed first)."""
    if rows is None:
        session.flush()  # a plain read sees what this transaction changed only once it is flushed
        rows = counter_states(session, hall)
    return desks_of(hall, {r.id: r.state for r in rows})


def servers_of(service_id: str, hall_desks: dict[str, Desk]) -> int:
    """Open counters serving this service now, directly or covering an away partner."""
    return len(serving_counters(hall_desks, service_id))


def average_service_s(session: Session, hall_id: str, service: Service) -> int:
    """Recent average service time of this service, or its configured prior."""
    recent = session.connection().scalars(_RECENT, {"hall": hall_id, "service": service.id}).all()
    return recent_average(list(reversed(recent)), service.avg_service_s)


def ahead_count(session: Session, row: Any) -> int:
    """How many waiting tickets of the same queue go before this one (estimate.queue_key, in SQL)."""
    statement = _AHEAD[(row.target_counter is not None, bool(row.priority))]
    return int(session.connection().scalar(statement, ahead_params(row)) or 0)


class Place(NamedTuple):
    """Where a waiting ticket stands: people ahead, the estimate, and whether anyone serves its queue now."""

    ahead: int
    est_wait_s: int
    served_now: bool


NOT_WAITING = Place(0, 0, True)  # a ticket already called is being served


def forecast_inputs(
    session: Session, hall: Hall, now: datetime
) -> tuple[dict[str, Desk], list[Candidate], dict[str, float], dict[str, int], dict[str, int]]:
    """What the forecast needs: desks, waiting tickets, when busy counters free up, streaks, averages."""
    rows = counter_states(session, hall)
    hall_desks = desks(session, hall, rows)
    waiting = [candidate(r) for r in hall_waiting_rows(session, hall.id)]
    avg = {s.id: average_service_s(session, hall.id, s) for s in hall.services}
    streaks = {r.id: r.priority_streak for r in rows}
    free_in: dict[str, float] = {}
    held = {r.held_ticket: r.id for r in rows if r.held_ticket}
    if held:
        for t in session.connection().execute(_HELD, {"ids": list(held)}):
            since = t.started_at or t.called_at
            if since is not None:
                elapsed = (now - since).total_seconds()
                free_in[held[t.id]] = max(0.0, avg.get(t.service_id, 300) - elapsed)
    return hall_desks, waiting, free_in, streaks, avg


def hall_forecast(
    session: Session, hall: Hall, hall_desks: dict[str, Desk] | None = None, now: datetime | None = None
) -> dict[str, int]:
    """{ticket id: seconds until likely called} for every waiting ticket an open counter will reach."""
    now = now or datetime.now(UTC)
    found, waiting, free_in, streaks, avg = forecast_inputs(session, hall, now)
    out, _ = forecast_with_newcomers(found, waiting, free_in, streaks, avg, hall.max_priority_streak, (), now=now)
    return out


def place(session: Session, hall: Hall, row: Any, now: datetime | None = None) -> Place:
    """People ahead, estimated wait and `served_now` for a waiting ticket; NOT_WAITING otherwise.

    Computed from scratch; the server answers from the shared forecast instead (services.board).
    """
    if row.status != WAITING:
        return NOT_WAITING
    ahead = ahead_count(session, row)
    now = now or datetime.now(UTC)
    found, waiting, free_in, streaks, avg = forecast_inputs(session, hall, now)
    run = run_forecast(found, waiting, free_in, streaks, avg, hall.max_priority_streak, (), now=now)
    out = run.est
    served = served_now(found, row.service_id, row.target_counter)
    if row.id in out:  # people ahead in the forecast's order, at the windows that serve it
        return Place(max(ahead, run.ahead[row.id]), out[row.id], served)
    if row.target_counter is not None:
        return Place(ahead, est_wait_s(ahead, avg.get(row.service_id, 300), 1), served)
    return Place(ahead, est_wait_s(ahead, avg.get(row.service_id, 300), servers_of(row.service_id, found)), served)


_WAITING_OF = select(*_QUEUE_COLUMNS).where(_IS_WAITING, _T.id.in_(bindparam("ids", expanding=True)))


def waiting_rows_of(session: Session, hall_id: str, ticket_ids: Iterable[str]) -> list[Any]:
    """Those of these tickets still waiting in this hall, as plain rows of the queue columns (one read)."""
    ids = list(ticket_ids)
    if not ids:
        return []
    return list(session.connection().execute(_WAITING_OF, {"hall": hall_id, "ids": ids}).all())
