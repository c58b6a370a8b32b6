"""The hall's nouns: halls, services, counters, kiosks, displays and ticket states."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .appointments import Booking
from .calendar import Calendar, day_bounds, deadline
from .evaluation import EvaluationPush
from .outbound import Webhook


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CLOSED_OUT = "closed_out"  # still in the hall when the day was closed: not served (HALL_RULES 13)
    REMOTE = "remote"  # 线上取号: keeps its place by issue time, not called until checked in (PROTOCOL v1.2)
    EXPIRED = "expired"  # a remote ticket not checked in by its check_in_by
    PARKED = "parked"  # 挂起: put on hold by a counter (PROTOCOL v1.2), neither waiting nor served
    CANCELLED = "cancelled"  # cancelled by a supervisor (PROTOCOL v1.2)


class ParkKind(enum.StrEnum):
    """Why a ticket is parked (挂起), which says where it comes back to (PROTOCOL v1.2)."""

    FETCH_DOCUMENTS = "fetch_documents"  # the resident fetches a document: back to any counter of the service
    KEEP_DOCUMENTS = "keep_documents"  # the counter keeps the documents: back to this counter
    WAIT_STEP = "wait_step"  # waiting for a step (a seal, a check): this counter waits


class CounterState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    AWAY = "away"


class Outcome(enum.StrEnum):
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # materials missing: 一次性告知
    REJECTED = "rejected"
    CONSULTED = "consulted"
    ACCEPTED = "accepted"  # 受理: a promised matter taken in, to be done within its time limit (a matter opens)


class ServiceKind(enum.StrEnum):
    IMMEDIATE = "immediate"  # 即办件: done on the spot
    PROMISED = "promised"  # 承诺件: done within a promised time limit


class ServiceGroup(enum.StrEnum):
    """How the kiosk groups services for residents."""

    ADMIN = "admin"  # 行政事务: certificates, registrations, permits
    LIFE = "life"  # 生活服务: bills and household services paid at a window


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


PICKUP = ("受理回执", "本人身份证")  # what a resident brings to pick up a matter's result, unless configured
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    """Opening hours: weekdays (0 = Monday) and daily periods, or always open."""

    always: bool = False
    days: frozenset[int] = frozenset(range(5))
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))

    def is_open(self, local: datetime, calendar: Calendar | None = None) -> bool:
        """Whether tickets may be issued at this hall-local moment.

        With the hall's calendar, a holiday closes and a make-up working day (调休) opens these hours
        as on any of their days; "always" stays open whatever the date (the demo can be tried any day).
        """
        if self.always:
            return True
        day = local.date()
        if calendar is not None and day in calendar.holidays:
            return False
        if local.weekday() not in self.days and not (calendar is not None and day in calendar.workdays):
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.periods)

    def next_open(self, local: datetime, calendar: Calendar | None = None) -> datetime | None:
        """The first hall-local moment from `local` on when tickets may be issued (`local` itself when open).

        With the hall's calendar, holidays are skipped and make-up working days (调休) count.
        """
        if self.always or self.is_open(local, calendar):
            return local
        holidays = calendar.holidays if calendar is not None else frozenset()
        workdays = calendar.workdays if calendar is not None else frozenset()
        for offset in range(8 + len(holidays)):  # every weekday comes round within a week of working days
            day = local.date() + timedelta(days=offset)
            if day in holidays or (day.weekday() not in self.days and day not in workdays):
                continue
            for start, _ in self.periods:
                moment = datetime.combine(day, start, tzinfo=local.tzinfo)
                if moment > local:
                    return moment
        return None


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
    group: ServiceGroup = ServiceGroup.ADMIN
    pickup: tuple[str, ...] = PICKUP  # promised: what to bring to pick the result up
    materials_en: tuple[str, ...] = ()  # the materials' English names, one per material (empty: none configured)

    def materials_in(self, english: bool) -> tuple[str, ...]:
        """The materials in the page's language: English where configured, else as written."""
        return self.materials_en if english and self.materials_en else self.materials

    task_code: str | None = None  # 事项编码: the service's code on the provincial 好差评 platform
    booking: Booking | None = None  # takes appointments (预约服务, PROTOCOL v1.2) by these rules
    remote: bool = True  # takes remote tickets (线上取号) when the hall does

    @property
    def appointment_only(self) -> bool:
        """非固定窗口: served by appointment only, no walk-in or remote tickets."""
        return self.booking is not None and self.booking.only


@dataclass(frozen=True)
class Counter:
    id: str
    number: int
    name: str
    services: tuple[str, ...]  # the work profile, in order of preference
    partner: str | None = None
    name_en: str = ""  # the English pages' name ("" : the name)
    printer: Printer = field(default_factory=lambda: Printer())  # a counter's own printer (一次性告知), or none

    def name_in(self, english: bool) -> str:
        return self.name_en or self.name if english else self.name


@dataclass(frozen=True)
class Printer:
    kind: str = "none"  # none | virtual | network | usb | serial | file | agent (a kiosk agent prints it)
    host: str = "127.0.0.1"
    port: int = 9100
    path: str = ""
    usb_vendor: int = 0
    usb_product: int = 0
    baudrate: int = 9600
    paper: int = 80  # paper width in mm: 80 or 58 (printers.layout.PAPERS)
    text: str = "chinese"  # "chinese": the printer's own GB18030 font; "raster": drawn with a CJK font

    @property
    def by_server(self) -> bool:
        """Whether the server process itself opens this printer (not a kiosk agent, not none)."""
        return self.kind not in ("none", "agent")


@dataclass(frozen=True)
class Kiosk:
    id: str
    name: str
    printer: Printer = field(default_factory=Printer)


@dataclass(frozen=True)
class Display:
    """A call screen: which services or counters it shows (empty: all), its language and orientation."""

    id: str
    name: str
    services: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()
    lang: str = "zh-CN"
    orientation: str = "landscape"
    english: bool = False  # also announce each call in English
    notice: str = ""  # the scrolling notice line


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
    calendar: Calendar = field(default_factory=Calendar)
    max_recalls: int = 3  # recalls of one call before recall answers recall_limit (PROTOCOL v1.2)
    webhooks: tuple[Webhook, ...] = ()  # [[hall.webhook]]: receivers of its outbound events
    matter_number: str = "BJ{year}{seq:6}"  # 办件编号 format (engine/matters.py: year date hall service seq)
    evaluation_push: EvaluationPush | None = None  # [hall.evaluation_push]: every rating to the 好差评 platform
    region: str = ""  # [hall] region: halls of a city grouped on the overview (PROTOCOL v1.2)
    near_ahead: int = 3  # the track body's `near`: at most this many people ahead (即将到号)
    remote_tickets: bool = False  # 线上取号 from a phone (PROTOCOL v1.2)
    remote_check_in_min: int = 60  # a remote ticket must be checked in within this long of its issue
    personal_data_days: int = 180  # appointments' and remote tickets' personal data is purged after this

    def takes_remote(self, service: Service) -> bool:
        """Whether a phone may take a remote ticket of this service (PROTOCOL v1.2 `remote`)."""
        return self.remote_tickets and service.remote and service.enabled and not service.appointment_only

    def wants(self, event: str) -> bool:
        """Whether any receiver takes this outbound event (else no outbox row is written for it)."""
        return any(w.wants(event) for w in self.webhooks)

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

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of a hall-local day in UTC (23 or 25 hours on a DST change)."""
        return day_bounds(day, self.timezone)

    def is_open(self, service: Service, moment: datetime) -> bool:
        """Whether this service takes tickets at this moment: enabled, within its hours, on the calendar."""
        return service.enabled and service.hours.is_open(self.local(moment), self.calendar)

    def deadline(self, moment: datetime, working_days: int) -> datetime:
        """The same hall-local time `working_days` working days after `moment` (complaint deadlines)."""
        return deadline(self.calendar, self.timezone, moment, working_days)
