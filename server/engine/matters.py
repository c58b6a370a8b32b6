"""Matters that outlive the visit (办件, PROTOCOL v1.2): their states, their order and their case numbers.

A promised matter (承诺件) accepted at a window, a 全程代办 opened on a resident's behalf, or a home visit
(上门服务) lives on after the ticket: accepted → in_progress → sent_up → result_ready → picked_up, or
rejected from any open state. Only forward: a step backwards is a clerk's mistake the ledger must not
hide, so it is refused rather than undone.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from .errors import HallError


class MatterStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # 已受理
    IN_PROGRESS = "in_progress"  # 办理中
    SENT_UP = "sent_up"  # 已报送上级 (the county or a department)
    RESULT_READY = "result_ready"  # 可领取
    PICKED_UP = "picked_up"  # 已领取
    REJECTED = "rejected"  # 不予办理


FORWARD = (
    MatterStatus.ACCEPTED,
    MatterStatus.IN_PROGRESS,
    MatterStatus.SENT_UP,
    MatterStatus.RESULT_READY,
    MatterStatus.PICKED_UP,
)
CLOSED = frozenset({MatterStatus.PICKED_UP, MatterStatus.REJECTED})
# Done on time is measured at result_ready: from then on the hall has nothing left to do but hand it over.
DONE = frozenset({MatterStatus.RESULT_READY, MatterStatus.PICKED_UP})


def check_progress(current: MatterStatus, wanted: MatterStatus) -> None:
    """Refuse a step that is not forward along the matter's path (or a rejection of a closed matter)."""
    if current in CLOSED:
        raise HallError("bad_transition", 409, f"the matter is {current.value} already")
    if wanted is MatterStatus.REJECTED:
        return
    if wanted is MatterStatus.ACCEPTED or FORWARD.index(wanted) <= FORWARD.index(current):
        raise HallError("bad_transition", 409, f"a matter cannot go from {current.value} to {wanted.value}")


def overdue(status: MatterStatus, due_at: datetime, result_ready_at: datetime | None, now: datetime) -> bool:
    """Past its due time without a result (or with a result that came late)."""
    if status is MatterStatus.REJECTED:
        return False
    if result_ready_at is not None:
        return result_ready_at > due_at
    return now > due_at


NUMBER_FIELDS = ("year", "date", "hall", "service", "seq")
_FIELD = re.compile(r"\{(\w+)(?::0?(\d))?\}")


def check_number_format(fmt: str) -> str | None:
    """The problem with a case number format, or None: it needs {seq} and knows only NUMBER_FIELDS."""
    names = [m.group(1) for m in _FIELD.finditer(fmt)]
    unknown = [n for n in names if n not in NUMBER_FIELDS]
    if unknown:
        return f"unknown field {{{unknown[0]}}} (use {', '.join('{' + n + '}' for n in NUMBER_FIELDS)})"
    if "seq" not in names:
        return "the format needs {seq} (the year's running number) to make numbers unique"
    if "{" in _FIELD.sub("", fmt) or "}" in _FIELD.sub("", fmt):
        return "a brace that is not part of a field"
    return None


def format_number(fmt: str, *, year: int, date: str, hall: str, service: str, seq: int) -> str:
    """A case number (办件编号) from the hall's format: {seq:5} pads the running number to 5 digits."""
    values = {"year": str(year), "date": date.replace("-", ""), "hall": hall, "service": service}

    def one(m: re.Match[str]) -> str:
        name, width = m.group(1), m.group(2)
        if name == "seq":
            return str(seq).zfill(int(width) if width else 5)
        return values[name]

    return _FIELD.sub(one, fmt)
