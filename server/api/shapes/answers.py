"""What the server answers: every response shape of /api/v1, described once (PROTOCOL.md and docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from server.engine.matters import MatterStatus
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
from .matters import MatterBrief

CounterRef = str | None  # a counter id, or null
Rate = Annotated[float | None, Field(ge=0, le=1)]  # a share 0..1, null when there is nothing to divide


class ErrorDetail(Answer):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable snake_case code (docs/api.md lists them)")
    message: str = Field(description="readable text")
    until: str = Sometimes("blocked: when the no-show block ends (hall-local)")
    opens_at: str = Sometimes("too_early: when check-in opens (hall-local)")
    number: str | None = Sometimes("already_checked_in: the ticket's number")
    service: str = Sometimes("appointment_expired: the service, for an ordinary ticket in one tap")


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
    materials_en: list[str] = Field(description="the materials' English names (config materials_en), else as written")
    opens_at: Timestamp | None = Field(
        description="closed now by its hours: when it next takes tickets (hall-local); else null"
    )
    before_opening: bool = Field(
        description="served_now is false only because no window of the hall has opened yet today: the"
        " number is called in order once they open (not 'ask the help desk')"
    )
    windows_open_at: str | None = Field(
        pattern=r"^\d{2}:\d{2}$", description="before_opening: when the windows are due (hall-local HH:MM); else null"
    )
    ahead: Count = Field(
        description="people a ticket taken now would have ahead: called before it at the windows that serve it"
    )
    appointments: bool = Field(False, description="PROTOCOL v1.2: takes appointments (预约)")
    remote: bool = Field(False, description="PROTOCOL v1.2: takes remote tickets (线上取号) now")
    appointment_only: bool = Field(False, description="served by appointment only (非固定窗口)")


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
    before_opening: bool = Field(
        description="served_now is false only because no window of the hall has opened yet today: the"
        " number is called in order once they open (not 'ask the help desk')"
    )
    windows_open_at: str | None = Field(
        pattern=r"^\d{2}:\d{2}$", description="before_opening: when the windows are due (hall-local HH:MM); else null"
    )
    repeat_of: str = Sometimes("a return visit (issued with a notice's code): the first visit's ticket id")
    code: str = Sometimes("a remote ticket (线上取号): the code to check in with at the kiosk")
    check_in_by: Timestamp = Sometimes("a remote ticket: check in by then, or it expires")
    appointment: str = Sometimes("a check-in: the appointment's or remote ticket's code")
    appointment_start: Timestamp = Sometimes("an appointment's check-in: its booked start (预约 on the slip)")


class PickupTicket(IssuedTicket):
    matter: MatterBrief = Field(description="the matter whose result this ticket picks up (领取)")


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
    appointment_at: Timestamp = Sometimes("an appointment's ticket (预约): its booked start")
    pickup: bool = Sometimes("PROTOCOL v1.2: true for a 领取 ticket (a matter's result to pick up); absent otherwise")


class NoticeWritten(Answer):
    code: str = Field(description="printed on the notice; given back at the kiosk")
    missing: list[str]
    printed_on: str | None = Field(description="the kiosk whose printer took it, or null")
    printed_at: Literal["counter", "kiosk"] | None = Field(
        description="where it printed: the counter's own printer (config), a kiosk's, or null (not printed)"
    )
    printed_on_name: str | None = Field(description="the counter's or kiosk's name, for the clerk; else null")


class ReceiptPrinted(Answer):
    """The receipt slip (受理回执) of the matter a finish as 'accepted' opened, and where it printed."""

    number: str = Field(description="the case number (办件编号) on it")
    printed_on: str | None = Field(description="the kiosk whose printer took it, or null")
    printed_at: Literal["counter", "kiosk"] | None = Field(
        description="where it printed: the counter's own printer (config), a kiosk's, or null (not printed)"
    )
    printed_on_name: str | None = Field(description="the counter's or kiosk's name, for the clerk; else null")


class HeldTicket(Ticket):
    matter: MatterBrief = Sometimes("finish as 'accepted' (a promised service) only: the matter it opened")


class CounterAnswer(Answer):
    """A counter and the ticket it holds or just touched."""

    counter: Counter
    ticket: HeldTicket | None
    notice: NoticeWritten = Sometimes("finish as 'incomplete' only: the 一次性告知 notice it wrote")
    receipt: ReceiptPrinted = Sometimes("finish as 'accepted' only: the matter's receipt slip (受理回执)")


class Notice(Answer):
    """一次性告知: what a resident must bring back; no personal data is on it."""

    code: str = Field(examples=["K7Q4M-9XP2D"])
    hall: str
    hall_name: str
    service: str
    service_name: str
    counter: str
    counter_name: str
    counter_name_en: str = Field(description="the counter's English name (config name_en), for English pages")
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
    pickup_number: str = Sometimes("a 领取 ticket: the case number (办件编号) whose result to hand over")


class Waiting(Answer):
    """One waiting ticket as the counter sees it: no resident's data."""

    id: str = Sometimes("the ticket's id (for a named call)")
    number: str
    service: str
    priority: bool
    issued_at: Timestamp
    wait_s: Seconds
    transferred: bool
    to_this_counter: bool
    on_behalf_of: CounterRef = Field(description="served for the away partner (AB岗)")
    pickup: bool = Sometimes("true for a 领取 ticket (a matter's result to pick up); absent otherwise")


class Today(Answer):
    clerk: str | None = Field(description="whose figures: the clerk signed in, else this counter's")
    served: Count
    no_show: Count
    transferred: Count
    notices: Count
    avg_wait_s: Seconds
    avg_service_s: Seconds
    completed: Count = Field(description="办结: served with outcome completed")
    incomplete: Count = Field(description="材料不全: served with outcome incomplete")
    rejected: Count = Field(description="不予受理: served with outcome rejected")
    consulted: Count = Field(description="咨询: served with outcome consulted")
    accepted: Count = Field(description="受理: a promised matter taken in (its 办结 comes later: matters)")


class DeskService(Answer):
    id: str
    name: str
    name_en: str
    materials: list[str]
    served_now: bool = Field(description="an open counter serves it now (a transfer there waits for a window)")
    promised: bool = Field(description="a promised service (承诺件): its tickets may be finished as 'accepted'")


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
    parked: list[ParkedTicket] = Sometimes("parked tickets this counter may resume, in their original order")
    max_recalls: int = Sometimes("recalls of one call before recall answers recall_limit")
    help: HelpAsked | None = Sometimes("求助: the counter's help request not yet answered, or null")


class TrackMatter(Answer):
    number: str = Field(description="the case number (办件编号)")
    status: MatterStatus
    due_at: Timestamp


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
    reason: str | None = Field(description="closed_out: why it was not served (day_closed); null otherwise")
    complaint: ComplaintStatus | None = Field(
        description="the complaint case the resident's bad rating opened (open → verified → resolved or"
        " dismissed); null when there is none. The ticket's `ticket` event comes again when it changes"
    )
    matter: TrackMatter | None = Field(
        description="the matter (办件) its acceptance opened (PROTOCOL v1.2), followed after the visit; null when none"
    )
    before_opening: bool = Field(
        description="served_now is false only because no window of the hall has opened yet today: the"
        " number is called in order once they open (not 'ask the help desk')"
    )
    windows_open_at: str | None = Field(
        pattern=r"^\d{2}:\d{2}$", description="before_opening: when the windows are due (hall-local HH:MM); else null"
    )
    near: bool = Field(False, description="PROTOCOL v1.2: waiting (or remote) with `ahead` <= the hall's near_ahead")


class Rating(Answer):
    id: str
    level: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list)


class Appeal(Answer):
    """申诉: the hall contests a malicious or mistaken rating; a supervisor decides."""

    status: Literal["pending", "upheld", "rejected"]
    reason: str
    filed_by: str
    filed_at: Timestamp
    decided_by: str | None
    decided_at: Timestamp | None
    note: str | None = Field(description="the decision's reason")


class Complaint(Answer):
    id: str
    ticket: str
    number: str
    service: str = Field(description="the ticket's service when it was served")
    counter: CounterRef = Field(
        description="the counter that served it; for a bad rating of a matter's result, the matter's owner window"
    )
    clerk: str | None = Field(description="the clerk signed in at that counter (or the matter's owner), if any")
    matter: str | None = Field(
        default=None, description="the case number (办件编号) when the case is about a matter's result, else null"
    )
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
    callback_phone: str | None = Field(
        description="the number the resident left for the call-back: in full for a supervisor, masked"
        " (138****5678) for other callers; null when none was left"
    )
    appeal: Appeal | None = Field(description="申诉: the hall contests this rating (issue 21); null: none")


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
    reason: str | None = Field(description="closed_out: why it was not served (day_closed); null otherwise")
    day: DayText
    handoffs: list[Handoff] = Field(
        description="首问负责: each transfer in order, who handed the ticket on, where to and why"
    )


class ServiceFigures(Answer):
    """One service's row: issued + transferred_in = served + no_show + closed_out + cancelled + transferred_out
    + in_hall."""

    service: str
    issued: Count = Field(description="numbers taken for this service")
    transferred_in: Count
    transferred_out: Count
    served: Count = Field(description="tickets that ended done in this service")
    no_show: Count
    closed_out: Count
    in_hall: Count = Field(description="still waiting, called, being served or parked in this service")
    cancelled: Count = Field(description="tickets a supervisor cancelled in this service (PROTOCOL v1.2)")
    avg_wait_s: Seconds
    completed: Count = Field(description="办结: served with outcome completed")
    incomplete: Count = Field(description="材料不全: served with outcome incomplete")
    rejected: Count = Field(description="不予受理: served with outcome rejected")
    consulted: Count = Field(description="咨询: served with outcome consulted")
    accepted: Count = Field(description="受理: a promised matter taken in (its 办结 comes later: matters)")


class CounterFigures(Answer):
    counter: str
    served: Count
    avg_service_s: Seconds
    on_behalf: Count
    no_show: Count
    ratings: Count
    satisfaction_rate: Rate
    completed: Count = Field(description="办结: served with outcome completed")
    incomplete: Count = Field(description="材料不全: served with outcome incomplete")
    rejected: Count = Field(description="不予受理: served with outcome rejected")
    consulted: Count = Field(description="咨询: served with outcome consulted")
    accepted: Count = Field(description="受理: a promised matter taken in (its 办结 comes later: matters)")


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


class HourFigures(Answer):
    hour: int = Field(ge=0, le=23)
    issued: Count
    served: Count
    avg_wait_s: Seconds
    max_wait_s: Seconds


class DayFigures(Answer):
    date: DayText
    issued: Count
    served: Count
    no_show: Count
    avg_wait_s: Seconds
    max_wait_s: Seconds
    completed: Count = Field(description="办结: served with outcome completed")
    incomplete: Count = Field(description="材料不全: served with outcome incomplete")
    rejected: Count = Field(description="不予受理: served with outcome rejected")
    consulted: Count = Field(description="咨询: served with outcome consulted")
    accepted: Count = Field(description="受理: a promised matter taken in (its 办结 comes later: matters)")


class ComplaintFigures(Answer):
    opened: Count
    closed: Count
    closed_on_time: Count
    on_time_rate: Rate
    open: Count
    overdue: Count


class PromisedCounts(Answer):
    received: Count = Field(description="matters (办件) accepted in the period")
    on_time: Count = Field(description="of those, result_ready by their due_at")
    late: Count = Field(description="result_ready after their due_at")
    overdue: Count = Field(description="still without a result although past due_at now")
    rejected: Count = Field(description="不予办理")
    rate: Rate = Field(description="及时办结率: on_time / received (PROTOCOL v1.2)")


class PromisedByService(PromisedCounts):
    service: str


class PromisedByCounter(PromisedCounts):
    counter: str = Field(description="the owner window")


class PromisedFigures(PromisedCounts):
    """及时办结率 from the matters accepted in the period (live: a result comes days after the visit)."""

    by_service: list[PromisedByService]
    by_counter: list[PromisedByCounter]


class FirstAskFigures(Answer):
    """首问负责: 首问受理率 (acceptance_rate) and 首问办结率 (completion_rate)."""

    received: Count
    accepted: Count
    completed: Count
    acceptance_rate: Rate
    completion_rate: Rate


class NoticeFigures(Answer):
    notices: Count
    items: Count
    repeat_visits: Count


class ServiceTime(Answer):
    service: str
    uncovered_s: Seconds


class CounterTime(Answer):
    counter: str
    uncovered_s: Seconds


class Desertion(Answer):
    counter: str
    event: int = Field(description="the ledger line: the window closed or went away")


class UncoveredSpan(Answer):
    service: str
    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")


class Uncovered(Answer):
    """不得空岗: time a service had people waiting and no window serving it."""

    uncovered_s: Seconds
    services: list[ServiceTime]
    counters: list[CounterTime]
    desertions: list[Desertion]
    intervals: list[UncoveredSpan] = Sometimes("the day's intervals (daily report only)")


class AppointmentFigures(Answer):
    booked: Count = Field(description="appointments for the period's days, cancelled ones included")
    cancelled: Count
    checked_in: Count
    missed: Count
    on_time: Count = Field(description="called by start + 10 min, or check-in + 10 min when checked in late")
    avg_wait_s: Seconds = Field(description="average wait of the appointment tickets called")
    acceptance_rate: Rate = Field(description="预约受理率: checked in of the appointments not cancelled")
    walk_in_avg_wait_s: Seconds = Field(description="average wait of the other tickets called, side by side")


class Figures(Answer):
    """The figures every report gives (docs/api.md, Report figures)."""

    issued: Count
    served: Count
    no_show: Count
    closed_out: Count
    waiting: Count
    priority: Count
    avg_wait_s: Seconds
    p50_wait_s: Seconds
    p90_wait_s: Seconds
    max_wait_s: Seconds
    avg_service_s: Seconds
    by_service: list[ServiceFigures]
    by_counter: list[CounterFigures]
    by_hour: list[HourFigures]
    on_behalf: Count
    ratings: Ratings
    satisfaction_rate: Rate
    complaints: ComplaintFigures
    promised: PromisedFigures
    first_ask: FirstAskFigures
    one_time_notice: NoticeFigures
    cover: Cover
    uncovered: Uncovered
    completed: Count = Field(description="办结: served with outcome completed")
    incomplete: Count = Field(description="材料不全: served with outcome incomplete")
    rejected: Count = Field(description="不予受理: served with outcome rejected")
    consulted: Count = Field(description="咨询: served with outcome consulted")
    accepted: Count = Field(description="受理: a promised matter taken in (its 办结 comes later: matters)")
    appointments: AppointmentFigures = Field(description="PROTOCOL v1.2: the period's appointments")


class DailyReport(Figures):
    date: DayText
    staff: StaffTime = Sometimes("staff time (issue 24): sign-in, away, idle and call-to-desk time")


class WeeklyReport(Figures):
    week: str = Field(description="the ISO week, 2026-W48")
    first: DayText = Field(alias="from")
    last: DayText = Field(alias="to")
    days: list[DayFigures]


class RangeReport(Figures):
    first: DayText = Field(alias="from")
    last: DayText = Field(alias="to")
    days: list[DayFigures]


class Deduction(Answer):
    points: Count
    kind: Literal["uncovered_absence", "overdue_matter", "justified_complaint"]
    reason: str
    events: list[int] = Field(description="the ledger lines that show the lapse (GET /halls/{hall}/events)")


class WindowScore(Answer):
    counter: str
    served: Count
    score: int | None = Field(ge=0, le=100, description="null: not scored (未参与考核), see `scored`")
    grade: Literal["优秀", "合格", "不合格"] | None = Field(description="null: not scored (未参与考核)")
    deductions: list[Deduction]
    scored: bool = Field(
        description="false: the window served nobody, had no no-show and no lapse that month (未参与考核)"
    )


class MonthlyReport(Figures):
    month: str = Field(description="YYYY-MM")
    days: list[DayFigures]
    windows: list[WindowScore]
    staff: StaffTime = Sometimes("staff time (issue 24): sign-in, away, idle and call-to-desk time")


class Alert(Answer):
    """Something staff must see to: a long wait, a queue nobody serves, a complaint due, a kiosk printer."""

    id: int
    kind: Literal[
        "long_wait",
        "uncovered",
        "complaint_due",
        "complaint_overdue",
        "printer",
        "matter_overdue",
        "webhook_failing",
        "help",
    ]
    key: str = Field(description="the condition, e.g. long_wait:<ticket>, printer:<kiosk>:<state>")
    detail: dict[str, Any]
    raised_at: Timestamp
    cleared_at: Timestamp | None = Field(description="set in the live event once it has ended")


class LedgerLine(Answer):
    id: int
    at: Timestamp
    kind: str
    counter: CounterRef
    clerk: str | None
    on_behalf_of: CounterRef
    detail: dict[str, Any]


class TicketHistory(Answer):
    ticket: dict[str, Any] = Field(description="the ticket as the ledger lists it")
    events: list[LedgerLine]


class NoticeLine(Answer):
    """The display's notice line (滚动公告)."""

    text: str = Field(max_length=200)
    updated_at: Timestamp | None


class ClosedDay(Answer):
    date: DayText
    closed_out: Count = Field(description="tickets closed out by this run (0 when run again)")
    summary: DailyReport


class Dashboard(Answer):
    """/admin's live view of the hall."""

    hall: str
    at: Timestamp
    services: list[dict[str, Any]] = Field(description="id, name, waiting, longest_wait_s, served_now")
    windows: list[dict[str, Any]] = Field(
        description="id, name, number, state, clerk, ticket, partner, covering, covered_by"
    )
    today: dict[str, int] = Field(
        description="issued, served (any outcome), no_show, waiting; completed, incomplete, rejected, consulted,"
        " accepted"
    )
    kiosks: list[dict[str, Any]]
    alerts: list[Alert]
    complaints: list[Complaint]
    notice: NoticeLine


class Call(Answer):
    ticket: str
    number: str
    counter: str
    counter_name: str | None
    counter_number: int | None
    service: str
    recall: bool
    at: Timestamp
    appointment: bool = Sometimes("PROTOCOL v1.2: true for a checked-in appointment's ticket (预约); absent otherwise")
    pickup: bool = Sometimes("PROTOCOL v1.2: true for a 领取 ticket (a matter's result to pick up); absent otherwise")


class DisplaySnapshot(Answer):
    calls: list[Call] = Field(description="latest calls first")
    waiting: dict[str, Count] = Field(description="waiting tickets per service id")


class Enrollment(Answer):
    """A one-time link that enrolls a browser as a kiosk."""

    kiosk: str
    url: str = Field(json_schema_extra={"format": "uri"}, description="open once on the kiosk's screen")
    expires_at: Timestamp


# -- PROTOCOL v1.2: calling out of order, parking, supervisors' actions -----------------------------


class HistoryLine(Answer):
    """One ledger line of a ticket (GET /tickets/{id}/history)."""

    at: Timestamp
    kind: str = Field(description="issued, called, recalled, started, parked, resumed, transferred, finished, ...")
    counter: CounterRef
    counter_name: str | None
    clerk: str | None = Field(description="who did it (a clerk, a supervisor, or a device's name)")
    reason: str | None = Field(description="why: a named call's or a correction's reason, a park's note, ...")
    on_behalf_of: CounterRef
    park_kind: str | None = Field(description="parked and resumed lines: fetch_documents, keep_documents, wait_step")
    named: bool = Field(description="a called line: a named call (指呼), out of order")


class ParkedTicket(Answer):
    """A parked (挂起) ticket this counter may resume."""

    id: str
    number: str
    service: str
    kind: Literal["fetch_documents", "keep_documents", "wait_step"]
    counter: str = Field(description="the counter that parked it")
    parked_at: Timestamp | None
    parked_s: Seconds = Field(description="how long it has been parked")
    note: str | None


# -- staff time (issue 24) ------------------------------------------------------------------------------


class StaffTally(Answer):
    signed_in_s: Seconds = Field(description="a clerk signed in at the counter (考勤)")
    open_s: Seconds = Field(description="the counter open")
    away_s: Seconds = Field(description="away (暂离), from away to back")
    away_by_reason: dict[str, int] = Field(description="away seconds by the reason given")
    idle_empty_s: Seconds = Field(description="open, holding no ticket, nobody waiting for it")
    idle_waiting_s: Seconds = Field(description="open, holding no ticket, while residents waited for it")
    calls_started: Count = Field(description="calls (or resumes) followed by start at the same counter")
    avg_call_to_desk_s: Seconds = Field(description="average seconds from the call to the start")


class CounterStaffTime(StaffTally):
    counter: str


class ClerkStaffTime(StaffTally):
    clerk: str


class StaffTime(Answer):
    """Staff time per counter and per clerk, replayed from the ledger."""

    counters: list[CounterStaffTime]
    clerks: list[ClerkStaffTime]


class HelpAsked(Answer):
    """求助: a clerk's call for a supervisor, until one acknowledges it."""

    id: int = Field(description="the alert's id (POST /alerts/{id}/acknowledge)")
    raised_at: Timestamp


# -- appointments (PROTOCOL v1.2) ---------------------------------------------------------------------


class Slot(Answer):
    start: Timestamp
    end: Timestamp
    free: Count = Field(description="free places: the public share (with a staff credential, both shares)")


class Booked(Answer):
    id: str
    code: str = Field(pattern=r"^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}$", description="shown as a QR code")
    service: str
    start: Timestamp
    end: Timestamp
    status: Literal["booked"]
    manage_url: str = Field(json_schema_extra={"format": "uri"}, description="the resident's page to look up or cancel")


class Appointment(Answer):
    id: str
    code: str
    service: str
    start: Timestamp
    end: Timestamp
    status: Literal["booked", "checked_in", "cancelled", "missed", "served"]
    ticket: str | None = Field(description="the ticket's number once checked in")
    name: str | None = Field(description="masked (张*); in full in staff lists; null once purged")
    phone: str | None = Field(description="masked (138****5678); in full in staff lists; null once purged")
    id_number: str | None = Field(description="always masked (110101********123X); null once purged")
    channel: Literal["online", "phone", "desk"]


class Block(Answer):
    id: int
    service: str
    id_number: str | None
    phone: str | None
    misses: Count
    since: Timestamp
    until: Timestamp


class Lifted(Answer):
    id: int
    lifted_at: Timestamp
    lifted_by: str | None
    reason: str | None
