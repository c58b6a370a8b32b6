"""Shapes of the print-job routes (api/prints.py): reprint a slip, list the jobs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Answer, Body, Query, Timestamp
from .bodies import Id

JobStatus = Literal["pending", "printed", "superseded"]


class ReprintRequest(Body):
    """Where to print the slip again."""

    kiosk: Id | None = Field(None, description="print on this kiosk (default: where the ticket was taken)")


class PrintJobsQuery(Query):
    status: JobStatus | None = Field(None, description="only jobs in this state")


class Reprint(Answer):
    job: str
    ticket: str
    number: str
    kiosk: str
    reprint: bool = Field(description="always true: the slip says 补打")
    status: Literal["pending"]
    track_url: str = Field(
        json_schema_extra={"format": "uri"}, description="the fresh QR link; the lost slip's stops working"
    )


class PrintJob(Answer):
    job: str
    ticket: str
    number: str
    kiosk: str
    status: JobStatus
    reprint: bool = Field(description="asked for by staff: the slip says 补打")
    sends: int = Field(ge=0, description="times handed to the printer or the kiosk agent")
    error: str | None = Field(description="why the last try failed")
    created_at: Timestamp
    printed_at: Timestamp | None
