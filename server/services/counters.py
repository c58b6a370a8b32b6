"""The clerk's actions at a counter: open, call, serve, hand over, and the A/B cover."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server.engine import rules
from server.engine.errors import HallError, invalid
from server.engine.events import Called, CounterChanged, Event, QueueChanged, TicketChanged
from server.engine.model import Counter, CounterState, Hall, Outcome, TicketStatus
from server.store.db import write_changes
from server.store.models import CounterRow, MatterRow, NoticeRow, TicketRow

from . import appointments, ledger, matters, notices, outbox, queue
from .context import Context


@dataclass(frozen=True)
class Result:
    """What every counter action answers: the counter and the ticket it now holds (or touched)."""

    hall: Hall
    counter: Counter
    counter_row: CounterRow
    ticket: TicketRow | None
    notice: NoticeRow | None = None  # 一次性告知 written by this action (finish as incomplete)
    matter: MatterRow | None = None  # 办件 opened by this action (a promised service finished as accepted)
    receipt_token: str | None = None  # its receipt's QR link token (受理回执), shown once: for the printer


Outcome_ = tuple[Result, list[Event]]
# One counter action inside its transaction: (session, hall, counter, its row, its partner's row, now, clerk).
Action = Callable[[Session, Hall, Counter, CounterRow, CounterRow | None, datetime, str | None], list[Event]]


_LOCK = (
    select(CounterRow)
    .where(CounterRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(CounterRow.id)
    .with_for_update()
)


def _lock_pair(
    s: Session, hall: Hall, counter: Counter, with_partner: bool = True
) -> tuple[CounterRow, CounterRow | None]:
    """Lock a counter and its partner in id order (one statement), so two partners acting at once cannot
    deadlock (PostgreSQL; SQLite holds the write lock already). An action on the held ticket alone
    (`with_partner` false) locks only its own counter: the partner's state does not enter into it."""
    ids = sorted({counter.id, *([counter.partner] if counter.partner and with_partner else [])})
    rows = {r.id: r for r in s.scalars(_LOCK, {"ids": ids})}
    for i in ids:
        if i not in rows:  # counters are seeded at start-up; this covers one added to the config since
            rows[i] = CounterRow(id=i, hall_id=hall.id, state="closed", priority_streak=0)
            s.add(rows[i])
            s.flush()
    return rows[counter.id], rows.get(counter.partner) if counter.partner and with_partner else None


def _desk(hall: Hall, row: CounterRow | None, counter_id: str | None) -> rules.Desk | None:
    if counter_id is None:
        return None
    counter = hall.counter(counter_id)
    if counter is None:
        return None
    return rules.Desk(counter, CounterState(row.state if row is not None else "closed"))


def _act(
    ctx: Context,
    counter_id: str,
    clerk: str | None,
    action: Action,
    moves_counters: bool = False,
    with_partner: bool = True,
) -> Outcome_:
    """Run one action in one transaction; record cover lost or restored by any change of a counter's state
    (`moves_counters`: open, close, away, back; the ticket actions leave every counter's state as it was).
    `with_partner` false: the action works on the held ticket only and gets no partner row."""
    hall, counter = ctx.counter(counter_id)
    with ctx.db.write() as s:
        row, partner_row = _lock_pair(s, hall, counter, with_partner or moves_counters)
        now = ctx.clock.now()  # read under the lock: the ledger's times follow the order things happened
        before = rules.uncovered_counters(list(queue.desks(s, hall).values())) if moves_counters else set()
        events = action(s, hall, counter, row, partner_row, now, clerk or row.clerk)
        if moves_counters:
            s.flush()
            after = rules.uncovered_counters(list(queue.desks(s, hall).values()))
            for lost in sorted(after - before):
                ledger.append(s, hall.id, "cover_lost", now, counter=lost)
            for regained in sorted(before - after):
                ledger.append(s, hall.id, "cover_restored", now, counter=regained)
        held = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
        touched = held or _touched(s, events)
        write_changes(s)  # the counter's and the ticket's changed columns, one UPDATE each
    events.append(CounterChanged(hall.id, counter.id))
    return Result(hall, counter, row, touched), events


def _touched(s: Session, events: list[Event]) -> TicketRow | None:
    for e in events:
        if isinstance(e, TicketChanged):
            return s.get(TicketRow, e.ticket)
    return None


def _held(s: Session, row: CounterRow, action: str) -> TicketRow:
    ticket = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
    rules.check_action(action, TicketStatus(ticket.status) if ticket else None)
    assert ticket is not None
    return ticket


def _called(hall: Hall, counter: Counter, ticket: TicketRow, recall: bool, now: datetime) -> Called:
    """What the display announces: 请 <number> 号到 <counter> 办理."""
    return Called(
        hall.id, ticket.id, ticket.number, counter.id, counter.name, counter.number, ticket.service_id, recall, now,
        appointment=ticket.appointment_id is not None, pickup=ticket.pickup_of is not None,
    )  # fmt: skip


def _log(
    s: Session, hall: Hall, kind: str, at: datetime, ticket: TicketRow, counter: Counter, who: str | None, **detail: Any
) -> None:
    """A ledger line for something a counter did to a ticket, on whoever's behalf it serves."""
    ledger.append(
        s, hall.id, kind, at, ticket=ticket, counter=counter.id, clerk=who, on_behalf_of=ticket.on_behalf_of, **detail
    )


def _served_changed(hall: Hall, counter: Counter) -> QueueChanged:
    """A counter's state changed: its queues' places, estimates and `served_now` may all differ."""
    partner = hall.counter(counter.partner or "")
    services = {*counter.services, *(partner.services if partner else ())}
    ids = {counter.id, *([partner.id] if partner else [])}
    return QueueChanged(hall.id, frozenset(services), frozenset(ids), served_changed=True)


def open_counter(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        if row.state == CounterState.OPEN.value:
            return []
        if row.state == CounterState.AWAY.value:
            raise HallError("counter_away", 409, "the counter is away: use back")
        # A clerk signed in here stays so when a call button (no person) opens the counter.
        row.state, row.since, row.clerk, row.priority_streak = CounterState.OPEN.value, now, row.clerk or clerk, 0
        # The profile as it was, so cover.uncovered can replay the day even after the config changed.
        ledger.append(
            s, hall.id, "counter_opened", now, counter=counter.id, clerk=who,
            services=list(counter.services), partner=counter.partner,
        )  # fmt: skip
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter)]

    return _act(ctx, counter_id, clerk, action, moves_counters=True)


def close_counter(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner_row: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "finish, transfer or no-show the held ticket first")
        if row.state == CounterState.CLOSED.value:
            return []
        desk, partner_desk = _desk(hall, row, counter.id), _desk(hall, partner_row, counter.partner)
        assert desk is not None
        rules.check_close(desk, partner_desk)
        row.state, row.since, row.away_reason = CounterState.CLOSED.value, now, None
        ledger.append(s, hall.id, "counter_closed", now, counter=counter.id, clerk=who)
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter)]

    return _act(ctx, counter_id, clerk, action, moves_counters=True)


def call_next(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner_row: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "this counter still holds a ticket")
        desk = _desk(hall, row, counter.id)
        partner = _desk(hall, partner_row, counter.partner)
        assert desk is not None
        if desk.state is not CounterState.OPEN:
            raise HallError("counter_not_open", 409, "open the counter before calling")
        served = rules.covered_counters(desk, partner)
        services = {sid for cid in served for c in [hall.counter(cid)] if c is not None for sid in c.services}
        taken: set[str] = set()  # tickets another process claimed while we chose
        # checked-in appointments are read only where a service of this counter takes them (one statement less)
        booked = any(sv is not None and sv.booking is not None for sv in map(hall.service, services))
        while True:
            waiting = queue.call_candidates(s, hall.id, services, served, taken)
            if booked:
                waiting += appointments.appointment_candidates(s, hall.id, services, taken, waiting)
            choice = rules.call_next(desk, partner, waiting, row.priority_streak, hall.max_priority_streak, now)
            if choice is None:
                return []
            ticket = _claim(s, choice.ticket.id, counter.id, now)
            if ticket is not None:
                break
            taken.add(choice.ticket.id)
        row.priority_streak = rules.next_priority_streak(row.priority_streak, choice)
        row.held_ticket = ticket.id
        ticket.target_counter = None
        ticket.on_behalf_of = choice.on_behalf_of
        ticket.clerk = who
        if ticket.owner_counter is None:
            ticket.owner_counter = counter.id  # 首问负责: the first counter owns the matter
        _log(s, hall, "called", now, ticket, counter, who, reason=choice.reason, service=ticket.service_id)
        outbox.emit(s, hall, "ticket.called", outbox.ticket_data(ticket, recall=False), now, subject=ticket.id)
        return [
            _called(hall, counter, ticket, False, now),
            QueueChanged(hall.id, frozenset({choice.ticket.service}), frozenset(served)),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action)


def _claim(s: Session, ticket_id: str, counter_id: str, now: Any) -> TicketRow | None:
    """Atomically move one waiting ticket to `called`; None when another counter got it first.

    PostgreSQL: the row is locked with SKIP LOCKED, so a concurrent claimer passes over it
    instead of waiting; the guarded UPDATE … RETURNING then makes the claim exactly once on
    both databases (SQLite already holds the write lock from BEGIN IMMEDIATE).
    """
    params = {"ticket": ticket_id, "counter": counter_id, "now": now}
    claim = _CLAIM_PG if s.get_bind().dialect.name == "postgresql" else _CLAIM
    return s.scalars(claim, params, execution_options={"populate_existing": True}).first()


_SKIP_LOCKED = (
    select(TicketRow.id)
    .where(TicketRow.id == bindparam("ticket"), TicketRow.status == TicketStatus.WAITING.value)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIMED = {
    "status": TicketStatus.CALLED.value,
    "counter_id": bindparam("counter"),
    "called_at": bindparam("now"),
    "served_by": bindparam("counter"),
}
_CLAIM = (
    update(TicketRow)
    .where(TicketRow.id == bindparam("ticket"), TicketRow.status == TicketStatus.WAITING.value)
    .values(_CLAIMED)
    .returning(TicketRow)
    .execution_options(synchronize_session=False)
)
# PostgreSQL, one round trip: the row is locked SKIP LOCKED in a subquery (a row another counter is
# claiming yields NULL: no row updated, None), and the same guarded UPDATE then claims it.
_CLAIM_PG = (
    update(TicketRow)
    .where(TicketRow.id == _SKIP_LOCKED, TicketRow.status == TicketStatus.WAITING.value)
    .values(_CLAIMED)
    .returning(TicketRow)
    .execution_options(synchronize_session=False)
)


def recall(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        ticket = _held(s, row, "recall")
        rules.check_recall(ticket.recalls, hall.max_recalls)  # then the clerk marks a no-show
        ticket.recalls += 1
        _log(s, hall, "recalled", now, ticket, counter, who, count=ticket.recalls, service=ticket.service_id)
        outbox.emit(s, hall, "ticket.called", outbox.ticket_data(ticket, recall=True), now, subject=ticket.id)
        return [
            _called(hall, counter, ticket, True, now),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action, with_partner=False)


def start(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        ticket = _held(s, row, "start")
        ticket.status = TicketStatus.SERVING.value
        ticket.started_at = now  # like called_at, the latest passage; the ledger keeps every one
        _log(s, hall, "started", now, ticket, counter, who)
        return [TicketChanged(hall.id, ticket.id)]

    return _act(ctx, counter_id, clerk, action, with_partner=False)


def finish(
    ctx: Context, counter_id: str, clerk: str | None, outcome: str, note: str | None, missing: list[str] | None
) -> Outcome_:
    """End the held ticket's matter; `incomplete` with missing items (or a note) writes the 一次性告知 notice."""
    written: list[NoticeRow] = []
    opened: list[tuple[MatterRow, str]] = []
    try:
        result = Outcome(outcome)
    except ValueError:
        raise invalid(f"outcome must be one of {', '.join(o.value for o in Outcome)}") from None
    if missing and result is not Outcome.INCOMPLETE:
        raise invalid("missing materials are listed only with the outcome 'incomplete'")

    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        ticket = _held(s, row, "finish")
        service = hall.service(ticket.service_id)
        if result is Outcome.ACCEPTED and service is not None:
            matters.check_accepted(service)
        from_call = ticket.status == TicketStatus.CALLED.value
        if from_call:  # finished without start: service counts from the call (engine/timing.py, docs/api.md)
            ticket.started_at = ticket.called_at
        ticket.status = TicketStatus.DONE.value
        ticket.finished_at = now
        ticket.outcome, ticket.note, ticket.missing = result.value, note, missing or None
        ticket.served_by, ticket.clerk = counter.id, who
        row.held_ticket = None
        notice = None
        if result is Outcome.INCOMPLETE and (missing or note):
            notice = notices.create(s, hall, ticket, counter.id, who, missing or [], note, now)
            written.append(notice)
        _log(
            s, hall, "finished", now, ticket, counter, who,
            outcome=result.value, missing=missing or None, without_start=from_call or None,
            notice=notice.id if notice else None,
        )  # fmt: skip
        outbox.emit(
            s, hall, "ticket.finished", outbox.ticket_data(ticket, outcome=result.value), now, subject=ticket.id
        )
        if result is Outcome.ACCEPTED and service is not None:  # the matter outlives the visit (办件)
            opened.append(matters.open_for_ticket(s, hall, service, ticket, counter.id, who, now))
        elif result is Outcome.COMPLETED and ticket.pickup_of is not None:
            # a 领取 ticket done: the matter's result is handed over (picked_up); its first ticket's page follows
            first = matters.handed_over(s, hall, ticket, who, now)
            if first is not None:
                return [TicketChanged(hall.id, ticket.id), TicketChanged(hall.id, first)]
        return [TicketChanged(hall.id, ticket.id)]

    done, events = _act(ctx, counter_id, clerk, action, with_partner=False)
    if written:
        done = replace(done, notice=written[0])
    return (replace(done, matter=opened[0][0], receipt_token=opened[0][1]) if opened else done), events


def no_show(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        ticket = _held(s, row, "no_show")
        ticket.status = TicketStatus.NO_SHOW.value
        ticket.finished_at = now
        row.held_ticket = None
        _log(s, hall, "no_show", now, ticket, counter, who, recalls=ticket.recalls)
        outbox.emit(s, hall, "ticket.no_show", outbox.ticket_data(ticket, counter=counter.id), now, subject=ticket.id)
        return [TicketChanged(hall.id, ticket.id)]

    return _act(ctx, counter_id, clerk, action, with_partner=False)


def transfer(
    ctx: Context,
    counter_id: str,
    clerk: str | None,
    service_id: str | None,
    to_counter: str | None,
    reason: str | None = None,
) -> Outcome_:
    """Send the held ticket to another service's queue or to a named counter, keeping its place in time.

    首问负责: the first counter stays the owner; each transfer's ledger line names the counter and
    clerk that handed it on (and why), so the chain of clerks is the ticket's `transferred` lines in order;
    the receiving counter's screen shows the latest one.
    """
    if (service_id is None) == (to_counter is None):
        raise invalid("give exactly one of 'service' or 'counter'")

    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        if service_id is not None:
            ctx.service(hall, service_id)
        if to_counter is not None:
            target = hall.counter(to_counter)
            if target is None:
                raise HallError("not_found", 404, f"unknown counter in this hall: {to_counter:.40}")
            if to_counter == counter.id:
                raise HallError("same_counter", 409, "the ticket is already at this counter")
            hall_desks = queue.desks(s, hall)
            rules.check_transfer_to(hall_desks[target.id], hall_desks.get(target.partner or ""))
        ticket = _held(s, row, "transfer")
        from_service = ticket.service_id
        ticket.status = TicketStatus.WAITING.value
        ticket.service_id = service_id or ticket.service_id
        ticket.target_counter = to_counter
        ticket.counter_id = None
        ticket.transfers += 1
        row.held_ticket = None
        detail = {
            "from_service": from_service,
            "to_service": service_id,
            "to_counter": to_counter,
            "owner": ticket.owner_counter,
            "reason": reason,
        }
        _log(s, hall, "transferred", now, ticket, counter, who, **detail)
        outbox.emit(
            s, hall, "ticket.transferred", outbox.ticket_data(ticket, from_service=from_service), now, subject=ticket.id
        )
        ticket.on_behalf_of = None
        ticket.served_by = None  # waiting again: nobody serves it until the next call
        return [
            QueueChanged(hall.id, frozenset({ticket.service_id}), frozenset({to_counter} if to_counter else ())),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action, with_partner=False)


def away(ctx: Context, counter_id: str, clerk: str | None, reason: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner_row: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "finish, transfer or no-show the held ticket first")
        desk = _desk(hall, row, counter.id)
        assert desk is not None
        rules.check_away(desk, _desk(hall, partner_row, counter.partner))
        row.state, row.since, row.away_reason = CounterState.AWAY.value, now, reason
        ledger.append(s, hall.id, "away", now, counter=counter.id, clerk=who, covered_by=counter.partner, reason=reason)
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter), CounterChanged(hall.id, counter.partner or "")]

    return _act(ctx, counter_id, clerk, action, moves_counters=True)


def back(ctx: Context, counter_id: str, clerk: str | None) -> Outcome_:
    def action(
        s: Session,
        hall: Hall,
        counter: Counter,
        row: CounterRow,
        partner: CounterRow | None,
        now: datetime,
        who: str | None,
    ) -> list[Event]:
        desk = _desk(hall, row, counter.id)
        assert desk is not None
        rules.check_back(desk)
        row.state, row.since, row.away_reason = CounterState.OPEN.value, now, None
        if clerk and not row.clerk:
            row.clerk = clerk
        ledger.append(s, hall.id, "back", now, counter=counter.id, clerk=clerk or who)
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter), CounterChanged(hall.id, counter.partner or "")]

    return _act(ctx, counter_id, clerk, action, moves_counters=True)


def current(ctx: Context, counter_id: str) -> Result:
    """The counter's state and the ticket it holds, read fresh from the database."""
    hall, counter = ctx.counter(counter_id)
    with ctx.db.read() as s:
        row = s.get(CounterRow, counter_id) or CounterRow(id=counter_id, hall_id=hall.id, state="closed")
        held = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
    return Result(hall, counter, row, held)
