"""Reading the queue: candidates for call-next, waiting counts, a ticket's place and wait."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.engine.estimate import est_wait_s, forecast, queue_key, recent_average
from server.engine.model import CounterState, Hall, Service, TicketStatus
from server.engine.rules import Candidate, Desk, served_now, serving_counters
from server.store.models import CounterRow, TicketRow

_QUEUE_COLUMNS = (
    TicketRow.id,
    TicketRow.number,
    TicketRow.status,
    TicketRow.service_id,
    TicketRow.priority,
    TicketRow.order_at,
    TicketRow.seq,
    TicketRow.target_counter,
)


def candidate(row: Any) -> Candidate:
    """A ticket (ORM row or plain row with the queue columns) as call-next sees it."""
    return Candidate(row.id, row.service_id, row.priority, row.order_at, row.seq, row.target_counter)


def _waiting_rows(session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str]) -> list[Any]:
    """Plain rows (the queue columns) of tickets waiting for these services or sent to these counters."""
    return list(
        session.execute(
            select(*_QUEUE_COLUMNS).where(
                TicketRow.hall_id == hall_id,
                TicketRow.status == TicketStatus.WAITING.value,
                or_(
                    TicketRow.service_id.in_(list(services)) & TicketRow.target_counter.is_(None),
                    TicketRow.target_counter.in_(list(counters)),
                ),
            )
        ).all()
    )


def waiting_for(session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str]) -> list[Candidate]:
    """Every waiting ticket of these services (not sent to a named counter), plus those sent to these counters."""
    return [candidate(r) for r in _waiting_rows(session, hall_id, services, counters)]


CALL_WINDOW = 16  # more than the counters that can race for the same head of the queue


def call_candidates(
    session: Session, hall_id: str, services: Iterable[str], counters: Iterable[str], taken: set[str]
) -> list[Candidate]:
    """What call-next needs to choose from: every ticket sent to these counters, and the heads of
    the priority and normal queues of these services (the engine only ever takes a head)."""
    services, counters = list(services), list(counters)
    base = select(*_QUEUE_COLUMNS).where(
        TicketRow.hall_id == hall_id,
        TicketRow.status == TicketStatus.WAITING.value,
        TicketRow.id.not_in(taken) if taken else TicketRow.id.is_not(None),
    )
    sent = base.where(TicketRow.target_counter.in_(counters))
    rows = list(session.execute(sent).all())
    for priority in (True, False):
        heads = (
            base.where(
                TicketRow.service_id.in_(services),
                TicketRow.target_counter.is_(None),
                TicketRow.priority.is_(priority),
            )
            .order_by(TicketRow.order_at, TicketRow.seq)
            .limit(CALL_WINDOW)
        )
        rows.extend(session.execute(heads).all())
    return [candidate(r) for r in rows]


def waiting_counts(session: Session, hall: Hall) -> dict[str, int]:
    """{service id: tickets waiting}, every service of the hall present."""
    counts = dict.fromkeys((s.id for s in hall.services), 0)
    rows = session.execute(
        select(TicketRow.service_id, func.count())
        .where(TicketRow.hall_id == hall.id, TicketRow.status == TicketStatus.WAITING.value)
        .group_by(TicketRow.service_id)
    )
    for service_id, n in rows:
        if service_id in counts:
            counts[service_id] = n
    return counts


def desks(session: Session, hall: Hall) -> dict[str, Desk]:
    """Every counter of the hall with its live state."""
    states = {r.id: r.state for r in session.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id))}
    return {c.id: Desk(c, CounterState(states.get(c.id, "closed"))) for c in hall.counters}


def servers_of(service_id: str, hall_desks: dict[str, Desk]) -> int:
    """Open counters serving this service now, directly or covering an away partner."""
    return len(serving_counters(hall_desks, service_id))


def average_service_s(session: Session, hall_id: str, service: Service) -> int:
    """Recent average service time of this service, or its configured prior."""
    recent = session.scalars(
        select(TicketRow.service_s)
        .where(
            TicketRow.hall_id == hall_id,
            TicketRow.service_id == service.id,
            TicketRow.status == TicketStatus.DONE.value,
            TicketRow.service_s > 0,
        )
        .order_by(TicketRow.finished_at.desc())
        .limit(20)
    ).all()
    return recent_average(list(reversed(recent)), service.avg_service_s)


def new_ticket_wait_s(session: Session, hall: Hall, service: Service, waiting: int, hall_desks: dict[str, Desk]) -> int:
    """What a ticket taken now for this service would wait."""
    return est_wait_s(waiting, average_service_s(session, hall.id, service), servers_of(service.id, hall_desks))


class Place(NamedTuple):
    """Where a waiting ticket stands: people ahead, the estimate, and whether anyone serves its queue now."""

    ahead: int
    est_wait_s: int
    served_now: bool


def places(
    session: Session, hall: Hall, services: Iterable[str], counters: Iterable[str], now: datetime | None = None
) -> dict[str, tuple[Any, Place]]:
    """{ticket id: (row, place)} for the waiting tickets of these queues.

    Reads plain columns, not ORM objects: this runs after every call for every waiting ticket.
    """
    rows = _waiting_rows(session, hall.id, services, counters)
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        key = ("counter", r.target_counter) if r.target_counter else ("service", r.service_id)
        groups.setdefault(key, []).append(r)
    hall_desks = desks(session, hall)
    forecast = hall_forecast(session, hall, hall_desks, now) if rows else {}
    out: dict[str, tuple[Any, Place]] = {}
    for (kind, ident), group in groups.items():
        group.sort(key=lambda r: queue_key(candidate(r)))
        service = hall.service(group[0].service_id) if kind == "service" else None
        avg = average_service_s(session, hall.id, service) if service else _mixed_average(session, hall, group)
        servers = servers_of(ident, hall_desks) if kind == "service" else 1
        served = served_now(hall_desks, ident) if kind == "service" else served_now(hall_desks, "", ident)
        for ahead, r in enumerate(group):
            out[r.id] = (r, Place(ahead, forecast.get(r.id, est_wait_s(ahead, avg, servers)), served))
    return out


def hall_forecast(
    session: Session, hall: Hall, hall_desks: dict[str, Desk], now: datetime | None = None
) -> dict[str, int]:
    """{ticket id: seconds until likely called} for every waiting ticket an open counter will reach."""
    now = now or datetime.now(UTC)
    if not any(d.state is CounterState.OPEN for d in hall_desks.values()):
        return {}
    waiting = [candidate(r) for r in _waiting_rows(session, hall.id, [s.id for s in hall.services], list(hall_desks))]
    avg = {s.id: average_service_s(session, hall.id, s) for s in hall.services}
    rows = session.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id)).all()
    streaks = {r.id: r.priority_streak for r in rows}
    free_in: dict[str, float] = {}
    held = [r for r in rows if r.held_ticket]
    if held:
        busy = session.execute(
            select(TicketRow.id, TicketRow.service_id, TicketRow.called_at, TicketRow.started_at).where(
                TicketRow.id.in_([r.held_ticket for r in held])
            )
        ).all()
        for r in held:
            t = next((b for b in busy if b.id == r.held_ticket), None)
            since = t and (t.started_at or t.called_at)
            if t is not None and since is not None:
                elapsed = (now - since).total_seconds()
                free_in[r.id] = max(0.0, avg.get(t.service_id, 300) - elapsed)
    return forecast(hall_desks, waiting, free_in, streaks, avg, hall.max_priority_streak)


def _mixed_average(session: Session, hall: Hall, group: list[Any]) -> int:
    """A named counter's queue mixes services: use the average of their averages."""
    known = {r.service_id: hall.service(r.service_id) for r in group}
    values = [average_service_s(session, hall.id, s) for s in known.values() if s is not None]
    return round(sum(values) / len(values)) if values else 300


def ahead_count(session: Session, row: TicketRow) -> int:
    """How many waiting tickets of the same queue go before this one (estimate.queue_key, in SQL)."""
    same_queue = (
        TicketRow.target_counter == row.target_counter
        if row.target_counter is not None
        else (TicketRow.service_id == row.service_id) & TicketRow.target_counter.is_(None)
    )
    earlier = or_(
        TicketRow.order_at < row.order_at,
        (TicketRow.order_at == row.order_at) & (TicketRow.seq < row.seq),
    )
    if row.priority:
        before = TicketRow.priority.is_(True) & earlier
    else:  # every priority ticket goes first, then earlier normal ones
        before = TicketRow.priority.is_(True) | (TicketRow.priority.is_(False) & earlier)
    return (
        session.scalar(
            select(func.count()).where(
                TicketRow.hall_id == row.hall_id,
                TicketRow.status == TicketStatus.WAITING.value,
                TicketRow.id != row.id,
                same_queue,
                before,
            )
        )
        or 0
    )


def place(session: Session, hall: Hall, row: TicketRow, now: datetime | None = None) -> Place:
    """People ahead, estimated wait and `served_now` for a waiting ticket; (0, 0, True) otherwise.

    A ticket already called is being served, so `served_now` is true for it.
    """
    if row.status != TicketStatus.WAITING.value:
        return Place(0, 0, True)
    if row.target_counter is not None:  # a short queue at one counter: same numbers as the live updates
        found = places(session, hall, (), (row.target_counter,), now).get(row.id)
        return found[1] if found is not None else Place(0, 0, False)
    ahead = ahead_count(session, row)
    hall_desks = desks(session, hall)
    served = served_now(hall_desks, row.service_id)
    service = hall.service(row.service_id)
    if service is None:  # a service removed from the config while tickets wait for it
        return Place(ahead, est_wait_s(ahead, 300, 1), served)
    forecast = hall_forecast(session, hall, hall_desks, now)
    if row.id in forecast:
        return Place(ahead, forecast[row.id], served)
    est = est_wait_s(ahead, average_service_s(session, hall.id, service), servers_of(service.id, hall_desks))
    return Place(ahead, est, served)
