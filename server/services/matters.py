"""Matters that outlive the visit (办件, PROTOCOL v1.2): opened, carried forward by their owner, followed
by the resident, and counted by the managers (及时办结率, overdue alerts and deductions).

Every step is one transaction that writes the matter, its ledger line (who, when, a note) and, when a
receiver wants it, the `matter.changed` outbound event.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.engine import matters as rules
from server.engine.errors import HallError, invalid, not_found
from server.engine.events import Event, TicketChanged
from server.engine.figures import share
from server.engine.matters import MatterStatus
from server.engine.model import Hall, Service, ServiceKind
from server.engine.privacy import mask_personal
from server.store.models import MatterRow, NumberSeqRow, TicketRow, UserRow

from . import identity, ledger, outbox
from .context import Context
from .track_links import find_by_token, token_hash
from .views import iso

FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 12, 31)
NUMBER_SEQ = "#matters"  # the NumberSeqRow key of a hall's case numbers (one running number a year)
SHARED = "#all"  # NumberSeqRow.hall_id of a running number every hall with the same format shares
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")  # a mobile, or a landline with its area code


@dataclass(frozen=True)
class Applicant:
    """The resident a staff-opened matter is for; the ID number arrives in clear and is never kept so."""

    name: str
    phone: str
    id_number: str


def _next_number(s: Session, hall: Hall, service: Service, now: datetime) -> str:
    """The hall's next case number (办件编号): a year's running number, unique across processes and halls.

    Case numbers are unique in the whole system (the 好差评 platform files results under them): a format that
    does not name the hall is one running number for every hall that uses it (its row keyed by the format,
    not the hall), started after the highest number any hall drew that year before the rows were shared."""
    local = hall.local(now)
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    table = NumberSeqRow.__table__
    year = str(local.year)
    first: Any
    if "{hall}" in hall.matter_number:
        owner, key, first = hall.id, NUMBER_SEQ, literal(1)
    else:
        owner, key = SHARED, f"{NUMBER_SEQ}:{hashlib.sha256(hall.matter_number.encode()).hexdigest()[:24]}"
        earlier = select(func.max(table.c.last)).where(table.c.service_id == NUMBER_SEQ, table.c.day == year)
        first = func.coalesce(earlier.scalar_subquery(), 0) + 1
    seq = s.execute(
        dialect.insert(table)
        .values(hall_id=owner, service_id=key, day=year, last=first)
        .on_conflict_do_update(index_elements=["hall_id", "service_id", "day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    ).scalar_one()
    return rules.format_number(
        hall.matter_number, year=local.year, date=local.date().isoformat(), hall=hall.id, service=service.prefix,
        seq=int(seq),
    )  # fmt: skip


def _log(s: Session, hall: Hall, m: MatterRow, now: datetime, who: str | None, note: str | None) -> None:
    ledger.insert(
        s, hall.id, f"matter_{m.status}", now, ticket_id=m.ticket_id, counter=m.owner_counter, clerk=who,
        matter=m.id, number=m.number, note=note,
    )  # fmt: skip


def _emit(s: Session, hall: Hall, m: MatterRow, now: datetime) -> None:
    data: dict[str, Any] = {
        "matter": m.id, "number": m.number, "service": m.service_id, "status": m.status,
        "due_at": iso(hall, m.due_at), "ticket": m.ticket_id,
    }  # fmt: skip
    if m.applicant_phone:  # the hall's SMS relay tells the resident "可领取"
        data["phone"] = m.applicant_phone
    outbox.emit(s, hall, "matter.changed", data, now, subject=m.id)


def open_for_ticket(
    s: Session, hall: Hall, service: Service, ticket: TicketRow, counter: str, clerk: str | None, now: datetime
) -> tuple[MatterRow, str]:
    """A promised matter accepted at a window (outcome `accepted`): owned by the accepting clerk; with the
    token of its receipt's QR link (new_receipt_link), shown once."""
    m = MatterRow(
        id=secrets.token_hex(8), hall_id=hall.id, number=_next_number(s, hall, service, now),
        service_id=service.id, ticket_id=ticket.id, status=MatterStatus.ACCEPTED.value, owner=clerk,
        owner_counter=counter, proxy=False, home_visit=False, accepted_at=now,
        due_at=hall.deadline(now, service.time_limit_days),
    )  # fmt: skip
    s.add(m)
    s.flush()
    token = new_receipt_link(m)
    _log(s, hall, m, now, clerk, None)
    _emit(s, hall, m, now)
    return m, token


def new_receipt_link(m: MatterRow) -> str:
    """A fresh token for the receipt's QR (受理回执): it opens the ticket's own page, like the ticket's link.

    The ticket's token is kept only hashed, so the receipt cannot print it; it gets one of its own (kept
    hashed too). A reprint makes a new one and the lost receipt's link stops working, as a ticket's 补打 does;
    the ticket's link is never touched: the page the resident already follows goes on working."""
    token = secrets.token_urlsafe(24)
    m.track_hash = token_hash(token)
    return token


def receipt(
    hall: Hall, m: MatterRow, ticket: TicketRow | None, track_url: str, reprint: bool = False
) -> dict[str, Any]:
    """What the receipt slip (受理回执) prints (printers/receipt.py Receipt): no personal data."""
    service = hall.service(m.service_id)
    window = hall.counter(m.owner_counter) if m.owner_counter else None
    return {
        "number": m.number,
        "hall_name": hall.name,
        "service_name": service.name if service else m.service_id,
        "accepted_at": hall.local(m.accepted_at).strftime("%Y-%m-%d %H:%M"),
        "due_date": hall.local(m.due_at).strftime("%Y-%m-%d"),
        "counter_name": window.name if window is not None else "—",
        "track_url": track_url if ticket is not None else "",
        "bring": tuple(service.pickup) if service else (),
        "ticket_number": ticket.number if ticket is not None else "",
        "ticket_id": ticket.id if ticket is not None else "",
        "reprint": reprint,
    }


def commission(hall: Hall, m: MatterRow) -> dict[str, Any]:
    """What the 代理服务委托书 slip prints (printers/commission.py Commission): the page's facts, the ID number
    and phone masked."""
    service = hall.service(m.service_id)
    return {
        "number": m.number,
        "hall_name": hall.name,
        "service_name": service.name if service else m.service_id,
        "applicant": m.applicant_name or "",
        "id_masked": m.applicant_id_masked or "",
        "phone_masked": identity.mask_phone(m.applicant_phone or ""),
        "agent": m.owner or "",
        "due_date": hall.local(m.due_at).strftime("%Y-%m-%d"),
        "accepted_date": hall.local(m.accepted_at).strftime("%Y-%m-%d"),
        "home_visit": m.home_visit,
    }


def reprint_receipt(
    ctx: Context, matter_id: str, who: str | None, *, manager: bool = False, counter: str | None = None
) -> tuple[MatterRow, TicketRow | None, str | None]:
    """Staff print the receipt again (补打): its owner (the clerk or the owner window's device), a supervisor
    or an admin. A matter with a ticket gets a fresh QR link; the lost receipt's link stops working."""
    with ctx.db.write() as s:
        m = _locked(s, matter_id)
        owns = (who is not None and who == m.owner) or (counter is not None and counter == m.owner_counter)
        if not (manager or owns):
            raise HallError("forbidden", 403, "only the matter's owner, a supervisor or an admin reprints it")
        if MatterStatus(m.status) in rules.CLOSED:
            raise HallError("bad_transition", 409, f"the matter is {m.status}: its receipt is no longer needed")
        ticket = s.get(TicketRow, m.ticket_id) if m.ticket_id else None
        token = new_receipt_link(m) if ticket is not None else None
        s.flush()
    return m, ticket, token


def check_accepted(service: Service) -> None:
    """`accepted` (受理) opens a matter: only a promised service (承诺件) has one to open."""
    if service.kind is not ServiceKind.PROMISED:
        raise invalid(f"the outcome 'accepted' is for promised services; {service.id} is done on the spot")


def open_matter(
    ctx: Context,
    hall_id: str,
    service_id: str,
    applicant: Applicant,
    *,
    proxy: bool,
    home_visit: bool,
    note: str | None,
    clerk: str | None,
    counter: str | None,
) -> MatterRow:
    """A matter without a ticket: 全程代办 on a resident's behalf, or a home visit (上门服务)."""
    hall = ctx.hall(hall_id)
    service = ctx.service(hall, service_id)
    name = applicant.name.strip()
    if not 1 <= len(name) <= 32:
        raise invalid("applicant.name must be 1 to 32 characters")
    phone = re.sub(r"[\s-]", "", applicant.phone) if PHONE.match(re.sub(r"\s", "", applicant.phone)) else ""
    if not phone:
        raise invalid("applicant.phone must be a mainland mobile (11 digits) or a landline with its area code")
    id_number = identity.check_id_number(applicant.id_number)
    key = identity.identity_key(ctx.config.settings.data_dir)
    days = service.time_limit_days or 1  # an immediate service done on someone's behalf: by the next working day
    with ctx.db.write() as s:
        now = ctx.clock.now()
        m = MatterRow(
            id=secrets.token_hex(8), hall_id=hall.id, number=_next_number(s, hall, service, now),
            service_id=service.id, ticket_id=None, status=MatterStatus.ACCEPTED.value, owner=clerk,
            owner_counter=counter, proxy=proxy, home_visit=home_visit, accepted_at=now,
            due_at=hall.deadline(now, days), applicant_name=name, applicant_phone=phone,
            applicant_id_hash=identity.id_hash(key, id_number), applicant_id_masked=identity.mask_id(id_number),
            note=note,
        )  # fmt: skip
        s.add(m)
        s.flush()
        _log(s, hall, m, now, clerk, note)
        _emit(s, hall, m, now)
    return m


def progress(
    ctx: Context,
    matter_id: str,
    wanted: str,
    note: str | None,
    who: str | None,
    *,
    manager: bool = False,
    counter: str | None = None,
) -> tuple[MatterRow, list[Event]]:
    """Carry a matter one step forward (or reject it): its owner (the clerk, or the owner window's own
    device token `counter`), a supervisor or an admin."""
    try:
        status = MatterStatus(wanted)
    except ValueError:
        raise invalid(f"status must be one of {', '.join(s.value for s in MatterStatus)}") from None
    if status is MatterStatus.REJECTED and not (note and note.strip()):
        raise invalid("a rejected matter needs its reason in `note` (the resident is shown it)")
    with ctx.db.write() as s:
        m = _locked(s, matter_id)
        hall = ctx.hall(m.hall_id)
        owns = (who is not None and who == m.owner) or (counter is not None and counter == m.owner_counter)
        if not (manager or owns):
            raise HallError("forbidden", 403, "only the matter's owner (代理责任人), a supervisor or an admin moves it")
        rules.check_progress(MatterStatus(m.status), status)
        now = ctx.clock.now()
        m.status = status.value
        if status in rules.DONE and m.result_ready_at is None:  # handed over straight away: ready by now
            m.result_ready_at = now
        if status in rules.CLOSED:
            m.closed_at = now
        if status is MatterStatus.REJECTED:
            m.reason = note
        _log(s, hall, m, now, who, note)
        _emit(s, hall, m, now)
        s.flush()
    events: list[Event] = [TicketChanged(hall.id, m.ticket_id)] if m.ticket_id else []
    return m, events


def _check_id(matter_id: str) -> None:
    """Ids are hex: anything else (a NUL would upset PostgreSQL) is simply unknown."""
    if not isinstance(matter_id, str) or not (0 < len(matter_id) <= 32 and matter_id.isascii() and matter_id.isalnum()):
        raise not_found("matter", matter_id)


def _locked(s: Session, matter_id: str) -> MatterRow:
    _check_id(matter_id)
    m = s.scalars(select(MatterRow).where(MatterRow.id == matter_id).with_for_update()).first()
    if m is None:
        raise not_found("matter", matter_id)
    return m


def owner_of(ctx: Context, matter_id: str) -> tuple[str, str | None]:
    """The matter's hall and owner, for authorizing before the body is looked at (404 first)."""
    _check_id(matter_id)
    with ctx.db.read() as s:
        m = s.get(MatterRow, matter_id)
        if m is None:
            raise not_found("matter", matter_id)
        return m.hall_id, m.owner


def find(ctx: Context, matter_id: str) -> MatterRow:
    """One matter to show (the commission page); 404 not_found for an unknown id or one of the wrong shape."""
    _check_id(matter_id)
    with ctx.db.read() as s:
        m = s.get(MatterRow, matter_id)
    if m is None:
        raise not_found("matter", matter_id)
    return m


def get(s: Session, matter_id: str) -> MatterRow | None:
    return s.get(MatterRow, matter_id)


def for_ticket(s: Session, ticket_id: str) -> MatterRow | None:
    return s.scalars(select(MatterRow).where(MatterRow.ticket_id == ticket_id)).first()


def view(hall: Hall, m: MatterRow, now: datetime) -> dict[str, Any]:
    """One matter as GET .../matters lists it (staff: owner named, applicant masked)."""
    return {
        "id": m.id,
        "number": m.number,
        "service": m.service_id,
        "status": m.status,
        "owner": m.owner,
        "owner_counter": m.owner_counter,
        "accepted_at": iso(hall, m.accepted_at),
        "due_at": iso(hall, m.due_at),
        "result_ready_at": iso(hall, m.result_ready_at),
        "overdue": rules.overdue(MatterStatus(m.status), m.due_at, m.result_ready_at, now),
        "proxy": m.proxy,
        "home_visit": m.home_visit,
        "applicant": identity.mask_name(m.applicant_name) if m.applicant_name else None,
        "reason": m.reason,
    }


def brief(hall: Hall, m: MatterRow) -> dict[str, Any]:
    """The matter as a ticket carries it: {"id", "number", "due_at"} (PROTOCOL v1.2)."""
    return {"id": m.id, "number": m.number, "due_at": iso(hall, m.due_at)}


def listing(
    ctx: Context,
    hall_id: str,
    status: str | None,
    overdue: bool | None,
    start: date | None,
    end: date | None,
    *,
    service: str | None = None,
    owner: str | None = None,
) -> list[dict[str, Any]]:
    """GET /halls/{hall}/matters: accepted in [start, end] (hall-local dates), due soonest first."""
    hall = ctx.hall(hall_id)
    if status is not None and status not in {s.value for s in MatterStatus}:
        raise invalid(f"status must be one of {', '.join(s.value for s in MatterStatus)}", "invalid_query")
    if service is not None and hall.service(service) is None:
        raise invalid(f"unknown service {service!r} of this hall", "invalid_query")
    window = None
    if owner is not None:
        if not owner.isprintable():
            raise invalid("owner must be a username or a window's id", "invalid_query")
        window = hall.counter(owner)  # the owner window: a counter token's matters have no clerk's name
        with ctx.db.read() as s:
            if window is None and s.get(UserRow, owner) is None:
                raise invalid(f"no user or window {owner!r}", "invalid_query")
    # hall-local days as far as a calendar reaches (0001-01-01 or 9999-12-31 mean "no bound")
    start = min(max(start, FIRST_DAY), LAST_DAY) if start is not None else None
    end = min(max(end, FIRST_DAY), LAST_DAY) if end is not None else None
    q = select(MatterRow).where(MatterRow.hall_id == hall.id)
    if status is not None:
        q = q.where(MatterRow.status == status)
    if service is not None:
        q = q.where(MatterRow.service_id == service)
    if owner is not None:
        q = q.where(
            or_(MatterRow.owner == owner, MatterRow.owner_counter == owner) if window else MatterRow.owner == owner
        )
    if start is not None:
        q = q.where(MatterRow.accepted_at >= hall.day_bounds(start)[0])
    if end is not None:
        q = q.where(MatterRow.accepted_at < hall.day_bounds(end)[1])
    now = ctx.clock.now()
    with ctx.db.read() as s:
        rows = [view(hall, m, now) for m in s.scalars(q.order_by(MatterRow.due_at, MatterRow.number))]
    return [r for r in rows if overdue is None or r["overdue"] is overdue]


def count_overdue(s: Session, hall: Hall, now: datetime) -> int:
    """Open matters past their due time (the city overview's overdue_matters)."""
    return int(s.scalar(select(func.count()).where(MatterRow.hall_id == hall.id, *_open_past_due(now))) or 0)


def _open_past_due(now: datetime) -> list[Any]:
    open_states = [x.value for x in MatterStatus if x not in rules.CLOSED and x not in rules.DONE]
    return [MatterRow.status.in_(open_states), MatterRow.due_at < now]


# -- the managers' figures ---------------------------------------------------------------------------


def figures(s: Session, hall: Hall, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """及时办结率 of the matters accepted in [start, end): result_ready by due_at over accepted, with the
    late, the overdue (open past due now) and the rejected apart, by service and by owner window.

    Counted in the database, one row per service and window (a busy hall accepts thousands a month)."""
    m = MatterRow
    ready = m.result_ready_at.is_not(None)
    rejected = m.status == MatterStatus.REJECTED.value

    def counted(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    groups = s.execute(
        select(
            m.service_id, m.owner_counter, func.count(),
            counted(and_(ready, m.result_ready_at <= m.due_at)), counted(and_(ready, m.result_ready_at > m.due_at)),
            counted(and_(m.result_ready_at.is_(None), ~rejected, m.due_at < now)), counted(rejected),
        )
        .where(m.hall_id == hall.id, m.accepted_at >= start, m.accepted_at < end)
        .group_by(m.service_id, m.owner_counter)
    ).all()  # fmt: skip
    names = ("received", "on_time", "late", "overdue", "rejected")

    def total(rows: list[Any]) -> dict[str, Any]:
        sums = dict(zip(names, (sum(int(r[i]) for r in rows) for i in range(2, 7)), strict=True))
        return {**sums, "rate": share(sums["on_time"], sums["received"])}

    by_service: dict[str, list[Any]] = {}
    by_counter: dict[str, list[Any]] = {}
    for row in groups:
        by_service.setdefault(row[0], []).append(row)
        if row[1]:
            by_counter.setdefault(row[1], []).append(row)
    return {
        **total(list(groups)),
        "by_service": [{"service": k, **total(v)} for k, v in sorted(by_service.items())],
        "by_counter": [{"counter": k, **total(v)} for k, v in sorted(by_counter.items())],
    }


def result_ratings(
    s: Session, hall: Hall, *, accepted: tuple[datetime, datetime] | None = None, rated_since: datetime | None = None
) -> dict[tuple[int, str | None], int]:
    """Ratings of matters' results (办件评价, the second rating) per (level, owner window): of the matters
    `accepted` in [start, end) (a report counts the ratings of its period's services), or rated since a time
    (the overview's last 30 days)."""
    m = MatterRow
    query = select(m.result_level, m.owner_counter, func.count()).where(
        m.hall_id == hall.id, m.result_level.is_not(None)
    )
    if accepted is not None:
        query = query.where(m.accepted_at >= accepted[0], m.accepted_at < accepted[1])
    if rated_since is not None:
        query = query.where(m.result_rated_at >= rated_since)
    rows = s.execute(query.group_by(m.result_level, m.owner_counter))
    return {(int(level or 0), counter): int(n) for level, counter, n in rows}  # not null: the WHERE


def overdue_rows(s: Session, hall: Hall, start: datetime, end: datetime, now: datetime) -> list[MatterRow]:
    """Matters due in [start, end) whose result came late or has not come although due: the monthly
    score's overdue_matter lapses, charged to the owner window."""
    return list(
        s.scalars(
            select(MatterRow).where(
                MatterRow.hall_id == hall.id,
                MatterRow.due_at >= start,
                MatterRow.due_at < min(end, now),
                MatterRow.status != MatterStatus.REJECTED.value,
                or_(MatterRow.result_ready_at.is_(None), MatterRow.result_ready_at > MatterRow.due_at),
            )
        )
    )


def open_overdue(s: Session, hall: Hall, now: datetime) -> list[MatterRow]:
    """Open matters past their due time with no result yet: a live alert each."""
    return list(s.scalars(select(MatterRow).where(MatterRow.hall_id == hall.id, *_open_past_due(now))))


def hand_over(ctx: Context, matter_id: str, owner: str | None, counter: str | None, reason: str, who: str) -> MatterRow:
    """A supervisor gives an open matter to another clerk or window (the reason in the ledger)."""
    if not reason.strip():
        raise invalid("a hand-over needs its reason")
    if owner is None and counter is None:
        raise invalid("name the new owner (a clerk's username) or the owner window (counter), or both")
    with ctx.db.write() as s:
        m = _locked(s, matter_id)
        hall = ctx.hall(m.hall_id)
        if counter is not None and hall.counter(counter) is None:
            raise invalid(f"{counter!r} is not a counter of this hall")
        if owner is not None:  # a staff login of this hall (or of every hall), not a name nobody answers to
            user = s.get(UserRow, owner) if owner.isprintable() else None
            if user is None or user.disabled or user.hall_id not in (None, hall.id):
                raise invalid(f"no active user {owner!r} of this hall to hand the matter to")
        if MatterStatus(m.status) in rules.CLOSED:
            raise HallError("bad_transition", 409, f"the matter is {m.status}: there is nothing left to hand over")
        now = ctx.clock.now()
        before = {"owner": m.owner, "owner_counter": m.owner_counter}
        m.owner = owner if owner is not None else m.owner
        m.owner_counter = counter if counter is not None else m.owner_counter
        ledger.insert(
            s, hall.id, "matter_handed_over", now, ticket_id=m.ticket_id, counter=m.owner_counter, clerk=who,
            matter=m.id, number=m.number, reason=reason, before=before,
        )  # fmt: skip
        s.flush()
    return m


# -- the resident -------------------------------------------------------------------------------------


def rating_facts(hall: Hall, m: MatterRow) -> dict[str, Any]:
    """What a rating of a ticket that opened a matter adds to its rating.created data: the 好差评 platform
    files both ratings under the case number, the owner as 承办人 and the matter's acceptance."""
    return {
        "matter": m.id,
        "matter_number": m.number,
        "matter_owner": m.owner,
        "matter_accepted_at": m.accepted_at.isoformat(timespec="seconds"),
        "matter_due_at": m.due_at.isoformat(timespec="seconds"),
    }


def rate_result(
    s: Session,
    hall: Hall,
    m: MatterRow,
    ticket: TicketRow,
    first: Any,
    level: int,
    comment: str | None,
    tags: list[str],
    now: datetime,
) -> None:
    """The resident rates the result once it was picked up (好差评's second rating, assessNumber 2);
    `first` is the visit's RatingRow (whose id the platform's record of the result shares), or None when the
    visit went unrated."""
    if m.status != MatterStatus.PICKED_UP.value:
        raise HallError(
            "already_rated", 409, "this service has been rated already; the result can be rated once picked up"
        )
    if m.result_level is not None:
        raise HallError("already_rated", 409, "the result of this matter has been rated already")
    m.result_level, m.result_comment, m.result_rated_at = level, comment or None, now
    ledger.insert(
        s, hall.id, "rated_result", now, ticket_id=m.ticket_id, counter=m.owner_counter, matter=m.id, level=level
    )
    data = {
        "rating": first.id if first else None, "ticket": ticket.id, "number": ticket.number, "service": m.service_id,
        "counter": m.owner_counter, "clerk": m.owner or (first.clerk if first else ticket.clerk), "level": level,
        "tags": tags,
        "comment": mask_personal(comment) if comment else None, "channel": "resident_page", "assess_number": 2,
        "issued_at": ticket.issued_at.isoformat(timespec="seconds"), **rating_facts(hall, m),
    }  # fmt: skip
    outbox.emit(s, hall, "rating.created", data, now, subject=m.ticket_id or m.id)


def resident_view(hall: Hall, m: MatterRow | None, english: bool = False) -> dict[str, Any] | None:
    """What the resident's page says of the matter after the visit (no clerk's name, no personal data)."""
    if m is None:
        return None
    service = hall.service(m.service_id)
    window = hall.counter(m.owner_counter) if m.owner_counter else None
    return {
        "number": m.number,
        "status": m.status,
        "due_text": hall.local(m.due_at).strftime("%Y-%m-%d %H:%M"),
        "reason": mask_personal(m.reason) if m.status == MatterStatus.REJECTED.value and m.reason else None,
        "counter": window.name_in(english) if window is not None else None,
        "bring": list(service.pickup) if service else [],
        "can_rate_result": m.status == MatterStatus.PICKED_UP.value and m.result_level is None,
        "result_level": m.result_level,
    }


EXPORT_COLUMNS = ("number", "service", "status", "kind", "owner", "owner_counter", "accepted_at", "due_at",
                  "result_ready_at", "overdue", "applicant", "reason")  # fmt: skip
EXPORT_LABELS = ("办件编号", "事项", "状态", "类型", "代理责任人", "责任窗口", "受理时间", "承诺办结时间",
                 "办结（可领取）时间", "是否超期", "申请人", "不予办理原因")  # fmt: skip
STATUS_WORDS = {"accepted": "已受理", "in_progress": "办理中", "sent_up": "已报送上级", "result_ready": "可领取",
                "picked_up": "已领取", "rejected": "不予办理"}  # fmt: skip


def kind(row: dict[str, Any]) -> str:
    return "home_visit" if row["home_visit"] else "proxy" if row["proxy"] else "promised"


def export_rows(hall: Hall, rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The matters as the hall's 台账 sheet: Chinese headers, names, 是/否, hall-local times."""
    names = {sv.id: sv.name for sv in hall.services}
    windows = {c.id: c.name for c in hall.counters}
    kinds = {"promised": "承诺件", "proxy": "全程代办", "home_visit": "上门服务"}

    def when(value: str | None) -> str:
        return value[:16].replace("T", " ") if value else ""

    out = [
        [
            r["number"],
            names.get(r["service"], r["service"]),
            STATUS_WORDS[r["status"]],
            kinds[kind(r)],
            r["owner"] or "",
            windows.get(r["owner_counter"] or "", r["owner_counter"] or ""),
            when(r["accepted_at"]),
            when(r["due_at"]),
            when(r["result_ready_at"]),
            "是" if r["overdue"] else "否",
            r["applicant"] or "",
            r["reason"] or "",
        ]  # fmt: skip
        for r in rows
    ]
    return list(EXPORT_LABELS), out


# -- picking the result up (领取) ---------------------------------------------------------------------


def find_for_pickup(ctx: Context, hall_id: str, case: str) -> MatterRow:
    """The matter a resident names at the kiosk: its case number, or its ticket's track QR (the token, or
    the whole link the scanner types)."""
    hall = ctx.hall(hall_id)
    text = case.strip()
    with ctx.db.read() as s:
        here = MatterRow.hall_id == hall.id
        m = s.scalars(select(MatterRow).where(here, MatterRow.number.in_((text, text.upper())))).first()
        if m is None and text:  # a format with lowercase (a hall's id) typed on the kiosk's A–Z keypad
            m = s.scalars(select(MatterRow).where(here, func.upper(MatterRow.number) == text.upper())).first()
        if m is None and text:
            token = text.rsplit("/t/", 1)[-1].split("?", 1)[0]
            try:
                ticket = find_by_token(s, token)
            except HallError:
                ticket = None
            m = for_ticket(s, ticket.id) if ticket is not None and ticket.hall_id == hall.id else None
    if m is None:
        raise HallError("not_found", 404, "no matter with this case number or ticket in this hall")
    if m.status != MatterStatus.RESULT_READY.value:
        raise HallError("not_ready", 409, f"the matter is {m.status}: there is no result to pick up now")
    return m


def claim_pickup(s: Session, hall: Hall, matter_id: str, ticket: TicketRow) -> None:
    """In the issuing transaction: the 领取 ticket goes to the owner window and is linked to the matter
    (one live pick-up ticket a matter: a second tap at the kiosk is refused)."""
    m = _locked(s, matter_id)
    if m.status != MatterStatus.RESULT_READY.value:
        raise HallError("not_ready", 409, f"the matter is {m.status}: there is no result to pick up now")
    if m.pickup_ticket is not None:
        live = s.get(TicketRow, m.pickup_ticket)
        if live is not None and live.status in ("waiting", "called", "serving", "parked"):  # parked comes back
            raise HallError("pickup_waiting", 409, f"ticket {live.number} is already waiting to pick this result up")
    m.pickup_ticket = ticket.id  # (not the ticket's repeat_of: that counts 一次性告知 return visits)
    ticket.pickup_of = m.id  # marked 领取 on the slip, the display and the counter
    owner = hall.counter(m.owner_counter) if m.owner_counter else None
    if owner is not None and ticket.service_id in owner.services:
        ticket.target_counter = owner.id


def handed_over(s: Session, hall: Hall, ticket: TicketRow, who: str | None, now: datetime) -> str | None:
    """Finishing a 领取 ticket hands the result over: the matter is picked_up. The id of the ticket that
    opened it (its resident's page follows the matter, and may now rate the result), if any."""
    if ticket.pickup_of is None:
        return None
    m = s.scalars(select(MatterRow).where(MatterRow.id == ticket.pickup_of).with_for_update()).first()
    if m is None or m.status != MatterStatus.RESULT_READY.value:
        return None
    m.status, m.closed_at = MatterStatus.PICKED_UP.value, now
    _log(s, hall, m, now, who, None)
    _emit(s, hall, m, now)
    return m.ticket_id
