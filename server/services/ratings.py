"""好差评: one rating per served ticket; a bad one opens a complaint case (差评整改) with deadlines.

A case moves open -> verified (the resident was called back) -> resolved (what was done) or dismissed
(why not); once it is answered the resident may rate once more (追评).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.engine.errors import HallError, invalid
from server.engine.events import Event, TicketChanged
from server.engine.model import Outcome, TicketStatus
from server.engine.privacy import NotAPhone, callback_number, mask_personal, mask_phones, phone_for_people
from server.store.models import AppealRow, ComplaintRow, MatterRow, NoticeRow, RatingRow, TicketRow

from . import appeals, ledger, matters, notices, outbox
from .context import Context
from .tickets import find_by_token, new_id
from .views import iso

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# Reason tags a resident may add to a rating; the page shows them, the API accepts only these.
RATING_TAGS = ("wait_long", "attitude", "unfamiliar", "not_told_once", "environment", "process_complex", "praise")
MAX_COMMENT = 500
MAX_NOTE = 1000
# case status -> the actions allowed from it
_NEXT = {"open": ("verify", "resolve", "dismiss"), "verified": ("resolve", "dismiss")}
_DONE = {"verify": "verified", "resolve": "resolved", "dismiss": "dismissed"}  # for the refusal's message


def _check(level: int, comment: str | None, tags: list[str] | None = None) -> None:
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise invalid("level must be an integer from 1 (非常不满意) to 5 (非常满意)", "invalid_level")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise invalid(f"comment is longer than {MAX_COMMENT} characters", "comment_too_long")
    for tag in tags or []:
        if tag not in RATING_TAGS:
            raise invalid(f"unknown tag {tag!r}; known: {', '.join(RATING_TAGS)}", "invalid_tag")


def _open_until(ctx: Context, ticket: TicketRow) -> Any:
    finished = ticket.finished_at
    return None if finished is None else finished + timedelta(days=ctx.config.settings.rating_open_days)


def rating_closed(ctx: Context, ticket: TicketRow) -> bool:
    until = _open_until(ctx, ticket)
    return until is not None and ctx.clock.now() > until


def _callback_phone(phone: str | None) -> str | None:
    """The call-back number as E.164, None when left blank; 422 invalid_phone (never echoing it) otherwise."""
    if phone is None or not phone.strip():
        return None
    try:
        return callback_number(phone.strip())
    except NotAPhone as e:
        raise invalid(f"phone: {e} (a mobile or a landline with its area code)", "invalid_phone") from None


def rate(
    ctx: Context,
    token: str,
    level: int,
    comment: str | None,
    tags: list[str] | None = None,
    phone: str | None = None,
) -> tuple[dict[str, Any], list[Event]]:
    """Record the resident's rating of a finished ticket, once, within the hall's rating window.

    A bad rating (1 or 2) opens a complaint case; a call-back `phone` the resident left is kept on the case
    only (a good rating's is not stored at all).
    """
    _check(level, comment, tags)
    callback = _callback_phone(phone)
    clean_tags = sorted(set(tags or []), key=RATING_TAGS.index)
    try:
        with ctx.db.write() as s:
            ticket = find_by_token(s, token)
            now = ctx.clock.now()
            hall = ctx.hall(ticket.hall_id)
            if ticket.status != TicketStatus.DONE.value:
                raise HallError("not_served", 409, "the ticket can be rated once it has been served")
            first = s.scalars(select(RatingRow).where(RatingRow.ticket_id == ticket.id)).first()
            matter = matters.for_ticket(s, ticket.id)
            # A result picked up weeks after the visit's rating window closed is still rated (its own rating,
            # even when the visit went unrated): the window is the visit's.
            late_result = matter is not None and matter.status == "picked_up" and rating_closed(ctx, ticket)
            if first is not None or late_result:
                if matter is None:
                    raise HallError("already_rated", 409, "this service has been rated already")
                # PROTOCOL v1.2: the result is rated again once picked up (好差评 assessNumber 2)
                matters.rate_result(s, hall, matter, ticket, first, level, comment, clean_tags, now)
                if level <= 2:  # a bad result is a complaint as a bad visit is, charged to the owner window
                    _open_case(ctx, s, hall, ticket.id, matter.id, level, comment, callback, matter.owner_counter, now)
                s.flush()
                return {"id": matter.id, "level": level, "tags": clean_tags}, [TicketChanged(hall.id, ticket.id)]
            if rating_closed(ctx, ticket):
                days = ctx.config.settings.rating_open_days
                raise HallError("rating_closed", 409, f"ratings are accepted for {days} days after service")
            rating = RatingRow(
                id=new_id(),
                ticket_id=ticket.id,
                hall_id=hall.id,
                level=level,
                comment=comment or None,
                tags=",".join(clean_tags) or None,
                at=now,
                counter_id=ticket.served_by,
                clerk=ticket.clerk,
            )
            s.add(rating)
            ledger.append(s, hall.id, "rated", now, ticket=ticket, counter=ticket.served_by, level=level)
            data = outbox.rating_data(ticket, rating)
            if matter is not None:  # the platform gathers a matter's ratings under its case number (按办件汇聚)
                data.update(matters.rating_facts(hall, matter))
            outbox.emit(s, hall, "rating.created", data, now, subject=ticket.id)
            if level <= 2:
                _open_case(ctx, s, hall, ticket.id, rating.id, level, comment, callback, ticket.served_by, now)
            s.flush()
    except IntegrityError:  # two ratings raced; the unique ticket_id kept the first
        raise HallError("already_rated", 409, "this service has been rated already") from None
    return {"id": rating.id, "level": level, "tags": clean_tags}, [TicketChanged(hall.id, ticket.id)]


def _open_case(
    ctx: Context,
    s: Session,
    hall: Any,
    ticket_id: str,
    rated: str,
    level: int,
    comment: str | None,
    callback: str | None,
    counter: str | None,
    now: Any,
) -> ComplaintRow:
    """A bad rating's complaint case (差评整改) with its call-back and fix deadlines. `rated` is the rating's
    id, or the matter's for a bad rating of its result; `counter` the window it is charged to."""
    settings = ctx.config.settings
    case = ComplaintRow(
        id=new_id(),
        hall_id=hall.id,
        ticket_id=ticket_id,
        rating_id=rated,
        level=level,
        comment=comment or None,
        status="open",
        opened_at=now,
        callback_due_at=hall.deadline(now, settings.callback_days),
        due_at=hall.deadline(now, settings.fix_days),
        callback_phone=callback,
    )
    s.add(case)
    ledger.insert(s, hall.id, "complaint_opened", now, ticket_id=ticket_id, counter=counter, complaint=case.id)
    outbox.emit(s, hall, "complaint.changed", outbox.complaint_data(case), now, subject=ticket_id)
    return case


def _visit_case(s: Session, ticket_id: str, rating: RatingRow | None) -> ComplaintRow | None:
    """The case of the visit's own rating (a ticket may also have one of its matter's result)."""
    if rating is None:
        return None
    return s.scalars(
        select(ComplaintRow).where(ComplaintRow.ticket_id == ticket_id, ComplaintRow.rating_id == rating.id)
    ).first()


def follow_up(ctx: Context, token: str, level: int, comment: str | None) -> tuple[dict[str, Any], list[Event]]:
    """追评: the resident's second rating, once their complaint case was resolved; once."""
    _check(level, comment)
    with ctx.db.write() as s:
        ticket = find_by_token(s, token)
        rating = s.scalars(select(RatingRow).where(RatingRow.ticket_id == ticket.id)).first()
        case = _visit_case(s, ticket.id, rating)
        if case is None or case.status != "resolved":
            raise HallError("no_answer", 409, "a follow-up rating is possible once the complaint was answered")
        if rating is None or rating.followup_level is not None:
            raise HallError("already_rated", 409, "the follow-up rating was given already")
        now = ctx.clock.now()
        rating.followup_level, rating.followup_comment, rating.followup_at = level, comment or None, now
        ledger.insert(
            s, ticket.hall_id, "rated_again", now, ticket_id=ticket.id, counter=rating.counter_id, level=level
        )
        data = outbox.rating_data(ticket, rating, 2)
        matter = matters.for_ticket(s, ticket.id)
        if matter is not None:
            data.update(matters.rating_facts(ctx.hall(ticket.hall_id), matter))
        outbox.emit(s, ctx.hall(ticket.hall_id), "rating.created", data, now, subject=ticket.id)
    return {"id": rating.id, "level": level}, [TicketChanged(ticket.hall_id, ticket.id)]


def resident_view(ctx: Context, s: Session, ticket: TicketRow) -> dict[str, Any]:
    """What the resident's page shows after service: their rating, the case's answer, the rating window."""
    rating = s.scalars(select(RatingRow).where(RatingRow.ticket_id == ticket.id)).first()
    case = _visit_case(s, ticket.id, rating)
    notice = s.scalars(select(NoticeRow).where(NoticeRow.ticket_id == ticket.id)).first()
    return {
        # How the matter ended, and for 材料不全 what to bring and the code that puts the next visit first
        # (一次性告知); for 不予受理 the clerk's reason. Masked as the public notice is.
        "outcome": ticket.outcome,
        "notice": {"code": notices.shown(notice.code), "missing": notices.body_items(notice)} if notice else None,
        "reason": mask_personal(ticket.note) if ticket.outcome == Outcome.REJECTED and ticket.note else None,
        "rating_closed": rating is None and rating_closed(ctx, ticket),
        "level": rating.level if rating else None,
        "tags": rating.tags.split(",") if rating and rating.tags else [],
        # the resident's own words, on a page anyone holding the slip's QR opens: a phone typed in them is hidden
        "comment": mask_phones(rating.comment) if rating and rating.comment else None,
        "case_status": case.status if case else None,
        "answer": case.answer if case and case.status == "resolved" else None,
        "can_follow_up": bool(case and case.status == "resolved" and rating and rating.followup_level is None),
        "followup_level": rating.followup_level if rating else None,
    }


def complaint_hall(ctx: Context, complaint_id: str) -> str:
    """The hall of a case (for the permission check before the body is read); 404 when unknown."""
    if len(complaint_id) > 32 or not complaint_id.isascii() or not complaint_id.isalnum():
        raise HallError("not_found", 404, "no such complaint")  # ids are hex; NUL would upset PostgreSQL
    with ctx.db.read() as s:
        hall_id = s.scalars(select(ComplaintRow.hall_id).where(ComplaintRow.id == complaint_id)).first()
    if hall_id is None:
        raise HallError("not_found", 404, "no such complaint")
    return hall_id


def handle(
    ctx: Context, complaint_id: str, action: str, note: str, user: str, full_phone: bool = False
) -> tuple[dict[str, Any], list[Event]]:
    """A supervisor's step on a case: verify (called back), resolve (what was done) or dismiss (why)."""
    note = (note or "").strip()
    if not note:
        raise invalid("a note is required: what the resident was told, what was done, or why", "invalid_note")
    if len(note) > MAX_NOTE:
        raise invalid(f"note is longer than {MAX_NOTE} characters", "invalid_note")
    with ctx.db.write() as s:
        # locked to commit: two steps at once on PostgreSQL are one after the other, the second checked against
        # the first's outcome (all three of resolve, dismiss and verify had succeeded, leaving a closed case open)
        case = s.get(ComplaintRow, complaint_id, with_for_update=True)
        if case is None:
            raise HallError("not_found", 404, "no such complaint")
        if action not in _NEXT.get(case.status, ()):
            raise HallError("invalid_transition", 409, f"a {case.status} complaint cannot be {_DONE[action]}")
        hall = ctx.hall(case.hall_id)
        now = ctx.clock.now()
        if action == "verify":
            case.status, case.verified_at, case.verify_note = "verified", now, note
        else:
            case.status = "resolved" if action == "resolve" else "dismissed"
            case.closed_at, case.answer = now, note
        case.handled_by = user
        ledger.insert(
            s, hall.id, f"complaint_{case.status}", now, ticket_id=case.ticket_id, clerk=user, complaint=case.id
        )
        outbox.emit(s, hall, "complaint.changed", outbox.complaint_data(case), now, subject=case.ticket_id)
        s.flush()
        ticket = s.scalars(select(TicketRow).where(TicketRow.id == case.ticket_id)).one()
        rating = s.get(RatingRow, case.rating_id) if case.rating_id else None
        matter = s.get(MatterRow, case.rating_id) if case.rating_id and rating is None else None
        body = _case(ctx, hall, case, ticket, rating, full_phone, s.get(AppealRow, case.id), matter)
    return body, [TicketChanged(hall.id, case.ticket_id)]


def _case(
    ctx: Context,
    hall: Any,
    c: ComplaintRow,
    ticket: TicketRow,
    rating: RatingRow | None,
    full_phone: bool = False,
    appeal: Any = None,
    matter: MatterRow | None = None,
) -> dict[str, Any]:
    """A case's body. A bad rating of a matter's result (`matter`) is about the matter's owner window and
    clerk (代理责任人), where its deduction goes, not the window that took the ticket."""
    now = ctx.clock.now()
    open_ = c.status in ("open", "verified")
    return {
        "id": c.id,
        "ticket": c.ticket_id,
        "number": ticket.number,
        # Who the complaint is about: the matter, the window that served it and the clerk signed in there.
        "service": ticket.service_id,
        "counter": matter.owner_counter if matter is not None else ticket.served_by,
        "clerk": matter.owner if matter is not None else ticket.clerk,
        "matter": matter.number if matter is not None else None,  # a case about the result (办件), not the visit
        "level": c.level,
        "comment": _phones_shown(c.comment, full_phone),
        "status": c.status,
        "opened_at": iso(hall, c.opened_at),
        "callback_due_at": iso(hall, c.callback_due_at),
        "due_at": iso(hall, c.due_at),
        "callback_overdue": c.status == "open" and now > c.callback_due_at,
        "overdue": open_ and now > c.due_at,
        "verified_at": iso(hall, c.verified_at),
        "verify_note": c.verify_note,
        "closed_at": iso(hall, c.closed_at),
        "answer": c.answer,
        "handled_by": c.handled_by,
        "tags": rating.tags.split(",") if rating and rating.tags else [],
        "followup_level": rating.followup_level if rating else None,
        "followup_comment": _phones_shown(rating.followup_comment, full_phone) if rating else None,
        # the resident's call-back number: in full for the supervisor's case view, masked anywhere else
        "callback_phone": phone_for_people(c.callback_phone, not full_phone) if c.callback_phone else None,
        "appeal": appeals.body(hall, appeal),  # 申诉, counted apart
    }


def _phones_shown(text: str | None, full_phone: bool) -> str | None:
    """A resident's words in a case: a phone number typed in them is shown as the call-back number is."""
    return mask_phones(text) if text and not full_phone else text


def complaints(ctx: Context, hall_id: str, full_phone: bool = False) -> list[dict[str, Any]]:
    """Complaint cases of a hall, newest first; call-back numbers in full only with `full_phone` (supervisors)."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        rows = s.execute(
            select(ComplaintRow, TicketRow, RatingRow, AppealRow, MatterRow)
            .join(TicketRow, TicketRow.id == ComplaintRow.ticket_id)
            .outerjoin(RatingRow, RatingRow.id == ComplaintRow.rating_id)
            .outerjoin(AppealRow, AppealRow.complaint_id == ComplaintRow.id)
            .outerjoin(MatterRow, MatterRow.id == ComplaintRow.rating_id)
            .where(ComplaintRow.hall_id == hall.id)
            .order_by(ComplaintRow.opened_at.desc())
        ).all()
        return [_case(ctx, hall, c, ticket, r, full_phone, appeal, m) for c, ticket, r, appeal, m in rows]
