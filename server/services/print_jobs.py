"""Print jobs: slips waiting for a kiosk's printer, kept in the database so a crash loses none.

A job is written in the same transaction as its ticket. Before a slip goes to a printer (or to an
agent) its job's `sends` is raised and committed; a slip rendered when `sends` is already above zero
says 补打. So whatever fails between the two (a crash, a lost acknowledgement), a slip printed a
second time is always marked. A send that provably put nothing on paper (the printer refused the
connection, or said it had no paper before anything was written) takes its count back.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from server.engine.errors import HallError, not_found
from server.engine.events import Event, PrintQueued, TicketChanged
from server.engine.model import Hall, Kiosk
from server.store.models import PrinterStateRow, PrintJobRow, TicketRow

from . import queue
from .context import Context
from .track_links import token_hash

_TICKET_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_JOB_COLUMNS = [c.key for c in PrintJobRow.__table__.columns]
_INSERT_JOB = insert(cast(Table, PrintJobRow.__table__))
STATES = ("ok", "paper_low", "paper_out", "offline")
READY = ("ok", "paper_low")  # a printer in these states is sent jobs


@dataclass(frozen=True)
class Claimed:
    """A job handed out to be printed now: what the slip needs."""

    job: str
    kiosk: str
    ticket: str
    number: str
    reprint: bool  # print 补打: staff asked, or the slip may have come out before
    track_url: str


def add(
    s: Session,
    hall: Hall,
    kiosk: Kiosk,
    ticket: TicketRow,
    track_url: str,
    now: datetime,
    reprint: bool = False,
    requested_by: str | None = None,
) -> PrintJobRow | None:
    """Queue the ticket's slip for the kiosk's printer, inside the caller's transaction (None: no printer)."""
    if kiosk.printer.kind == "none":
        return None
    job = PrintJobRow(
        id=secrets.token_hex(8),
        hall_id=hall.id,
        kiosk_id=kiosk.id,
        ticket_id=ticket.id,
        status="pending",
        reprint=reprint,
        requested_by=requested_by,
        sends=0,
        track_url=track_url,
        created_at=now,
    )
    # A plain INSERT on the connection, like the ticket's own on the issue path (no ORM flush).
    s.connection().execute(_INSERT_JOB, {c: getattr(job, c) for c in _JOB_COLUMNS})
    return job


def claim(ctx: Context, kiosk_id: str, lease_s: float, limit: int = 20) -> list[Claimed]:
    """Take the kiosk's pending jobs that nobody holds, oldest first, counting this send; one transaction.

    With several server processes each job goes to one of them: the lease is taken by an UPDATE whose
    condition is checked again on the row it locks.
    """
    now = ctx.clock.now()
    free = (PrintJobRow.lease_until.is_(None)) | (PrintJobRow.lease_until < now)
    with ctx.db.write() as s:
        ids = s.scalars(
            select(PrintJobRow.id)
            .where(PrintJobRow.kiosk_id == kiosk_id, PrintJobRow.status == "pending", free)
            .order_by(PrintJobRow.created_at, PrintJobRow.id)
            .limit(limit)
        ).all()
        if not ids:
            return []
        rows = s.execute(
            update(PrintJobRow)
            .where(PrintJobRow.id.in_(ids), PrintJobRow.status == "pending", free)
            .values(sends=PrintJobRow.sends + 1, sent_at=now, lease_until=now + timedelta(seconds=lease_s))
            .returning(
                PrintJobRow.id,
                PrintJobRow.ticket_id,
                PrintJobRow.sends,
                PrintJobRow.reprint,
                PrintJobRow.track_url,
                PrintJobRow.created_at,
            )
        ).all()
        numbers = dict(
            s.execute(select(TicketRow.id, TicketRow.number).where(TicketRow.id.in_([r[1] for r in rows]))).all()
        )
    rows = sorted(rows, key=lambda r: (r.created_at, r.id))
    return [
        Claimed(r.id, kiosk_id, r.ticket_id, numbers.get(r.ticket_id, "?"), r.reprint or r.sends > 1, r.track_url or "")
        for r in rows
    ]


def printed(ctx: Context, job_id: str, kiosk_id: str) -> tuple[str, Claimed] | None:
    """The slip is on paper: the job is done and forgets the resident's link. (hall, job); None if unknown."""
    now = ctx.clock.now()
    with ctx.db.write() as s:
        row = s.get(PrintJobRow, job_id)
        if row is None or row.kiosk_id != kiosk_id:
            return None
        if row.status == "pending":
            row.status, row.printed_at, row.track_url, row.lease_until, row.error = "printed", now, None, None, None
        number = s.scalars(select(TicketRow.number).where(TicketRow.id == row.ticket_id)).first() or "?"
        return row.hall_id, Claimed(row.id, kiosk_id, row.ticket_id, number, row.reprint or row.sends > 1, "")


def failed(ctx: Context, job_id: str, kiosk_id: str, error: str, nothing_printed: bool, retry_s: float) -> None:
    """The send failed: the job waits `retry_s` (or a ready printer); its count goes back if nothing printed."""
    now = ctx.clock.now()
    with ctx.db.write() as s:
        row = s.get(PrintJobRow, job_id)
        if row is None or row.kiosk_id != kiosk_id or row.status != "pending":
            return
        if nothing_printed and row.sends > 0:
            row.sends -= 1
        row.error = error[:200]
        row.lease_until = now + timedelta(seconds=retry_s)


def unclaim(ctx: Context, job_ids: list[str], retry_s: float) -> None:
    """Jobs claimed but never sent (the printer failed on an earlier one): their count goes back."""
    if not job_ids:
        return
    now = ctx.clock.now()
    with ctx.db.write() as s:
        s.execute(
            update(PrintJobRow)
            .where(PrintJobRow.id.in_(job_ids), PrintJobRow.status == "pending", PrintJobRow.sends > 0)
            .values(sends=PrintJobRow.sends - 1, lease_until=now + timedelta(seconds=retry_s))
        )


def release_all(ctx: Context, kiosk_id: str) -> None:
    """A printer became ready again: its waiting jobs may be sent at once."""
    with ctx.db.write() as s:
        s.execute(
            update(PrintJobRow)
            .where(PrintJobRow.kiosk_id == kiosk_id, PrintJobRow.status == "pending")
            .values(lease_until=None)
        )


def slip_facts(ctx: Context, claimed: Claimed, with_place: bool = True) -> dict[str, Any] | None:
    """The ticket's printable facts now (its row; with_place: people ahead, wait); None when it is gone."""
    with ctx.db.read() as s:
        row = s.get(TicketRow, claimed.ticket)
        if row is None:
            return None
        hall = ctx.hall(row.hall_id)
        if not with_place:
            return {"ticket": row, "hall": hall, "place": None}
        where = queue.place(s, hall, row, ctx.clock.now())
    return {"ticket": row, "hall": hall, "place": (where.ahead, where.est_wait_s, where.served_now)}


def ticket_hall(ctx: Context, ticket_id: str) -> str:
    """The hall of a ticket, or a 404 (also for what cannot be an id: PostgreSQL refuses NUL in a query)."""
    if not _TICKET_ID.fullmatch(ticket_id):
        raise not_found("ticket", ticket_id)
    with ctx.db.read() as s:
        hall_id = s.scalars(select(TicketRow.hall_id).where(TicketRow.id == ticket_id)).first()
    if hall_id is None:
        raise not_found("ticket", ticket_id)
    return hall_id


def reprint(
    ctx: Context, ticket_id: str, kiosk_id: str | None, track_base: str, by: str
) -> tuple[dict[str, Any], list[Event]]:
    """Staff ask for the slip again: a new job marked 补打, with a fresh QR link.

    The lost slip's link stops working (whoever finds it cannot follow or rate the resident's ticket),
    and jobs of the ticket still waiting are dropped so the paper coming back prints one slip, not two.
    """
    now = ctx.clock.now()
    token = secrets.token_urlsafe(24)
    with ctx.db.write() as s:
        ticket = s.get(TicketRow, ticket_id)
        if ticket is None:
            raise not_found("ticket", ticket_id)
        hall = ctx.hall(ticket.hall_id)
        kiosk = ctx.kiosk(hall, kiosk_id) if kiosk_id else (hall.kiosk(ticket.kiosk_id or "") or None)
        if kiosk is None or kiosk.printer.kind == "none":
            raise HallError("no_printer", 409, "name a kiosk with a printer: this ticket was not taken at one")
        s.execute(
            update(PrintJobRow)
            .where(PrintJobRow.ticket_id == ticket.id, PrintJobRow.status == "pending")
            .values(status="superseded", track_url=None)
        )
        ticket.token_hash = token_hash(token)
        job = add(s, hall, kiosk, ticket, f"{track_base.rstrip('/')}/t/{token}", now, reprint=True, requested_by=by)
        assert job is not None
        body: dict[str, Any] = {"job": job.id, "ticket": ticket.id, "number": ticket.number, "kiosk": kiosk.id}
    body |= {"reprint": True, "status": "pending", "track_url": f"{track_base.rstrip('/')}/t/{token}"}
    return body, [PrintQueued(hall.id, kiosk.id, body["job"]), TicketChanged(hall.id, ticket.id)]


def jobs(ctx: Context, hall_id: str, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The hall's print jobs, newest first (the /admin list of slips that did not come out)."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        query = select(PrintJobRow, TicketRow.number).join(TicketRow, TicketRow.id == PrintJobRow.ticket_id)
        query = query.where(PrintJobRow.hall_id == hall.id)
        if status is not None:
            query = query.where(PrintJobRow.status == status)
        rows = s.execute(query.order_by(PrintJobRow.created_at.desc()).limit(limit)).all()
    return [job_body(hall, row, number) for row, number in rows]


def job_body(hall: Hall, row: PrintJobRow, number: str) -> dict[str, Any]:
    return {
        "job": row.id,
        "ticket": row.ticket_id,
        "number": number,
        "kiosk": row.kiosk_id,
        "status": row.status,
        "reprint": row.reprint,
        "sends": row.sends,
        "error": row.error,
        "created_at": hall.local(row.created_at).isoformat(timespec="seconds"),
        "printed_at": hall.local(row.printed_at).isoformat(timespec="seconds") if row.printed_at else None,
    }


# -- printer states -------------------------------------------------------------------------------


def printer_state(ctx: Context, kiosk: Kiosk) -> str:
    """What the kiosk's printer last said: ok | paper_low | paper_out | offline; none without a printer."""
    if kiosk.printer.kind == "none":
        return "none"
    with ctx.db.read() as s:
        row = s.get(PrinterStateRow, kiosk.id)
    if row is None:  # never heard of: an agent's kiosk has no printer until its agent connects
        return "offline" if kiosk.printer.kind == "agent" else "ok"
    return row.state


def set_printer_state(ctx: Context, hall_id: str, kiosk_id: str, state: str) -> str | None:
    """Record the printer's state; the state it had before when it changed, else None."""
    if state not in STATES:
        raise HallError("invalid_state", 422, f"printer state must be one of {', '.join(STATES)}")
    with ctx.db.read() as s:
        row = s.get(PrinterStateRow, kiosk_id)
        if row is not None and row.state == state:
            return None  # the usual case (a poll that finds nothing new) costs no write
    with ctx.db.write() as s:
        row = s.get(PrinterStateRow, kiosk_id)
        if row is None:
            s.add(PrinterStateRow(kiosk_id=kiosk_id, hall_id=hall_id, state=state, changed_at=ctx.clock.now()))
            return "ok" if state != "ok" else None
        if row.state == state:
            return None
        before, row.state, row.changed_at = row.state, state, ctx.clock.now()
        return before


def set_agent(ctx: Context, hall_id: str, kiosk_id: str, sid: str | None, only_if: str | None = None) -> None:
    """Note the agent connection printing for the kiosk (None: none); `only_if` clears only that one."""
    with ctx.db.write() as s:
        row = s.get(PrinterStateRow, kiosk_id)
        if row is None:
            row = PrinterStateRow(kiosk_id=kiosk_id, hall_id=hall_id, state="ok", changed_at=ctx.clock.now())
            s.add(row)
        if only_if is None or row.agent_sid == only_if:
            row.agent_sid = sid


def agent_connected(ctx: Context, kiosk_id: str) -> bool:
    with ctx.db.read() as s:
        row = s.get(PrinterStateRow, kiosk_id)
    return row is not None and row.agent_sid is not None
