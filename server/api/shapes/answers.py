"""What the server answers: every response shape of /api/v1, described once (PROTOCOL.md and docs/api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from server.engine.model import (
    ComplaintStatus,
    CounterState,
    Outcome,
    PrinterState,
    ServiceGroup,
    ServiceKind,
    TicketStatus,
)

from .base import Answer, Count, DayText, Seconds, Sometimes, Timestamp

CounterRef = str | None  # a counter id, or null


class ErrorDetail(Answer):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable snake_case code (docs/api.md lists them)")
    message: str = Field(description="readable text")


class Error(Answer):
    """Every error answer."""

    error: ErrorDetail


class Health(Answer):
    status: Literal["ok"]


class Degraded(Answer):
    status: Literal["degraded"]
    database: str = Field(description="what failed")


class Hall(Answer):
    id: str
    name: str


class Service(Answer):
    id: str
    name: str
    name_en: str
    prefix: str
    open: bool = Field(description="taking tickets now")
    waiting: Count
    est_wait_s: Seconds = Field(description="estimated wait of a ticket taken now")
    served_now: bool = Field(
        description="an open counter (or a partner covering an away one) serves this queue now;"
        " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
    )
    kind: ServiceKind
    time_limit_days: Count
    materials: list[str]
    fee: str
    group: ServiceGroup = Field(description="the kiosk's grouping: admin 行政事务 or life 生活服务")
    opens_at: Timestamp | None = Field(
        description="closed now by its hours: when it next takes tickets (hall-local); else null"
    )


class Counter(Answer):
    id: str
    name: str
    number: int
    services: list[str] = Field(description="service ids, in order of preference")
    partner: CounterRef
    state: CounterState


class Printer(Answer):
    state: PrinterState


class Kiosk(Answer):
    id: str
    name: str
    printer: Printer


class IssuedTicket(Answer):
    id: str
    number: str = Field(examples=["A001"])
    service: str
    status: TicketStatus
    priority: bool
    ahead: Count
    est_wait_s: Seconds
    served_now: bool = Field(
        description="an open counter (or a partner covering an away one) serves this queue now;"
        " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
    )
    issued_at: Timestamp
    track_url: str = Field(json_schema_extra={"format": "uri"}, description="the resident's page (the QR code)")
    repeat_of: str = Sometimes("a return visit (issued with a notice's code): the first visit's ticket id")


class Ticket(Answer):
    id: str
    number: str
    service: str
    status: TicketStatus
    priority: bool
    issued_at: Timestamp
    called_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    wait_s: Seconds
    service_s: Seconds
    served_by: CounterRef
    on_behalf_of: CounterRef


class NoticeWritten(Answer):
    code: str = Field(description="printed on the notice; given back at the kiosk")
    missing: list[str]
    printed_on: str | None = Field(description="the kiosk whose printer took it, or null")


class CounterAnswer(Answer):
    """A counter and the ticket it holds or just touched."""

    counter: Counter
    ticket: Ticket | None
    notice: NoticeWritten = Sometimes("finish as 'incomplete' only: the 一次性告知 notice it wrote")


class Notice(Answer):
    """一次性告知: what a resident must bring back; no personal data is on it."""

    code: str = Field(examples=["K7Q4M-9XP2D"])
    hall: str
    hall_name: str
    service: str
    service_name: str
    counter: str
    counter_name: str
    ticket_number: str | None = Field(description="the first visit's number")
    missing: list[str]
    note: str | None
    issued_at: Timestamp
    used: bool = Field(description="a return visit was already issued with it")


class DeskCounter(Counter):
    clerk: str | None = Field(description="the clerk signed in here (考勤); actions here are recorded for them")
    since: Timestamp | None = Field(description="when the counter's state last changed")
    away_reason: str | None


class DeskPartner(Counter):
    clerk: str | None
    away_reason: str | None


class Origin(Answer):
    """Where a transferred ticket came from (首问负责)."""

    counter: CounterRef
    counter_name: str | None
    clerk: str | None
    reason: str | None
    at: Timestamp


class FirstVisit(Answer):
    """A return visit's first ticket and what its notice said was missing."""

    number: str
    day: DayText
    missing: list[str]
    note: str | None


class DeskTicket(Ticket):
    service_name: str
    materials: list[str] = Field(description="the service's materials (the notice's checklist)")
    waiting_since: Timestamp | None
    serving_since: Timestamp | None = Field(description="the running service timer's start")
    owner: CounterRef = Field(description="首问负责: the first counter that received the matter")
    owner_name: str | None
    transfers: Count
    recalls: Count
    origin: Origin | None
    repeat_of: FirstVisit | None


class Waiting(Answer):
    """One waiting ticket as the counter sees it: no resident's data."""

    number: str
    service: str
    priority: bool
    issued_at: Timestamp
    wait_s: Seconds
    transferred: bool
    to_this_counter: bool
    on_behalf_of: CounterRef = Field(description="served for the away partner (AB岗)")


class Today(Answer):
    clerk: str | None = Field(description="whose figures: the clerk signed in, else this counter's")
    served: Count
    no_show: Count
    transferred: Count
    notices: Count
    avg_wait_s: Seconds
    avg_service_s: Seconds


class DeskService(Answer):
    id: str
    name: str
    name_en: str
    materials: list[str]


class DeskOther(Answer):
    id: str
    name: str
    number: int
    state: CounterState


class Desk(Answer):
    """Everything the counter screen shows."""

    now: Timestamp
    counter: DeskCounter
    partner: DeskPartner | None
    covering: bool = Field(description="this counter serves its away partner's queue too (AB岗)")
    ticket: DeskTicket | None
    waiting: list[Waiting] = Field(description="this counter's queue in the order its call-next takes it (first 30)")
    waiting_total: Count
    today: Today
    services: list[DeskService]
    counters: list[DeskOther] = Field(description="the hall's other counters (transfer targets)")


class Track(Answer):
    number: str
    status: TicketStatus
    ahead: Count
    est_wait_s: Seconds
    counter: str | None = Field(description="the name of the counter that called it")
    can_rate: bool
    served_now: bool = Field(
        description="an open counter (or a partner covering an away one) serves this queue now;"
        " when false, est_wait_s is not a promise (PROTOCOL v1.1)"
    )
    service: str


class Rating(Answer):
    id: str
    level: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list)


class Complaint(Answer):
    id: str
    ticket: str
    number: str
    level: int = Field(ge=1, le=2)
    comment: str | None
    status: ComplaintStatus
    opened_at: Timestamp
    callback_due_at: Timestamp
    due_at: Timestamp
    callback_overdue: bool = Field(description="still open after the call-back deadline")
    overdue: bool = Field(description="not answered by due_at")
    verified_at: Timestamp | None
    verify_note: str | None
    closed_at: Timestamp | None = Field(description="when it was resolved or dismissed")
    answer: str | None = Field(description="what was done (resolved) or why not (dismissed)")
    handled_by: str | None = Field(description="the supervisor who took the last step")
    tags: list[str]
    followup_level: int | None = Field(ge=1, le=5, description="the resident's 追评 after the answer")
    followup_comment: str | None


class Handoff(Answer):
    """One transfer of a ticket: who handed it on, where to and why."""

    at: Timestamp
    counter: CounterRef
    clerk: str | None
    to_service: str | None
    to_counter: CounterRef
    reason: str | None


class LedgerEntry(Ticket):
    outcome: Outcome | None
    clerk: str | None
    counter: CounterRef = Field(description="the counter that served it")
    owner: CounterRef = Field(description="首问负责: the first counter that received the matter")
    recalls: Count
    transfers: Count
    missing: list[str] = Field(description="一次性告知: what the resident must bring")
    day: DayText
    handoffs: list[Handoff] = Field(
        description="首问负责: each transfer in order, who handed the ticket on, where to and why"
    )


class ServiceFigures(Answer):
    service: str
    issued: Count
    served: Count
    avg_wait_s: Seconds


class CounterFigures(Answer):
    counter: str
    served: Count
    avg_service_s: Seconds
    on_behalf: Count


class CounterCover(Answer):
    counter: str
    takeovers: Count
    away_s: Seconds
    uncovered_s: Seconds


class Cover(Answer):
    """AB岗 figures of the day."""

    takeovers: Count
    uncovered_s: Seconds
    counters: list[CounterCover]


class Ratings(Answer):
    one: Count = Field(alias="1")
    two: Count = Field(alias="2")
    three: Count = Field(alias="3")
    four: Count = Field(alias="4")
    five: Count = Field(alias="5")


class DailyReport(Answer):
    date: DayText
    issued: Count
    served: Count
    no_show: Count
    waiting: Count
    priority: Count
    avg_wait_s: Seconds
    p90_wait_s: Seconds
    avg_service_s: Seconds
    by_service: list[ServiceFigures]
    by_counter: list[CounterFigures]
    ratings: Ratings
    cover: Cover


class Call(Answer):
    ticket: str
    number: str
    counter: str
    counter_name: str | None
    counter_number: int | None
    service: str
    recall: bool
    at: Timestamp


class DisplaySnapshot(Answer):
    calls: list[Call] = Field(description="latest calls first")
    waiting: dict[str, Count] = Field(description="waiting tickets per service id")


class Enrollment(Answer):
    """A one-time link that enrolls a browser as a kiosk."""

    kiosk: str
    url: str = Field(json_schema_extra={"format": "uri"}, description="open once on the kiosk's screen")
    expires_at: Timestamp


class PrinterAlertDetail(Answer):
    kiosk: str
    state: Literal["paper_out", "offline"]


class Alert(Answer):
    """Something staff must see to (a kiosk printer out of paper or offline)."""

    id: str
    kind: Literal["printer"]
    key: str = Field(description="printer:<kiosk>:<state>")
    detail: PrinterAlertDetail
    raised_at: Timestamp = Field(description="when this server process saw it go wrong")
    cleared_at: Timestamp | None = Field(description="set in the live event once it is fine again")
