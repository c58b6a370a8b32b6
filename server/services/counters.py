"""The clerk's actions at a counter: open, call, serve, hand over, and the A/B cover."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, Integer, String, Table, Text, bindparam, func, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import Grouping

from server.engine import rules
from server.engine.errors import HallError, invalid
from server.engine.events import Called, CounterChanged, Event, QueueChanged, TicketChanged
from server.engine.model import Counter, CounterState, Hall, Outcome, TicketStatus
from server.engine.rules import Candidate
from server.store import raw
from server.store.db import connection, defer_inserts, write_changes
from server.store.expressions import seconds_between
from server.store.models import ApiTokenRow, CounterRow, LedgerRow, MatterRow, NoticeRow, TicketRow, UTCDateTime
from server.store.raw import Raw

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


@dataclass(frozen=True)
class Act:
    """What a counter action works with, inside its transaction (built by `_act`)."""

    s: Session
    hall: Hall
    counter: Counter
    row: CounterRow  # the counter's row, locked
    partner: CounterRow | None  # its partner's row, locked (None for the held-ticket actions)
    now: datetime  # read under the lock: the ledger's times follow the order things happened
    who: str | None  # the clerk the ledger names


Action = Callable[[Act], list[Event]]


_K = ApiTokenRow.__table__.c
# The bearer token the request came with, read in the action's own transaction: its id while valid, NULL
# once revoked (or gone). The API takes a token this process verified once without reading it again
# (auth.authenticate_token cached), so this is where a revocation by any process takes effect at once.
_TOKEN_LIVE = select(_K.id).where(_K.id == bindparam("token"), _K.revoked_at.is_(None)).scalar_subquery()
_CT, _TT = cast(Table, CounterRow.__table__), cast(Table, TicketRow.__table__)
_LOCK = (
    select(*_CT.c, *_TT.c)  # the rows' columns in table order: raw.attach makes them the models' instances
    .select_from(_CT.outerjoin(_TT, _TT.c.id == _CT.c.held_ticket))
    # two fixed parameters (the partner's, or the counter's again): an expanding IN is rendered per execution
    .where(_CT.c.id.in_([bindparam("id1"), bindparam("id2")]))
    .order_by(_CT.c.id)
    .with_for_update(of=_CT)
)
_LOCK_CHECKED = Raw(_LOCK.add_columns(_TOKEN_LIVE.label("token_live")))
_LOCK_RAW = Raw(_LOCK)


def _lock_pair(
    s: Session, hall: Hall, counter: Counter, with_partner: bool = True, token: str | None = None
) -> tuple[CounterRow, CounterRow | None]:
    """Lock a counter and its partner in id order (one statement), so two partners acting at once cannot
    deadlock (PostgreSQL; SQLite holds the write lock already). An action on the held ticket alone
    (`with_partner` false) locks only its own counter: the partner's state does not enter into it.
    The same statement reads each counter's held ticket (into the session: `_held` reads nothing more;
    only the counter that holds a ticket changes it) and, with a bearer `token`, whether the token is
    still valid: 401 when it was revoked."""
    ids = sorted({counter.id, *([counter.partner] if counter.partner and with_partner else [])})
    pair = {"id1": ids[0], "id2": ids[-1]}
    conn = connection(s)
    if token is None:
        found = _LOCK_RAW.rows(conn, pair)
    else:
        found = _LOCK_CHECKED.rows(conn, {**pair, "token": token})
        if found and found[0][-1] is None or not found and not _token_live(s, token):
            raise HallError("unauthorized", 401, "missing or invalid bearer token")
    n = raw.width(CounterRow)
    rows: dict[str, CounterRow] = {}
    for r in found:
        rows[r[0]] = raw.attach(s, CounterRow, r[:n])
        if r[n] is not None:  # the held ticket's row (none when its row is gone: `_held` then finds none)
            _keep(s, raw.attach(s, TicketRow, r[n : n + raw.width(TicketRow)]))
    for i in ids:
        if i not in rows:  # counters are seeded at start-up; this covers one added to the config since
            rows[i] = CounterRow(id=i, hall_id=hall.id, state="closed", priority_streak=0)
            s.add(rows[i])
            s.flush()
    return rows[counter.id], rows.get(counter.partner) if counter.partner and with_partner else None


def _keep(s: Session, *rows: object) -> None:
    """Hold these rows for the transaction: the session's identity map keeps only what is referenced, and a
    ticket read (or claimed) once must not be read again by the next `s.get`."""
    s.info.setdefault("keep", []).extend(rows)


def _token_live(s: Session, token: str) -> bool:
    """The token's validity on its own (a counter whose row is not seeded yet: nothing else to read)."""
    return s.scalar(select(_TOKEN_LIVE), {"token": token}) is not None


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
    token: str | None = None,
) -> Outcome_:
    """Run one action in one transaction; record cover lost or restored by any change of a counter's state
    (`moves_counters`: open, close, away, back; the ticket actions leave every counter's state as it was).
    `with_partner` false: the action works on the held ticket only and gets no partner row. `token`: the
    bearer token the request came with, refused (401, nothing written) when it was revoked meanwhile."""
    hall, counter = ctx.counter(counter_id)
    with ctx.db.write() as s:
        if not moves_counters:  # PostgreSQL: the row changes and the ledger line as one last statement
            defer_inserts(s)
        row, partner_row = _lock_pair(s, hall, counter, with_partner or moves_counters, token)
        now = ctx.clock.now()  # read under the lock: the ledger's times follow the order things happened
        before = rules.uncovered_counters(list(queue.desks(s, hall).values())) if moves_counters else set()
        events = action(Act(s, hall, counter, row, partner_row, now, clerk or row.clerk))
        if moves_counters:
            s.flush()
            after = rules.uncovered_counters(list(queue.desks(s, hall).values()))
            for lost in sorted(after - before):
                ledger.append(s, hall.id, "cover_lost", now, counter=lost)
            for regained in sorted(before - after):
                ledger.append(s, hall.id, "cover_restored", now, counter=regained)
        held = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
        touched = held or _touched(s, events)
        write_changes(s, last=True)  # the counter's and the ticket's changed columns (PostgreSQL: and COMMIT)
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


def open_counter(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
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

    return _act(ctx, counter_id, clerk, action, token=token, moves_counters=True)


def close_counter(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, partner_row, now, who = a.s, a.hall, a.counter, a.row, a.partner, a.now, a.who
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

    return _act(ctx, counter_id, clerk, action, token=token, moves_counters=True)


def call_next(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, partner_row, now, who = a.s, a.hall, a.counter, a.row, a.partner, a.now, a.who
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "this counter still holds a ticket")
        desk = _desk(hall, row, counter.id)
        partner = _desk(hall, partner_row, counter.partner)
        assert desk is not None
        if desk.state is not CounterState.OPEN:
            raise HallError("counter_not_open", 409, "open the counter before calling")
        served = rules.covered_counters(desk, partner)
        services = {sid for cid in served for c in [hall.counter(cid)] if c is not None for sid in c.services}
        taken: set[str] = set()  # tickets other counters claimed while we chose
        # checked-in appointments are read only where a service of this counter takes them (one statement less)
        booked = any(sv is not None and sv.booking is not None for sv in map(hall.service, services))
        pg = s.get_bind().dialect.name == "postgresql"
        while True:
            waiting = queue.call_candidates(s, hall.id, services, served, taken)
            if booked:
                waiting += appointments.appointment_candidates(s, hall.id, services, taken, waiting)
            # SQLite holds the write lock: the first choice is free. PostgreSQL: the next few, in order, so
            # that a ticket another counter is claiming right now is passed over in the same statement.
            choices = _choices(desk, partner, waiting, row.priority_streak, hall.max_priority_streak, now, pg)
            if not choices:
                return []
            claimed = _claim(a, choices, pg)
            if claimed is not None:
                break
            taken.update(c.ticket.id for c in choices)
        ticket, choice = claimed
        _keep(s, ticket)
        if not pg:  # PostgreSQL's claim wrote the ledger line and the counter's row in the same statement
            row.priority_streak = rules.next_priority_streak(row.priority_streak, choice)
            row.held_ticket = ticket.id
            ledger.insert(
                s, hall.id, "called", now, ticket_id=ticket.id, counter=counter.id, clerk=who,
                on_behalf_of=choice.on_behalf_of, **_called_detail(choice),
            )  # fmt: skip
        outbox.emit(s, hall, "ticket.called", outbox.ticket_data(ticket, recall=False), now, subject=ticket.id)
        return [
            _called(hall, counter, ticket, False, now),
            QueueChanged(hall.id, frozenset({choice.ticket.service}), frozenset(served)),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action, token=token)


CLAIM_CHOICES = 8  # PostgreSQL: as many as counters may race for the same head of a queue


def _choices(
    desk: rules.Desk,
    partner: rules.Desk | None,
    waiting: list[Candidate],
    streak: int,
    max_streak: int,
    now: datetime,
    several: bool,
) -> list[rules.Choice]:
    """The engine's choice, then (`several`) what it would choose were that one gone, and so on."""
    out: list[rules.Choice] = []
    left = waiting
    while len(out) < (CLAIM_CHOICES if several else 1):
        choice = rules.call_next(desk, partner, left, streak, max_streak, now)
        if choice is None:
            break
        out.append(choice)
        left = [c for c in left if c.id != choice.ticket.id]
    return out


def _called_detail(choice: rules.Choice) -> dict[str, Any]:
    """The `called` ledger line's detail (as ledger.append would write it: None values left out)."""
    return {"reason": choice.reason, "service": choice.ticket.service}


def _claim(a: Act, choices: list[rules.Choice], pg: bool) -> tuple[TicketRow, rules.Choice] | None:
    """Atomically move the first still-waiting ticket of `choices` to `called` at this counter; None when
    other counters got every one first.

    The ticket's columns (and its wait total, as the ledger's Clock adds it: store.expressions) are set by
    the claim itself. PostgreSQL: one statement also locks the choices SKIP LOCKED (a ticket another
    counter is claiming is passed over, not waited for), writes the `called` ledger line and the counter's
    held ticket and priority streak. SQLite holds the write lock already: the guarded UPDATE … RETURNING
    claims exactly once; the caller writes the rest.
    """
    params: dict[str, Any] = {"counter": a.counter.id, "now": a.now, "who": a.who}
    if not pg:
        choice = choices[0]
        params |= {"ticket": choice.ticket.id, "behalf": choice.on_behalf_of}
        found = _CLAIM.first(connection(a.s), params)
        return (raw.attach(a.s, TicketRow, found), choice) if found is not None else None
    params |= {
        "hall": a.hall.id,
        "ids": [c.ticket.id for c in choices],
        "behalf": [c.on_behalf_of for c in choices],
        "streaks": [rules.next_priority_streak(a.row.priority_streak, c) for c in choices],
        "details": [json.dumps(_called_detail(c)) for c in choices],
    }
    got = _CLAIM_PG.first(connection(a.s), params)
    if got is None:
        return None
    ticket, index = raw.attach(a.s, TicketRow, got[:-1]), got[-1]
    choice = choices[index - 1]
    streak = params["streaks"][index - 1]
    for key, value in (("held_ticket", ticket.id), ("priority_streak", streak)):
        set_committed_value(a.row, key, value)  # written by the statement: nothing left to flush
    return ticket, choice


_T = TicketRow.__table__.c
_L = cast(Table, LedgerRow.__table__)
_NOW = bindparam("now", type_=UTCDateTime())
_COUNTER = bindparam("counter", type_=String())


def _called_values(behalf: Any) -> dict[str, Any]:
    """A claimed ticket's columns: what `called` changes (the ledger's Clock: the wait ends now)."""
    return {
        "status": TicketStatus.CALLED.value,
        "counter_id": _COUNTER,
        "served_by": _COUNTER,
        "called_at": _NOW,
        "target_counter": None,
        "on_behalf_of": behalf,
        "clerk": bindparam("who", type_=String()),
        "owner_counter": func.coalesce(_T.owner_counter, _COUNTER),  # 首问负责: the first counter owns it
        "wait_s": _T.wait_s + func.coalesce(seconds_between(_T.waiting_since, _NOW), 0),
        "waiting_since": None,
    }


# A Core UPDATE … RETURNING, its row made the ORM's TicketRow by raw.attach.
_CLAIM = Raw(
    update(_TT)
    .where(_T.id == bindparam("ticket"), _T.status == TicketStatus.WAITING.value)
    .values(_called_values(bindparam("behalf", type_=String())))
    .returning(*_TT.c)
)


def _array(name: str, item: Any) -> Any:
    """A bound list as a PostgreSQL array, in parentheses so that it can be subscripted (1-based)."""
    return Grouping(sql_cast(bindparam(name), ARRAY(item)))


def _claim_pg() -> Any:
    """PostgreSQL's claim, one statement: lock the first of the choices still waiting and not being claimed
    (SKIP LOCKED), claim it, write its `called` line and the counter's row; the ticket and its choice's
    place (from 1) come back."""
    tickets, counters_ = cast(Table, TicketRow.__table__), cast(Table, CounterRow.__table__)
    choices = func.unnest(bindparam("ids", type_=ARRAY(String()))).table_valued("id", with_ordinality="ord")
    choices = choices.render_derived("choice")
    pick = (
        select(tickets.c.id, choices.c.ord)
        .join_from(tickets, choices, tickets.c.id == choices.c.id)
        .where(tickets.c.status == TicketStatus.WAITING.value)
        .order_by(choices.c.ord)
        .limit(1)
        .with_for_update(of=tickets, skip_locked=True)
        .cte("pick")
    )
    behalf = _array("behalf", String())[pick.c.ord]
    claimed = (
        update(tickets)
        .where(tickets.c.id == pick.c.id, tickets.c.status == TicketStatus.WAITING.value)
        .values(_called_values(behalf))
        .returning(*tickets.c, pick.c.ord.label("choice"))
        .cte("claimed")
    )
    line = _L.insert().from_select(
        ["hall_id", "at", "kind", "ticket_id", "counter_id", "clerk", "on_behalf_of", "detail"],
        select(
            bindparam("hall", type_=String()), _NOW, literal("called"), claimed.c.id, _COUNTER,
            bindparam("who", type_=String()), claimed.c.on_behalf_of,
            sql_cast(_array("details", Text())[claimed.c.choice], _L.c.detail.type),
        ),
    ).cte("line")  # fmt: skip
    held = (
        update(counters_)
        .where(counters_.c.id == claimed.c.counter_id)  # the claim set it to this counter
        .values(
            held_ticket=claimed.c.id,
            priority_streak=_array("streaks", Integer())[claimed.c.choice],
        )
        .cte("held")
    )
    # the ticket's columns in table order (raw.attach), then the choice's place
    return select(*(claimed.c[c.key] for c in tickets.c), claimed.c.choice).add_cte(line, held)


_CLAIM_PG = Raw(_claim_pg())


def recall(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        ticket = _held(s, row, "recall")
        rules.check_recall(ticket.recalls, hall.max_recalls)  # then the clerk marks a no-show
        ticket.recalls += 1
        _log(s, hall, "recalled", now, ticket, counter, who, count=ticket.recalls, service=ticket.service_id)
        outbox.emit(s, hall, "ticket.called", outbox.ticket_data(ticket, recall=True), now, subject=ticket.id)
        return [
            _called(hall, counter, ticket, True, now),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action, token=token, with_partner=False)


def start(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        ticket = _held(s, row, "start")
        ticket.status = TicketStatus.SERVING.value
        ticket.started_at = now  # like called_at, the latest passage; the ledger keeps every one
        _log(s, hall, "started", now, ticket, counter, who)
        return [TicketChanged(hall.id, ticket.id)]

    return _act(ctx, counter_id, clerk, action, token=token, with_partner=False)


def finish(
    ctx: Context,
    counter_id: str,
    clerk: str | None,
    outcome: str,
    note: str | None,
    missing: list[str] | None,
    *,
    token: str | None = None,
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

    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        ticket = _held(s, row, "finish")
        service = hall.service(ticket.service_id)
        if result is Outcome.ACCEPTED and service is not None:
            matters.check_accepted(service)
            if ticket.pickup_of is not None:  # it would open a second matter and leave the first unpicked
                raise invalid("a 领取 ticket hands its matter's result over: finish it as 'completed'")
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

    done, events = _act(ctx, counter_id, clerk, action, token=token, with_partner=False)
    if written:
        done = replace(done, notice=written[0])
    return (replace(done, matter=opened[0][0], receipt_token=opened[0][1]) if opened else done), events


def no_show(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        ticket = _held(s, row, "no_show")
        ticket.status = TicketStatus.NO_SHOW.value
        ticket.finished_at = now
        row.held_ticket = None
        _log(s, hall, "no_show", now, ticket, counter, who, recalls=ticket.recalls)
        outbox.emit(s, hall, "ticket.no_show", outbox.ticket_data(ticket, counter=counter.id), now, subject=ticket.id)
        return [TicketChanged(hall.id, ticket.id)]

    return _act(ctx, counter_id, clerk, action, token=token, with_partner=False)


def transfer(
    ctx: Context,
    counter_id: str,
    clerk: str | None,
    service_id: str | None,
    to_counter: str | None,
    reason: str | None = None,
    *,
    token: str | None = None,
) -> Outcome_:
    """Send the held ticket to another service's queue or to a named counter, keeping its place in time.

    首问负责: the first counter stays the owner; each transfer's ledger line names the counter and
    clerk that handed it on (and why), so the chain of clerks is the ticket's `transferred` lines in order;
    the receiving counter's screen shows the latest one.
    """
    if (service_id is None) == (to_counter is None):
        raise invalid("give exactly one of 'service' or 'counter'")

    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
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

    return _act(ctx, counter_id, clerk, action, token=token, with_partner=False)


def away(ctx: Context, counter_id: str, clerk: str | None, reason: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, partner_row, now, who = a.s, a.hall, a.counter, a.row, a.partner, a.now, a.who
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "finish, transfer or no-show the held ticket first")
        desk = _desk(hall, row, counter.id)
        assert desk is not None
        rules.check_away(desk, _desk(hall, partner_row, counter.partner))
        row.state, row.since, row.away_reason = CounterState.AWAY.value, now, reason
        ledger.append(s, hall.id, "away", now, counter=counter.id, clerk=who, covered_by=counter.partner, reason=reason)
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter), CounterChanged(hall.id, counter.partner or "")]

    return _act(ctx, counter_id, clerk, action, token=token, moves_counters=True)


def back(ctx: Context, counter_id: str, clerk: str | None, *, token: str | None = None) -> Outcome_:
    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        desk = _desk(hall, row, counter.id)
        assert desk is not None
        rules.check_back(desk)
        row.state, row.since, row.away_reason = CounterState.OPEN.value, now, None
        if clerk and not row.clerk:
            row.clerk = clerk
        ledger.append(s, hall.id, "back", now, counter=counter.id, clerk=clerk or who)
        outbox.emit(s, hall, "counter.changed", {"counter": counter.id, "state": row.state}, now, subject=counter.id)
        return [_served_changed(hall, counter), CounterChanged(hall.id, counter.partner or "")]

    return _act(ctx, counter_id, clerk, action, token=token, moves_counters=True)


def current(ctx: Context, counter_id: str) -> Result:
    """The counter's state and the ticket it holds, read fresh from the database."""
    hall, counter = ctx.counter(counter_id)
    with ctx.db.read() as s:
        row = s.get(CounterRow, counter_id) or CounterRow(id=counter_id, hall_id=hall.id, state="closed")
        held = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
    return Result(hall, counter, row, held)
