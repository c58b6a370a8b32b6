"""Shapes of the outbound events' routes (PROTOCOL v1.2: deliveries, re-send)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Answer, Body, Day, DayText, Query, Timestamp

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
    last: Day = Field(alias="to", description="the last hall-local day, inclusive; at most 400 days after `from`")
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
    delivery: int | None = Field(None, ge=1, description="one push to send again; absent: every failed one")


class Resent(Answer):
    resent: int = Field(ge=0, description="how many pushes go again")
