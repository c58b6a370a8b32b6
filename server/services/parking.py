"""The counter's harder cases (PROTOCOL v1.2): calling a named ticket out of order (指呼), parking (挂起)
and resuming, and a supervisor's corrections (cancel, reactivate), with every ticket's history.

Each action writes its ledger line with who did it and why; the engine's rules (engine/rules.py) decide
what is allowed. Counter actions run through `counters._act`, like every other counter action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine import rules
from server.engine.errors import HallError, invalid
from server.engine.events import CounterChanged, Event, QueueChanged, TicketChanged
from server.engine.model import Counter, Hall, ParkKind, TicketStatus
from server.store.models import CounterRow, LedgerRow, TicketRow

from . import ledger, views
from .context import Context
from .counters import Act, Outcome_, _act, _called, _desk, _held, _log
from .queue import candidate

MAX_REASON = 200


def _reason(reason: str | None) -> str:
    """A reason is required: a named call and a supervisor's correction say why (422 without one)."""
    text = (reason or "").strip()
    if not text:
        raise HallError("invalid_reason", 422, "give a reason")
    return text[:MAX_REASON]


def _ticket(s: Session, hall: Hall, ticket_id: str) -> TicketRow:
    """The ticket, locked; 404 when unknown, 403 when it belongs to another hall."""
    if "\x00" in ticket_id:
        raise HallError("not_found", 404, "unknown ticket")
    ticket = s.get(TicketRow, ticket_id, with_for_update=True, populate_existing=True)
    if ticket is None:
        raise HallError("not_found", 404, "unknown ticket")
    if ticket.hall_id != hall.id:
        raise HallError("forbidden", 403, "the ticket belongs to another hall")
    return ticket


def parked_view(row: TicketRow) -> rules.Parked:
    return rules.Parked(
        row.id, row.service_id, ParkKind(row.park_kind or ParkKind.WAIT_STEP.value), row.parked_counter or "",
        row.order_at, row.seq,
    )  # fmt: skip


# -- counter actions ---------------------------------------------------------------------------------


def named_call(
    ctx: Context,
    counter_id: str,
    clerk: str | None,
    ticket_id: str | None,
    reason: str,
    manager: bool,
    number: str | None = None,
    *,
    token: str | None = None,
) -> Outcome_:
    """指呼: call one waiting ticket here (by id, or by today's number), out of order; the display announces
    it like any call."""
    why = _reason(reason)

    def action(a: Act) -> list[Event]:
        s, hall, counter, row, partner_row, now, who = a.s, a.hall, a.counter, a.row, a.partner, a.now, a.who
        ticket = _ticket(s, hall, ticket_id if ticket_id is not None else _by_number(s, hall, number or "", now))
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "this counter still holds a ticket")
        desk = _desk(hall, row, counter.id)
        partner = _desk(hall, partner_row, counter.partner)
        assert desk is not None
        choice = rules.named_call(desk, partner, candidate(ticket), TicketStatus(ticket.status), manager)
        was_for = ticket.target_counter
        _take(ticket, row, counter, now, who, choice.on_behalf_of)
        _log(
            s, hall, "called", now, ticket, counter, who,
            reason=why, named=True, service=ticket.service_id, sent_to=was_for,
        )  # fmt: skip
        return [
            _called(hall, counter, ticket, False, now),
            QueueChanged(hall.id, frozenset({ticket.service_id}), frozenset({was_for} if was_for else ())),
            TicketChanged(hall.id, ticket.id),
        ]

    return _act(ctx, counter_id, clerk, action, token=token)


def _by_number(s: Session, hall: Hall, number: str, now: datetime) -> str:
    """Today's ticket of this hall with that number (as typed: case and spaces ignored)."""
    typed = "".join(number.split()).upper()
    found = s.scalar(
        select(TicketRow.id).where(
            TicketRow.hall_id == hall.id, TicketRow.day == hall.day_of(now), TicketRow.number == typed
        )
    )
    if found is None:
        raise HallError("not_found", 404, f"no ticket {typed[:12]} today in this hall")
    return found


def _take(
    ticket: TicketRow, row: CounterRow, counter: Counter, now: datetime, who: str | None, behalf: str | None
) -> None:
    """The ticket is now called at this counter (a named call or a resume)."""
    ticket.status = TicketStatus.CALLED.value
    ticket.counter_id = ticket.served_by = counter.id
    ticket.called_at = now
    ticket.target_counter = None
    ticket.on_behalf_of = behalf
    ticket.clerk = who
    ticket.recalls = 0
    if ticket.owner_counter is None:
        ticket.owner_counter = counter.id  # 首问负责
    row.held_ticket = ticket.id


def park(
    ctx: Context, counter_id: str, clerk: str | None, kind: str, note: str | None, *, token: str | None = None
) -> Outcome_:
    """挂起: the held ticket waits aside, and the counter is free for the next resident."""
    try:
        park_kind = ParkKind(kind)
    except ValueError:
        raise invalid(f"kind must be one of {', '.join(k.value for k in ParkKind)}") from None

    def action(a: Act) -> list[Event]:
        s, hall, counter, row, now, who = a.s, a.hall, a.counter, a.row, a.now, a.who
        ticket = _held(s, row, "park")
        was = ticket.status
        ticket.status = TicketStatus.PARKED.value
        ticket.park_kind, ticket.parked_at, ticket.parked_counter = park_kind.value, now, counter.id
        row.held_ticket = None
        _log(
            s, hall, "parked", now, ticket, counter, who,
            park_kind=park_kind.value, reason=(note or "").strip()[:MAX_REASON] or None, status=was,
        )  # fmt: skip
        return [TicketChanged(hall.id, ticket.id), *_parked_lists_changed(hall, ticket, counter.id)]

    return _act(ctx, counter_id, clerk, action, token=token, with_partner=False)


def _parked_lists_changed(hall: Hall, ticket: TicketRow, counter_id: str) -> list[Event]:
    """Counters whose parked list shows this ticket: every counter of its service for fetch_documents."""
    if ticket.park_kind == ParkKind.FETCH_DOCUMENTS.value:
        ids = {c.id for c in hall.counters if ticket.service_id in c.services} | {counter_id}
    else:
        ids = {counter_id}
    return [CounterChanged(hall.id, c) for c in sorted(ids)]


def resume(
    ctx: Context, counter_id: str, clerk: str | None, ticket_id: str, manager: bool, *, token: str | None = None
) -> Outcome_:
    """The parked ticket is called again here (its resident is back, or the step is done)."""

    def action(a: Act) -> list[Event]:
        s, hall, counter, row, partner_row, now, who = a.s, a.hall, a.counter, a.row, a.partner, a.now, a.who
        ticket = _ticket(s, hall, ticket_id)
        if row.held_ticket:
            raise HallError("ticket_in_progress", 409, "this counter still holds a ticket")
        desk = _desk(hall, row, counter.id)
        partner = _desk(hall, partner_row, counter.partner)
        assert desk is not None
        status = TicketStatus(ticket.status)
        parked = parked_view(ticket) if status is TicketStatus.PARKED else None
        rules.check_resume(desk, partner, parked, status, manager)
        assert parked is not None and ticket.parked_at is not None
        lists = _parked_lists_changed(hall, ticket, ticket.parked_counter or counter.id)
        behalf = None
        if partner is not None and partner.id in rules.covered_counters(desk, partner):
            if ticket.parked_counter == partner.id or ticket.service_id not in counter.services:
                behalf = partner.id
        parked_s = max(0, int((now - ticket.parked_at).total_seconds()))
        _take(ticket, row, counter, now, who, behalf)
        _log(
            s, hall, "resumed", now, ticket, counter, who,
            park_kind=ticket.park_kind, parked_s=parked_s, parked_by=ticket.parked_counter,
        )  # fmt: skip
        ticket.park_kind = ticket.parked_at = ticket.parked_counter = None
        return [_called(hall, counter, ticket, False, now), TicketChanged(hall.id, ticket.id), *lists]

    return _act(ctx, counter_id, clerk, action, token=token)


def parked_at(
    s: Session, hall: Hall, desk: rules.Desk, partner: rules.Desk | None, now: datetime
) -> list[dict[str, Any]]:
    """The parked tickets this counter may resume, in their original order, with how long each is parked."""
    rows = {
        r.id: r
        for r in s.scalars(
            select(TicketRow).where(TicketRow.hall_id == hall.id, TicketRow.status == TicketStatus.PARKED.value)
        )
    }
    out = []
    for p in rules.parked_for(desk, partner, (parked_view(r) for r in rows.values())):
        r = rows[p.id]
        out.append(
            {
                "id": r.id,
                "number": r.number,
                "service": r.service_id,
                "kind": p.kind.value,
                "counter": p.counter,
                "parked_at": views.iso(hall, r.parked_at),
                "parked_s": max(0, int((now - r.parked_at).total_seconds())) if r.parked_at else 0,
                "note": _park_note(s, r.id),
            }
        )
    return out


def _park_note(s: Session, ticket_id: str) -> str | None:
    line = s.scalars(
        select(LedgerRow)
        .where(LedgerRow.ticket_id == ticket_id, LedgerRow.kind == "parked")
        .order_by(LedgerRow.id.desc())
        .limit(1)
    ).first()
    return (line.detail or {}).get("reason") if line is not None else None


# -- a supervisor's corrections -------------------------------------------------------------------


@dataclass(frozen=True)
class Corrected:
    hall: Hall
    ticket: TicketRow


def ticket_hall(ctx: Context, ticket_id: str) -> Hall:
    """The hall of a ticket (404 when unknown), so its staff can be checked before anything is read."""
    if "\x00" in ticket_id or len(ticket_id) > 32:  # cannot be an id (PostgreSQL refuses NUL in a query)
        raise HallError("not_found", 404, "unknown ticket")
    with ctx.db.read() as s:
        hall_id = s.scalar(select(TicketRow.hall_id).where(TicketRow.id == ticket_id))
    if hall_id is None:
        raise HallError("not_found", 404, "unknown ticket")
    return ctx.hall(hall_id)


def cancel(ctx: Context, ticket_id: str, who: str | None, reason: str) -> tuple[Corrected, list[Event]]:
    """A supervisor cancels a waiting or parked ticket: `cancelled`, with the reason in the ledger."""
    why = _reason(reason)
    hall = ticket_hall(ctx, ticket_id)
    with ctx.db.write() as s:
        now = ctx.clock.now()
        ticket = _ticket(s, hall, ticket_id)
        status = TicketStatus(ticket.status)
        rules.check_cancel(status)
        events: list[Event] = [TicketChanged(hall.id, ticket.id)]
        if status is TicketStatus.PARKED:
            events += _parked_lists_changed(hall, ticket, ticket.parked_counter or "")
        else:
            sent = frozenset({ticket.target_counter} if ticket.target_counter else ())
            events.append(QueueChanged(hall.id, frozenset({ticket.service_id}), sent))
        ticket.status = TicketStatus.CANCELLED.value
        ticket.finished_at = now
        ticket.target_counter = None
        ticket.park_kind = ticket.parked_at = ticket.parked_counter = None
        ledger.append(
            s, hall.id, "cancelled", now, ticket=ticket, clerk=who, reason=why, status=status.value,
            service=ticket.service_id,
        )  # fmt: skip
        s.flush()
    return Corrected(hall, ticket), events


def reactivate(ctx: Context, ticket_id: str, who: str | None, reason: str) -> tuple[Corrected, list[Event]]:
    """A no-show, cancelled or expired ticket of today waits again in its original place (its `order_at`)."""
    why = _reason(reason)
    hall = ticket_hall(ctx, ticket_id)
    with ctx.db.write() as s:
        now = ctx.clock.now()
        ticket = _ticket(s, hall, ticket_id)
        was = ticket.status
        rules.check_reactivate(was, ticket.day, hall.day_of(now))
        ticket.status = TicketStatus.WAITING.value
        ticket.finished_at = None
        ticket.counter_id = ticket.served_by = ticket.on_behalf_of = ticket.target_counter = None
        ticket.recalls = 0
        ledger.append(
            s, hall.id, "reactivated", now, ticket=ticket, clerk=who, reason=why, status=was, service=ticket.service_id
        )
        s.flush()
    return Corrected(hall, ticket), [
        TicketChanged(hall.id, ticket.id),
        QueueChanged(hall.id, frozenset({ticket.service_id})),
    ]


def history(ctx: Context, ticket_id: str) -> list[dict[str, Any]]:
    """Every ledger line of a ticket in order: when, what, at which counter, by whom, why."""
    hall = ticket_hall(ctx, ticket_id)
    with ctx.db.read() as s:
        lines = list(s.scalars(select(LedgerRow).where(LedgerRow.ticket_id == ticket_id).order_by(LedgerRow.id)))
    out = []
    for line in lines:
        detail = line.detail or {}
        counter = hall.counter(line.counter_id or "")
        out.append(
            {
                "at": views.iso(hall, line.at),
                "kind": line.kind,
                "counter": line.counter_id,
                "counter_name": counter.name if counter else None,
                "clerk": line.clerk,
                "reason": detail.get("reason"),
                "on_behalf_of": line.on_behalf_of,
                "park_kind": detail.get("park_kind"),
                "named": bool(detail.get("named")),
            }
        )
    return out
