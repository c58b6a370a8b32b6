"""What a use case tells the outside world after its transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Called:
    """A number was called (or recalled) to a counter: the display speaks it."""

    hall: str
    ticket: str
    number: str
    counter: str
    counter_name: str
    counter_number: int
    service: str
    recall: bool
    at: datetime
    appointment: bool = False  # a checked-in appointment's ticket: the display and counter mark it 预约
    pickup: bool = False  # a 领取 ticket (a matter's result to pick up): marked 领取 likewise


@dataclass(frozen=True)
class QueueChanged:
    """Waiting counts, and so every waiting ticket's place, changed for these services."""

    hall: str
    services: frozenset[str]
    counters: frozenset[str] = frozenset()  # queues of tickets transferred to a named counter
    places_moved: bool = True  # False when only the count changed (a normal ticket joined the end)
    served_changed: bool = False  # a counter opened, closed, left or came back: `served_now` may differ


@dataclass(frozen=True)
class TicketChanged:
    hall: str
    ticket: str


@dataclass(frozen=True)
class CounterChanged:
    hall: str
    counter: str


@dataclass(frozen=True)
class PrintQueued:
    """A slip waits to be printed on a kiosk's printer (the job is a row, committed with the ticket)."""

    hall: str
    kiosk: str
    job: str


Event = Called | QueueChanged | TicketChanged | CounterChanged | PrintQueued
