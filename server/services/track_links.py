"""A resident's track link (/t/<token>): its token, kept only hashed, and the ticket a link opens.

Below tickets, matters and print_jobs, which all make or follow such links (a ticket's slip, its 补打, a
matter's 受理回执), so none of them has to import another to hash or look up a token."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.engine.errors import HallError
from server.store.models import MatterRow, TicketRow

_BY_TOKEN = select(TicketRow).where(TicketRow.token_hash == bindparam("hash"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_token(s: Session, token: str) -> TicketRow:
    """The ticket of a track link's token: the ticket's own, else a receipt's (受理回执), whose QR opens its
    ticket's page too; 404 not_found for any other text."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise HallError("not_found", 404, "unknown ticket")
    hashed = token_hash(token)
    row = s.scalars(_BY_TOKEN, {"hash": hashed}).first()
    if row is None:
        row = _ticket_for_receipt_link(s, hashed)
    if row is None:
        raise HallError("not_found", 404, "unknown ticket")
    return row


def _ticket_for_receipt_link(s: Session, hashed: str) -> TicketRow | None:
    m = s.scalars(select(MatterRow).where(MatterRow.track_hash == hashed)).first()
    return s.get(TicketRow, m.ticket_id) if m is not None and m.ticket_id else None
