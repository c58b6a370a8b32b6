"""Shapes of the outbound events' routes (PROTOCOL v1.2: deliveries, re-send)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Answer, Query, Timestamp

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
