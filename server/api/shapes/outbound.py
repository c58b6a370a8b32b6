"""Shapes of the outbound events' routes (PROTOCOL v1.2: deliveries, re-send)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import NOT_BLANK, Answer, Body, Day, DayText, Query, Timestamp

DeliveryStatus = Literal["pending", "sent", "failed"]


class DeliveriesQuery(Query):
    status: DeliveryStatus | None = Field(None, description="only deliveries in this state")


class Delivery(Answer):
    """One outbound event on its way to one receiver."""

    id: int
    event_id: str = Field(description="the event's id: X-Hallq-Delivery")
    event: str
    target: str = Field(description="the receiver: a webhook's url, or 'evaluation' (the 好差评 push)")
    subject: str | None = Field(description="the ticket, counter, appointment or matter it is about")
    status: DeliveryStatus
    tries: int = Field(ge=0)
    created_at: Timestamp
    next_at: Timestamp | None = Field(description="the next try (pending only)")
    last_at: Timestamp | None
    last_status: int | None = Field(description="the receiver's HTTP status; null: no answer")
    last_answer: str | None = Field(description="the start of its answer (300 characters), or what went wrong")
    sent_at: Timestamp | None


class EvaluationsQuery(Query):
    first: Day = Field(alias="from", description="the first hall-local day, YYYY-MM-DD")
    last: Day = Field(alias="to", description="the last hall-local day, inclusive (any range: a listing, not a report)")
    format: Literal["json", "csv"] = Field("json", description="json (the default) or csv (UTF-8 with a BOM)")


class EvaluationRecord(Answer):
    """One rating on its way to the provincial 好差评 platform."""

    delivery: int = Field(description="its delivery's id (重推: POST .../evaluations/resend)")
    rating: str | None
    ticket: str | None
    status: DeliveryStatus
    tries: int = Field(ge=0)
    pushed_at: Timestamp | None
    last_answer: str | None
    record: dict[str, Any] = Field(description="the record in the profile's fields (zhejiang: projectNo … dataSource)")


class EvaluationDay(Answer):
    date: DayText
    pushed: int = Field(ge=0)
    pending: int = Field(ge=0)
    failed: int = Field(ge=0)


class EvaluationResend(Body):
    delivery: int | None = Field(None, ge=1, le=2**62, description="one push to send again; absent: every failed one")


class Resent(Answer):
    resent: int = Field(ge=0, description="how many pushes go again")


class AppealRequest(Body):
    codes = {"reason": "invalid_note"}  # blank or too long: the code the appeal's own check gives

    reason: str = Field(
        min_length=1,
        max_length=1000,
        pattern=NOT_BLANK,
        description="why the rating is malicious or mistaken (1..1000 characters)",
    )


class AppealDecision(Body):
    codes = {"note": "invalid_note"}

    decision: Literal["upheld", "rejected"] = Field(description="upheld: the rating is set aside")
    note: str = Field(
        min_length=1, max_length=1000, pattern=NOT_BLANK, description="the decision's reason (1..1000 characters)"
    )


class AppealCounts(Answer):
    """Appeals filed in the period, counted apart from the complaint cases."""

    filed: int = Field(ge=0)
    pending: int = Field(ge=0)
    upheld: int = Field(ge=0)
    rejected: int = Field(ge=0)


class OverviewHall(Answer):
    """One hall of the city, live (PROTOCOL v1.2 "A city's halls"): exactly these fields."""

    hall: str
    name: str
    region: str = Field(description="[hall] region; empty when none")
    waiting: int = Field(ge=0)
    longest_wait_s: int = Field(ge=0)
    open_counters: int = Field(ge=0)
    uncovered_counters: int = Field(ge=0)
    served_today: int = Field(ge=0)
    satisfaction_rate_30d: float | None = Field(description="ratings 3..5 over all ratings of 30 days; null: none")
    open_complaints: int = Field(ge=0)
    overdue_matters: int = Field(ge=0, description="open matters past due (0 until matters exist)")


class RegionHall(Answer):
    hall: str
    name: str
    issued: int
    served: int
    no_show: int
    closed_out: int
    avg_wait_s: int | None
    rated: int
    satisfied: int = Field(description="ratings 3..5")
    satisfaction_rate: float | None
    complaints_opened: int
    complaints_overdue: int


class RegionWindow(Answer):
    rank: int = Field(ge=1)
    hall: str
    counter: str
    served: int
    score: int | float
    grade: str
    deductions: int = Field(description="how many deductions (each hall's monthly report lists them)")


class RegionReport(Answer):
    """A region's month: its halls' monthly reports in a line each and summed, windows ranked across them."""

    region: str
    month: str
    halls: list[RegionHall]
    totals: dict[str, Any]
    windows: list[RegionWindow]
