"""Outbound events (PROTOCOL v1.2): their names, and which endpoints of a hall want which.

Pure: the use cases ask `Hall.wants(event)` before writing an outbox row, so a hall with no
webhook pays nothing on its hot paths; the sender (server/services/outbox.py) fans each row out.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS = (
    "ticket.issued",
    "ticket.called",
    "ticket.finished",
    "ticket.no_show",
    "ticket.transferred",
    "ticket.near_front",
    "rating.created",
    "complaint.changed",
    "matter.changed",
    "appointment.booked",
    "appointment.cancelled",
    "appointment.missed",
    "appointment.reminder",
    "counter.changed",
)
"""Every event hallq sends; `[[hall.webhook]] events` picks among them (default: all)."""


@dataclass(frozen=True)
class Webhook:
    """One receiver of a hall's events: POSTed, signed with `secret`, retried for `retry_hours`."""

    url: str
    secret: str
    events: frozenset[str] = frozenset(EVENTS)
    retry_hours: int = 72

    def wants(self, event: str) -> bool:
        return event in self.events
