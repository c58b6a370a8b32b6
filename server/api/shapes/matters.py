"""Matters that outlive the visit (办件, PROTOCOL v1.2): what callers send and what they get back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from server.engine.matters import MatterStatus

from .base import NOT_BLANK, Answer, Body, Choice, Day, Query, Timestamp

Note = Annotated[str, Field(max_length=1000)]


class MatterBrief(Answer):
    """The matter a ticket opened, as the ticket carries it."""

    id: str
    number: str = Field(description="the hall's case number (办件编号)")
    due_at: Timestamp


class Matter(Answer):
    id: str
    number: str = Field(description="the hall's case number (办件编号), unique")
    service: str
    status: MatterStatus = Choice()
    owner: str | None = Field(description="the clerk responsible (代理责任人)")
    owner_counter: str | None = Field(description="the window it is scored against")
    accepted_at: Timestamp
    due_at: Timestamp = Field(description="acceptance + the service's time_limit_days working days")
    result_ready_at: Timestamp | None
    overdue: bool = Field(description="past due_at without a result, or its result came after due_at")
    proxy: bool = Field(description="全程代办: done on the resident's behalf")
    home_visit: bool = Field(description="上门服务")
    applicant: str | None = Field(description="the applicant's masked name (staff-opened matters)")
    reason: str | None = Field(description="why it was rejected (不予办理)")


class Applicant(Body):
    name: str = Field(min_length=1, max_length=32, pattern=NOT_BLANK, description="not blank")
    phone: str = Field(min_length=7, max_length=20, description="a mainland mobile, or a landline with area code")
    id_number: str = Field(
        min_length=18, max_length=18, description="resident ID number; kept only as a keyed hash and masked"
    )


class MatterRequest(Body):
    """Open a matter without a ticket: 全程代办 on a resident's behalf, or a home visit."""

    service: Annotated[str, Field(max_length=40)]
    applicant: Applicant
    proxy: bool = False
    home_visit: bool = False
    note: Note | None = None


class ProgressRequest(Body):
    """One step forward (accepted → in_progress → sent_up → result_ready → picked_up), or rejected."""

    status: MatterStatus = Choice()
    note: Note | None = Field(None, description="kept in the ledger; the reason when rejected (required then)")

    # The document states the rule the validator below enforces: `rejected` takes a note that is not blank.
    model_config = {
        "json_schema_extra": {
            "if": {"properties": {"status": {"const": MatterStatus.REJECTED.value}}, "required": ["status"]},
            "then": {"required": ["note"], "properties": {"note": {"type": "string", "pattern": NOT_BLANK}}},
        }
    }

    @model_validator(mode="after")
    def _reason_when_rejected(self) -> ProgressRequest:
        if self.status is MatterStatus.REJECTED and not (self.note and self.note.strip()):
            raise PydanticCustomError("rule", "a rejected matter needs its reason in `note` (the resident is shown it)")
        return self


class MattersQuery(Query):
    status: Literal["accepted", "in_progress", "sent_up", "result_ready", "picked_up", "rejected"] | None = Field(
        None, description="only matters in this status"
    )
    overdue: Literal["true", "false"] | None = Field(
        None, description="true: only overdue matters; false: only the others"
    )
    first: Day | None = Field(None, alias="from", description="accepted on or after this hall-local day")
    last: Day | None = Field(None, alias="to", description="accepted on or before this hall-local day")
    service: Annotated[str, Field(max_length=40)] | None = Field(None, description="only this service's")
    owner: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="only this clerk's (代理责任人), or this window's (owner_counter) when a counter's id"
    )
    format: Literal["json", "csv", "xlsx"] = Field(
        "json", description="json (the default), csv (UTF-8 with a BOM) or xlsx: the hall's 台账 columns in Chinese"
    )


class HandOverRequest(Body):
    """Give an open matter to another clerk or window (supervisor or admin)."""

    owner: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="the new owner's username (代理责任人)"
    )
    counter: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(None, description="the new owner window")
    reason: Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)] = Field(
        description="kept in the ledger; not blank"
    )

    # at least one of the two, a string (null is none), as the validator below wants
    model_config = {
        "json_schema_extra": {
            "anyOf": [
                {"required": ["owner"], "properties": {"owner": {"type": "string"}}},
                {"required": ["counter"], "properties": {"counter": {"type": "string"}}},
            ]
        }
    }

    @model_validator(mode="after")
    def _someone(self) -> HandOverRequest:
        if self.owner is None and self.counter is None:
            raise PydanticCustomError(
                "rule", "name the new owner (a clerk's username) or the owner window (counter), or both"
            )
        return self


class PickupRequest(Body):
    """领取结果: the case number, or the ticket's track QR (what the kiosk's scanner types)."""

    case: Annotated[str, Field(min_length=1, max_length=300)] = Field(
        description="the case number (办件编号) or the track link/token of the ticket that opened the matter"
    )
    kiosk: Annotated[str, Field(max_length=40)] | None = Field(
        None, description="print the ticket on this kiosk's printer (its credential, as for tickets)"
    )


class ReceiptRequest(Body):
    """Print a matter's receipt slip (受理回执) again (补打)."""

    counter: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None,
        description="print on this counter's printer (else the caller's counter, the window the clerk is signed in"
        " at, or the owner window); a kiosk's when that counter has none",
    )
