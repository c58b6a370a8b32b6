"""Who is called next, who covers whom, and which transitions are allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import HallError
from .model import Counter, CounterState, ParkKind, TicketStatus


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket as call-next sees it."""

    id: str
    service: str
    priority: bool
    order_at: datetime  # original issue time: transfers keep their place
    seq: int  # tie-break for tickets issued in the same instant
    target_counter: str | None = None  # transferred to one named counter
    appointment_at: datetime | None = None  # a checked-in appointment's booked start (PROTOCOL v1.2)


@dataclass(frozen=True)
class Choice:
    """The ticket call-next picked, on whose behalf, and why (for the clerk and the ledger)."""

    ticket: Candidate
    on_behalf_of: str | None
    reason: str


@dataclass(frozen=True)
class Desk:
    """A counter with its live state, as the rules need it."""

    counter: Counter
    state: CounterState

    @property
    def id(self) -> str:
        return self.counter.id


def covered_counters(desk: Desk, partner: Desk | None) -> tuple[str, ...]:
    """Counters whose queue this desk serves: itself, plus its partner while the partner is away."""
    if partner is not None and partner.state is CounterState.AWAY and desk.counter.partner == partner.id:
        return (desk.id, partner.id)
    return (desk.id,)


def _queue_key(c: Candidate) -> tuple[datetime, int]:
    return (c.order_at, c.seq)


def call_next(
    desk: Desk,
    partner: Desk | None,
    waiting: Iterable[Candidate],
    priority_streak: int,
    max_priority_streak: int,
    now: datetime | None = None,
) -> Choice | None:
    """Pick the next ticket for `desk`.

    Order: tickets transferred to this very counter (or to the away partner it covers);
    then priority tickets, unless `max_priority_streak` priority calls in a row were made
    and a normal ticket waits; then checked-in appointments from their booked start on
    (`appointment_order`: 预约到时); then the oldest issue time across the work profile, plus
    the away partner's services, served on the partner's behalf; appointments before their
    start only when nothing else waits. `now` None counts every appointment as due.
    """
    if desk.state is not CounterState.OPEN:
        raise HallError("counter_not_open", 409, "open the counter before calling")
    covering = partner if partner is not None and covered_counters(desk, partner) != (desk.id,) else None
    own = desk.counter.services
    theirs = covering.counter.services if covering else ()

    def behalf(c: Candidate) -> str | None:
        if covering is None:
            return None
        if c.target_counter == covering.id:
            return covering.id
        if c.target_counter is None and c.service not in own and c.service in theirs:
            return covering.id
        return None

    targeted: list[Candidate] = []
    priority: list[Candidate] = []
    normal: list[Candidate] = []
    for c in waiting:
        if c.target_counter is not None:
            if c.target_counter == desk.id or (covering and c.target_counter == covering.id):
                targeted.append(c)
        elif c.service in own or c.service in theirs:
            (priority if c.priority else normal).append(c)

    if targeted:  # a counter's own queue, in the same order as every queue: priority first
        pick = min(targeted, key=lambda c: (not c.priority, *_queue_key(c)))
        return Choice(pick, behalf(pick), "transferred to this counter")
    if priority and (priority_streak < max_priority_streak or not normal):
        pick = min(priority, key=_queue_key)
        return Choice(pick, behalf(pick), "priority ticket (老弱病残孕)")
    booked = appointment_order(normal, now)
    if booked is not None and booked[1] == APPOINTMENT_DUE:
        return Choice(booked[0], behalf(booked[0]), booked[1])
    walk_ins = [c for c in normal if c.appointment_at is None]
    if walk_ins:
        pick = min(walk_ins, key=lambda c: (*_queue_key(c), _profile_rank(c.service, own, theirs)))
        reason = "oldest waiting ticket"
        if priority:
            reason += f" (after {priority_streak} priority calls in a row)"
        return Choice(pick, behalf(pick), reason)
    if booked is not None:  # only appointments before their start wait: the earliest goes now
        return Choice(booked[0], behalf(booked[0]), booked[1])
    return None


APPOINTMENT_DUE = "预约到时 (appointment time reached)"
APPOINTMENT_EARLY = "预约提前 (appointment before its time: nothing else waits)"


def appointment_due(c: Candidate, now: datetime | None) -> bool:
    """A checked-in appointment whose booked start has come (every one, when `now` is not known)."""
    return c.appointment_at is not None and (now is None or c.appointment_at <= now)


def appointment_key(c: Candidate) -> tuple[datetime, datetime, int]:
    """Appointments go in the order of their booked start, then of check-in."""
    assert c.appointment_at is not None
    return (c.appointment_at, c.order_at, c.seq)


def appointment_order(normal: Sequence[Candidate], now: datetime | None) -> tuple[Candidate, str] | None:
    """PROTOCOL v1.2's appointment rule over the non-priority tickets call-next may take.

    The earliest-booked checked-in appointment and why: 预约到时 from its start on (it goes before the
    walk-ins), or "before its time" (it goes only when no walk-in waits); None when no appointment waits.
    """
    booked = [c for c in normal if c.appointment_at is not None]
    if not booked:
        return None
    due = [c for c in booked if appointment_due(c, now)]
    if due:
        return min(due, key=appointment_key), APPOINTMENT_DUE
    return min(booked, key=appointment_key), APPOINTMENT_EARLY


def _profile_rank(service: str, own: Sequence[str], theirs: Sequence[str]) -> int:
    profile = list(own) + [s for s in theirs if s not in own]
    return profile.index(service)


def next_priority_streak(streak: int, choice: Choice) -> int:
    """The run of priority calls after this choice (transfers do not count either way)."""
    if choice.ticket.target_counter is not None:
        return streak
    return streak + 1 if choice.ticket.priority else 0


def check_away(desk: Desk, partner: Desk | None) -> None:
    """A counter may leave only when its open partner takes its queue (AB岗: 不得空岗)."""
    if desk.state is not CounterState.OPEN:
        raise HallError("counter_not_open", 409, "only an open counter can go away")
    if partner is None or partner.state is not CounterState.OPEN:
        raise HallError("no_cover", 409, "the partner counter is not open to cover this window")


def is_served(desk: Desk, partner: Desk | None) -> bool:
    """Whether someone serves this counter's own queue now: it is open, or away with its open partner covering."""
    if desk.state is CounterState.OPEN:
        return True
    return (
        desk.state is CounterState.AWAY
        and partner is not None
        and partner.state is CounterState.OPEN
        and desk.counter.partner == partner.id
    )


def check_transfer_to(target: Desk, partner: Desk | None) -> None:
    """A ticket may be sent only to a counter someone serves now (首问负责: never to an empty window)."""
    if not is_served(target, partner):
        raise HallError("counter_not_open", 409, f"counter {target.counter.name} is not open and nobody covers it")


def check_close(desk: Desk, partner: Desk | None) -> None:
    """A counter covering its away partner may not close (不得空岗): the partner comes back first."""
    if desk.state is CounterState.OPEN and covered_counters(desk, partner) != (desk.id,):
        raise HallError("covering", 409, "this counter covers its away partner: the partner must come back first")


def check_back(desk: Desk) -> None:
    if desk.state is not CounterState.AWAY:
        raise HallError("counter_not_away", 409, "the counter is not away")


def serving_counters(desks: Mapping[str, Desk], service: str) -> list[str]:
    """Open counters serving this service now: in their own profile, or covering an away partner that has it."""
    out = []
    for desk in desks.values():
        if desk.state is not CounterState.OPEN:
            continue
        partner = desks.get(desk.counter.partner or "")
        covers = partner is not None and partner.state is CounterState.AWAY and service in partner.counter.services
        if service in desk.counter.services or covers:
            out.append(desk.id)
    return out


def served_now(desks: Mapping[str, Desk], service: str, target_counter: str | None = None) -> bool:
    """PROTOCOL v1.1 `served_now`: whether anyone serves this queue now.

    A service's queue is served while an open counter has the service in its profile or covers an
    away partner that has it; a counter's own queue (tickets transferred to it) while that counter is
    open, or away with its open partner covering. The one rule for /services, /track, the issue answer,
    the slip and the pages; and the rule `cover.uncovered` replays over the ledger.
    """
    if target_counter is not None:
        target = desks.get(target_counter)
        return target is not None and is_served(target, desks.get(target.counter.partner or ""))
    return bool(serving_counters(desks, service))


def uncovered_counters(desks: Sequence[Desk]) -> set[str]:
    """Away counters whose partner is not open: their queue has nobody to serve it."""
    by_id = {d.id: d for d in desks}
    out = set()
    for d in desks:
        if d.state is CounterState.AWAY:
            partner = by_id.get(d.counter.partner or "")
            if partner is None or partner.state is not CounterState.OPEN:
                out.add(d.id)
    return out


def served_services(desks: Sequence[Desk]) -> set[str]:
    """Services that some open counter serves right now, directly or by cover (`served_now` of each)."""
    by_id = {d.id: d for d in desks}
    every = {s for d in desks for s in d.counter.services}
    return {s for s in every if served_now(by_id, s)}


# Which held-ticket statuses each counter action accepts.
_ACTION_FROM: dict[str, tuple[TicketStatus, ...]] = {
    "recall": (TicketStatus.CALLED,),
    "start": (TicketStatus.CALLED,),
    "finish": (TicketStatus.SERVING, TicketStatus.CALLED),
    "no_show": (TicketStatus.CALLED,),
    "transfer": (TicketStatus.CALLED, TicketStatus.SERVING),
    "park": (TicketStatus.CALLED, TicketStatus.SERVING),
}


def check_action(action: str, held: TicketStatus | None) -> None:
    """Refuse an action the held ticket's status does not allow."""
    if held is None:
        raise HallError("no_ticket", 409, "this counter holds no ticket")
    if held not in _ACTION_FROM[action]:
        raise HallError("wrong_status", 409, f"cannot {action.replace('_', '-')} a ticket that is {held.value}")


# -- calling out of order, parking, supervisors' corrections (PROTOCOL v1.2) ----------------------
# These rules do not change call-next's order: a parked ticket is not a candidate (the resident is away
# until a counter resumes it), and a reactivated ticket is an ordinary candidate with its original
# `order_at`, so `call_next` puts it back in its original place.


def desk_queue(desk: Desk, partner: Desk | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The counters and services whose queues this desk draws from: its own, plus an away partner's it covers."""
    served = covered_counters(desk, partner)
    services = list(desk.counter.services)
    if partner is not None and partner.id in served:
        services += [s for s in partner.counter.services if s not in services]
    return served, tuple(services)


def named_call(desk: Desk, partner: Desk | None, ticket: Candidate, status: TicketStatus, manager: bool) -> Choice:
    """指呼: call this one waiting ticket at `desk`, out of order.

    The ticket must be waiting; its queue must be this desk's (its service in the work profile, or the
    away partner's it covers, or sent to one of those counters) unless a supervisor or admin calls it.
    """
    if desk.state is not CounterState.OPEN:
        raise HallError("counter_not_open", 409, "open the counter before calling")
    if status is not TicketStatus.WAITING:
        raise HallError("not_waiting", 409, f"the ticket is {status.value}, not waiting")
    served, services = desk_queue(desk, partner)
    if ticket.target_counter is not None:
        mine = ticket.target_counter in served
    else:
        mine = ticket.service in services
    if not mine and not manager:
        raise HallError("forbidden", 403, "this ticket waits for another counter's service")
    behalf = None
    if partner is not None and partner.id in served and mine:
        if ticket.target_counter == partner.id or (
            ticket.target_counter is None and ticket.service not in desk.counter.services
        ):
            behalf = partner.id
    return Choice(ticket, behalf, "named call (指呼)")


def check_recall(recalls: int, max_recalls: int) -> None:
    """After `max_recalls` recalls of one call, the clerk marks a no-show instead of calling again."""
    if recalls >= max_recalls:
        raise HallError("recall_limit", 409, f"called {recalls} more times already: mark the ticket as no-show")


@dataclass(frozen=True)
class Parked:
    """A parked ticket as the rules see it."""

    id: str
    service: str
    kind: ParkKind
    counter: str  # the counter that parked it
    order_at: datetime
    seq: int


def may_resume(desk: Desk, partner: Desk | None, parked: Parked) -> bool:
    """Whether this desk may resume the parked ticket (a supervisor or admin may resume it anywhere).

    fetch_documents: any counter of the ticket's service (or covering a partner that has it), and the counter
    that parked it; keep_documents and wait_step: the counter that parked it (or its partner covering it while
    away). So the counter that parked a ticket always finds it again: a parked ticket is never lost.
    """
    served, services = desk_queue(desk, partner)
    if parked.counter in served:
        return True
    return parked.kind is ParkKind.FETCH_DOCUMENTS and parked.service in services


def check_resume(desk: Desk, partner: Desk | None, parked: Parked | None, status: TicketStatus, manager: bool) -> None:
    """Refuse a resume that cannot be: a counter not open, a ticket not parked, or parked for another counter."""
    if desk.state is not CounterState.OPEN:
        raise HallError("counter_not_open", 409, "open the counter before resuming")
    if parked is None or status is not TicketStatus.PARKED:
        raise HallError("not_parked", 409, f"the ticket is {status.value}, not parked")
    if not manager and not may_resume(desk, partner, parked):
        raise HallError("forbidden", 403, "this parked ticket comes back to another counter")


def parked_key(p: Parked) -> tuple[datetime, int]:
    """The order a counter lists (and residents return from) parked tickets: their original place in time.

    fetch_documents keeps its place: a returning resident comes before tickets issued after theirs.
    """
    return (p.order_at, p.seq)


def parked_for(desk: Desk, partner: Desk | None, parked: Iterable[Parked]) -> list[Parked]:
    """The parked tickets this desk may resume, in their original order."""
    return sorted((p for p in parked if may_resume(desk, partner, p)), key=parked_key)


# Supervisors' corrections: which statuses each one takes.
CANCELLABLE = (TicketStatus.WAITING, TicketStatus.PARKED)
REACTIVATABLE = frozenset({"no_show", "cancelled", "expired"})  # expired: a remote ticket not checked in


def check_cancel(status: TicketStatus) -> None:
    """A supervisor cancels a ticket nobody holds: waiting or parked (a held one is finished at its counter)."""
    if status not in CANCELLABLE:
        raise HallError("wrong_status", 409, f"cannot cancel a ticket that is {status.value}")


def check_reactivate(status: str, day: str, today: str) -> None:
    """A no-show, cancelled or expired ticket of today may wait again, in its original place."""
    if status not in REACTIVATABLE:
        raise HallError("wrong_status", 409, f"cannot reactivate a ticket that is {status}")
    if day != today:
        raise HallError("not_today", 409, "only a ticket of today can be reactivated")
