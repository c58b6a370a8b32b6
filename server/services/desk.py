"""The clerk at the counter: signing in and out (考勤), and everything the counter screen shows.

While a clerk is signed in at a counter, every action there records that clerk, including a
hardware call button's (its token names no person): the counter row's `clerk` is who is signed in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.engine import rules
from server.engine.errors import HallError
from server.engine.events import CounterChanged, Event
from server.engine.figures import OUTCOMES
from server.engine.model import CounterState, Hall, ServiceKind, TicketStatus
from server.store.models import CounterRow, LedgerRow, MatterRow, NoticeRow, TicketRow

from . import help_calls, ledger, parking, queue, views
from .context import Context
from .counters import Result, _lock_pair

WAITING_SHOWN = 30  # the screen lists this many in call order; the count covers the rest


def sign_in(ctx: Context, counter_id: str, clerk: str, takeover: bool = False) -> tuple[Result, list[Event]]:
    """Sign `clerk` in at a counter; another clerk signed in there is replaced only with `takeover`.

    A clerk works one counter at a time: signing in here signs them out wherever else they were.
    """
    hall, counter = ctx.counter(counter_id)
    events: list[Event] = [CounterChanged(hall.id, counter.id)]
    with ctx.db.write() as s:
        row, _ = _lock_pair(s, hall, counter)
        now = ctx.clock.now()
        previous = row.clerk
        if previous and previous != clerk and not takeover:
            raise HallError("counter_taken", 409, f"{previous} is signed in at this counter; take over to replace them")
        for other in s.scalars(select(CounterRow).where(CounterRow.clerk == clerk, CounterRow.id != counter.id)):
            other.clerk = None
            ledger.append(s, other.hall_id, "signed_out", now, counter=other.id, clerk=clerk, moved_to=counter.id)
            events.append(CounterChanged(other.hall_id, other.id))
        if previous != clerk:
            if previous:
                ledger.append(s, hall.id, "signed_out", now, counter=counter.id, clerk=previous, taken_over_by=clerk)
            row.clerk = clerk
            ledger.append(s, hall.id, "signed_in", now, counter=counter.id, clerk=clerk, took_over_from=previous)
        held = s.get(TicketRow, row.held_ticket) if row.held_ticket else None
    return Result(hall, counter, row, held), events


def sign_out(ctx: Context, clerk: str, counter_id: str | None = None) -> list[Event]:
    """Sign `clerk` out of a counter (or of every counter): the counter's state is left as it is."""
    events: list[Event] = []
    with ctx.db.write() as s:
        query = select(CounterRow).where(CounterRow.clerk == clerk)
        if counter_id is not None:
            query = query.where(CounterRow.id == counter_id)
        now = ctx.clock.now()
        for row in s.scalars(query.with_for_update()):
            row.clerk = None
            ledger.append(s, row.hall_id, "signed_out", now, counter=row.id, clerk=clerk)
            events.append(CounterChanged(row.hall_id, row.id))
    return events


def signed_in_at(ctx: Context, clerk: str) -> str | None:
    """The counter this clerk is signed in at, if any."""
    with ctx.db.read() as s:
        return s.scalars(select(CounterRow.id).where(CounterRow.clerk == clerk)).first()


def signed_in_clerk(ctx: Context, counter_id: str) -> str | None:
    """Who is signed in at this counter, if anyone."""
    with ctx.db.query() as conn:
        return conn.execute(select(CounterRow.clerk).where(CounterRow.id == counter_id)).scalar()


def board(ctx: Context, hall_id: str) -> list[dict[str, Any]]:
    """The hall's counters with their state and who is signed in (the counter chooser)."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = {r.id: r for r in s.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id))}
    return [{**views.counter(c, rows.get(c.id)), "clerk": _clerk(rows.get(c.id))} for c in hall.counters]


def _clerk(row: CounterRow | None) -> str | None:
    return row.clerk if row is not None else None


def snapshot(ctx: Context, counter_id: str, viewer: str | None = None) -> dict[str, Any]:
    """Everything the counter screen shows, read in one go: GET /api/v1/counters/{counter}/desk."""
    hall, counter = ctx.counter(counter_id)
    now = ctx.clock.now()
    with ctx.db.read() as s:
        rows = {r.id: r for r in s.scalars(select(CounterRow).where(CounterRow.hall_id == hall.id))}
        row = rows.get(counter.id)
        hall_desks = queue.desks(s, hall)
        desk = hall_desks[counter.id]
        partner = hall_desks.get(counter.partner or "")
        held = s.get(TicketRow, row.held_ticket) if row is not None and row.held_ticket else None
        ticket = _held_view(s, hall, held) if held is not None else None
        waiting, total = _waiting(s, hall, desk, partner, row.priority_streak if row else 0, now)
        clerk = row.clerk if row is not None else None
        today = _today(s, hall, counter.id, clerk or viewer, now)
        parked = parking.parked_at(s, hall, rules.Desk(desk.counter, CounterState.OPEN), partner, now)
        asked = help_calls.live_for(s, hall, counter.id)
    partner_row = rows.get(partner.id) if partner is not None else None
    state = desk.state
    return {
        "now": views.iso(hall, now),
        "counter": {
            **views.counter(counter, row),
            "clerk": clerk,
            "since": views.iso(hall, row.since) if row is not None else None,
            "away_reason": row.away_reason if row is not None and state is CounterState.AWAY else None,
        },
        "partner": None
        if partner is None
        else {
            **views.counter(partner.counter, partner_row),
            "clerk": _clerk(partner_row),
            "away_reason": partner_row.away_reason if partner_row is not None else None,
        },
        # AB岗: this counter serves its away partner's queue too (its call-next draws from both).
        "covering": partner is not None and rules.covered_counters(desk, partner) != (desk.id,),
        "ticket": ticket,
        "waiting": waiting,
        "waiting_total": total,
        "today": today,
        "services": [
            {
                "id": sv.id,
                "name": sv.name,
                "name_en": sv.name_en,
                "materials": list(sv.materials),
                "served_now": rules.served_now(hall_desks, sv.id),
                "promised": sv.kind is ServiceKind.PROMISED,  # 承诺件: finished as 受理, it opens a matter
            }
            for sv in hall.services
            if sv.enabled
        ],
        "counters": [
            {"id": c.id, "name": c.name, "number": c.number, "state": hall_desks[c.id].state.value}
            for c in hall.counters
            if c.id != counter.id
        ],
        "parked": parked,  # 挂起 (PROTOCOL v1.2)
        "max_recalls": hall.max_recalls,
        "help": asked,  # 求助 waiting for a supervisor (issue 24)
    }


def _held_view(s: Session, hall: Hall, held: TicketRow) -> dict[str, Any]:
    """The held ticket with what the clerk needs: its service's materials, where it came from, a first visit."""
    service = hall.service(held.service_id)
    owner = hall.counter(held.owner_counter or "")
    came = s.scalars(
        select(LedgerRow)
        .where(LedgerRow.ticket_id == held.id, LedgerRow.kind == "transferred")
        .order_by(LedgerRow.id.desc())
        .limit(1)
    ).first()
    origin = None
    if came is not None:
        sender = hall.counter(came.counter_id or "")
        detail = came.detail or {}
        origin = {
            "counter": came.counter_id,
            "counter_name": sender.name if sender else came.counter_id,
            "clerk": came.clerk,
            "reason": detail.get("reason"),
            "at": views.iso(hall, came.at),
        }
    first = None
    if held.repeat_of:
        visit = s.get(TicketRow, held.repeat_of)
        notice = s.scalars(select(NoticeRow).where(NoticeRow.redeemed_by == held.id)).first()
        if visit is not None:
            first = {
                "number": visit.number,
                "day": visit.day,
                "missing": list(notice.missing) if notice else list(visit.missing or []),
                "note": notice.note if notice else visit.note,
            }
    picks = s.get(MatterRow, held.pickup_of) if held.pickup_of else None
    return {
        **views.ticket(hall, held),
        **({"pickup_number": picks.number} if picks is not None else {}),  # 领取: the case to hand over
        "service_name": service.name if service else held.service_id,
        "materials": list(service.materials) if service else [],
        "waiting_since": views.iso(hall, held.waiting_since),
        "serving_since": views.iso(hall, held.serving_since),
        "owner": held.owner_counter,
        "owner_name": owner.name if owner else None,
        "transfers": held.transfers,
        "recalls": held.recalls,
        "origin": origin,
        "repeat_of": first,
    }


def _waiting(
    s: Session, hall: Hall, desk: rules.Desk, partner: rules.Desk | None, streak: int, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """This counter's queue in the order its call-next would take it (numbers and waits, no one's name)."""
    served = rules.covered_counters(rules.Desk(desk.counter, CounterState.OPEN), partner)
    services = {sid for c in (hall.counter(cid) for cid in served) if c is not None for sid in c.services}
    cands = queue.waiting_for(s, hall.id, services, served)
    if not cands:
        return [], 0
    rows = {
        r.id: r
        for r in s.execute(
            select(TicketRow.id, TicketRow.number, TicketRow.issued_at, TicketRow.transfers, TicketRow.pickup_of).where(
                TicketRow.id.in_([c.id for c in cands])
            )
        )
    }
    # Run the engine itself forward, as if this counter were open and called again and again.
    as_open = rules.Desk(desk.counter, CounterState.OPEN)
    left = list(cands)
    out: list[dict[str, Any]] = []
    while left and len(out) < WAITING_SHOWN:
        choice = rules.call_next(as_open, partner, left, streak, hall.max_priority_streak)
        if choice is None:
            break
        streak = rules.next_priority_streak(streak, choice)
        left.remove(choice.ticket)
        r = rows[choice.ticket.id]
        out.append(
            {
                "id": choice.ticket.id,
                "number": r.number,
                "service": choice.ticket.service,
                "priority": choice.ticket.priority,
                "issued_at": views.iso(hall, r.issued_at),
                "wait_s": max(0, int((now - r.issued_at).total_seconds())),
                "transferred": r.transfers > 0,
                "to_this_counter": choice.ticket.target_counter is not None,
                "on_behalf_of": choice.on_behalf_of,
                **({"pickup": True} if r.pickup_of is not None else {}),  # 领取
            }
        )
    return out, len(cands)


def _today(s: Session, hall: Hall, counter_id: str, clerk: str | None, now: datetime) -> dict[str, Any]:
    """Today's counts and averages for the clerk signed in (or this counter, with nobody signed in)."""
    day = hall.day_of(now)
    who = TicketRow.clerk == clerk if clerk else TicketRow.served_by == counter_id
    base = (TicketRow.hall_id == hall.id, TicketRow.day == day, who)
    served, avg_wait, avg_service = s.execute(
        select(func.count(TicketRow.id), func.avg(TicketRow.wait_s), func.avg(TicketRow.service_s)).where(
            *base, TicketRow.status == TicketStatus.DONE.value
        )
    ).one()
    no_show = s.scalar(select(func.count(TicketRow.id)).where(*base, TicketRow.status == TicketStatus.NO_SHOW.value))
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for outcome, n in s.execute(
        select(TicketRow.outcome, func.count(TicketRow.id))
        .where(*base, TicketRow.status == TicketStatus.DONE.value)
        .group_by(TicketRow.outcome)
    ):
        if outcome in outcomes:
            outcomes[outcome] = int(n)
    start = hall.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    by = LedgerRow.clerk == clerk if clerk else LedgerRow.counter_id == counter_id
    handed = s.scalar(
        select(func.count(LedgerRow.id)).where(
            LedgerRow.hall_id == hall.id, LedgerRow.kind == "transferred", LedgerRow.at >= start, by
        )
    )
    notices = s.scalar(
        select(func.count(NoticeRow.id)).where(
            NoticeRow.hall_id == hall.id,
            NoticeRow.created_at >= start,
            NoticeRow.clerk == clerk if clerk else NoticeRow.counter_id == counter_id,
        )
    )
    return {
        "clerk": clerk,
        "served": int(served or 0),  # any outcome (已服务); 办结 is `completed` below
        **outcomes,
        "no_show": int(no_show or 0),
        "transferred": int(handed or 0),
        "notices": int(notices or 0),
        "avg_wait_s": round(avg_wait or 0),
        "avg_service_s": round(avg_service or 0),
    }
