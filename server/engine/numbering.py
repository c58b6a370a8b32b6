"""Ticket numbers: service prefix + zero-padded daily sequence (A001 … A999)."""

from __future__ import annotations

from .errors import HallError


def capacity(width: int) -> int:
    """The highest sequence a number of this width can show."""
    return int(10**width) - 1


def format_number(prefix: str, seq: int, width: int) -> str:
    """A001 for prefix A, sequence 1, width 3."""
    if not 1 <= seq <= capacity(width):
        raise HallError("daily_limit", 409, "no more numbers today for this service")
    return f"{prefix}{seq:0{width}d}"


def check_limit(next_seq: int, daily_limit: int | None, width: int) -> None:
    """Refuse the next number when the day's limit or the number width is reached."""
    limit = capacity(width) if daily_limit is None else min(daily_limit, capacity(width))
    if next_seq > limit:
        raise HallError("daily_limit", 409, "the daily limit of tickets for this service is reached")
