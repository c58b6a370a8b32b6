"""The hall's nouns: halls, services, counters, kiosks, displays and ticket states."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CLOSED_OUT = "closed_out"  # still in the hall when the day was closed: not served (HALL_RULES 13)


class CounterState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    AWAY = "away"


class Outcome(enum.StrEnum):
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # materials missing: 一次性告知
    REJECTED = "rejected"
    CONSULTED = "consulted"


class ServiceKind(enum.StrEnum):
    IMMEDIATE = "immediate"  # 即办件: done on the spot
    PROMISED = "promised"  # 承诺件: done within a promised time limit


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    VERIFIED = "verified"  # called the resident back and confirmed the matter
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class PrinterState(enum.StrEnum):
    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    NONE = "none"  # the kiosk has no printer


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    """Opening hours: weekdays (0 = Monday) and daily periods, or always open."""

    always: bool = False
    days: frozenset[int] = frozenset(range(5))
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))

    def is_open(self, local: datetime) -> bool:
        """Whether tickets may be issued at this hall-local moment."""
        if self.always:
            return True
        if local.weekday() not in self.days:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.periods)


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    name_en: str
    prefix: str
    hours: Hours
    kind: ServiceKind = ServiceKind.IMMEDIATE
    time_limit_days: int = 0
    materials: tuple[str, ...] = ()
    daily_limit: int | None = None
    avg_service_s: int = 300  # prior for the wait estimate until real services are measured
    fee: str = ""
    enabled: bool = True
    wait_alert_s: int | None = None  # alert when a ticket waits longer (None: the hall's [jobs] default)


@dataclass(frozen=True)
class Counter:
    id: str
    number: int
    name: str
    services: tuple[str, ...]  # the work profile, in order of preference
    partner: str | None = None


@dataclass(frozen=True)
class Printer:
    kind: str = "none"  # none | virtual | network | usb | serial | file
    host: str = "127.0.0.1"
    port: int = 9100
    path: str = ""
    usb_vendor: int = 0
    usb_product: int = 0
    baudrate: int = 9600


@dataclass(frozen=True)
class Kiosk:
    id: str
    name: str
    printer: Printer = field(default_factory=Printer)


@dataclass(frozen=True)
class Display:
    id: str
    name: str


@dataclass(frozen=True)
class Hall:
    id: str
    name: str
    name_en: str
    timezone: ZoneInfo
    number_width: int
    max_priority_streak: int
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    kiosks: tuple[Kiosk, ...] = ()
    displays: tuple[Display, ...] = ()

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def counter(self, counter_id: str) -> Counter | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)

    def local(self, moment: datetime) -> datetime:
        """The hall-local wall-clock time of an aware UTC moment."""
        return moment.astimezone(self.timezone)

    def day_of(self, moment: datetime) -> str:
        """The hall-local date (YYYY-MM-DD) that numbers and reports belong to."""
        return self.local(moment).date().isoformat()
