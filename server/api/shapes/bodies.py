"""What callers send: request bodies and query strings, each described once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from server.engine.model import Outcome
from server.services.ratings import MAX_COMMENT, MAX_NOTE, RATING_TAGS

from .base import NOT_BLANK, Body, Choice, Day, Month, Query

# Strings are limited in characters (after NUL removal), as the database columns are.
Id = Annotated[str, Field(max_length=40)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT)]
Note = Annotated[str, Field(max_length=1000)]
Reason = Annotated[str, Field(max_length=200)]


class NoBody(Body):
    """No body, or an empty object."""


class TicketRequest(Body):
    """Take a ticket."""

    codes = {"phone": "invalid_phone"}

    service: Id = Field(description="a service id of the hall")
    priority: bool = Field(False, description="a priority ticket (elderly, disabled, ...)")
    kiosk: Id | None = Field(None, description="print the ticket on this kiosk's printer")
    notice: Id | None = Field(
        None,
        description="a 一次性告知 notice's code (case, spaces and dashes ignored): the resident is back for the same"
        " matter; the ticket is linked to the first visit and is a priority ticket. 404 for an unknown code,"
        " 409 notice_used when it already served a return visit",
    )
    remote: bool = Field(
        False,
        description="线上取号 (PROTOCOL v1.2): a number for today taken from a phone, with `phone` and without"
        " `kiosk`; status `remote` until checked in with its `code`",
    )
    phone: Annotated[str, Field(max_length=24)] | None = Field(None, description="a remote ticket's phone number")

    # The document states the rule the validator below enforces: `remote` true takes a phone and no kiosk,
    # priority or notice (empty ones are none); otherwise no phone.
    model_config = {
        "json_schema_extra": {
            "if": {"properties": {"remote": {"const": True}}, "required": ["remote"]},
            "then": {
                "required": ["phone"],
                "properties": {
                    "phone": {"type": "string"},
                    "priority": {"const": False},
                    "kiosk": {"maxLength": 0},
                    "notice": {"maxLength": 0},
                },
            },
            "else": {"properties": {"phone": {"type": "null"}}},
        }
    }

    @model_validator(mode="after")
    def _remote_alone(self) -> TicketRequest:
        asks_remote = self.remote or self.phone is not None
        is_remote = self.remote and self.phone is not None and not (self.kiosk or self.priority or self.notice)
        if asks_remote and not is_remote:
            raise PydanticCustomError(
                "rule", "a remote ticket takes `remote`: true and `phone`, without kiosk, priority or notice"
            )
        return self


class EnrollmentRequest(Body):
    """How long the enrollment link lasts."""

    valid_minutes: int = Field(1440, ge=1, le=43200, description="minutes the link may be used (default 1440)")


class RatingRequest(Body):
    """Rate a served ticket (好差评)."""

    codes = {"level": "invalid_level", "tags": "invalid_tag", "phone": "invalid_phone"}

    level: int = Field(
        ge=1,
        le=5,
        description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意; 1 or 2 opens a complaint. "
        "An integer: 5 or 5.0 (JSON Schema's integer); 5.5, '5' and true are refused",
    )
    comment: Comment | None = None
    tags: list[Literal[RATING_TAGS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=len(RATING_TAGS),
        description="optional reason tags, each one of: " + ", ".join(RATING_TAGS) + " (unknown: 422 invalid_tag)",
    )
    phone: str | None = Field(
        None,
        max_length=32,
        description="optional call-back number for a bad rating (1 or 2): a Chinese mobile or landline (with its"
        " area code), any common writing; kept on the complaint case for the supervisors only (a better rating's"
        " is not stored). Not a phone number: 422 invalid_phone",
    )


class FollowUpRequest(Body):
    """追评: rate once more after the complaint case was answered."""

    codes = {"level": "invalid_level"}

    level: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    comment: Comment | None = None


class ComplaintNote(Body):
    """A supervisor's step on a complaint case: what the resident was told, what was done, or why not."""

    codes = {"note": "invalid_note"}  # blank or too long: the code the case's own check gives

    note: Annotated[str, Field(min_length=1, max_length=MAX_NOTE, pattern=NOT_BLANK)]


# One thing the resident must bring: trimmed, never blank.
Material = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK), AfterValidator(str.strip)]


class FinishRequest(Body):
    """Finish the held ticket with its outcome."""

    outcome: Outcome = Choice()
    note: Note | None = None
    missing: list[Material] | None = Field(
        None,
        max_length=30,
        description="what the resident must bring (一次性告知); only with the outcome 'incomplete'",
    )
    print_notice: bool = Field(
        True, description="print the notice an 'incomplete' outcome writes (on a kiosk's printer)"
    )
    print_receipt: bool = Field(
        True,
        description="print the receipt slip (受理回执) of the matter an 'accepted' outcome opens: on the counter's"
        " own printer, else a kiosk's",
    )

    model_config = {
        "json_schema_extra": {
            "if": {"properties": {"outcome": {"const": Outcome.INCOMPLETE.value}}, "required": ["outcome"]},
            "else": {"properties": {"missing": {"maxItems": 0}}},
        }
    }

    @model_validator(mode="after")
    def _missing_only_when_incomplete(self) -> FinishRequest:
        if self.missing and self.outcome != Outcome.INCOMPLETE:
            raise PydanticCustomError("rule", "missing materials are listed only with the outcome 'incomplete'")
        return self


class TransferRequest(Body):
    """Exactly one of service or counter."""

    # absent or a string, never null: exactly one of the two is given
    service: Id = Field(None, description="wait again for this service of the hall")  # type: ignore[assignment]
    counter: Id = Field(  # type: ignore[assignment]
        None, description="wait again for this counter of the hall (open, or away and covered)"
    )
    reason: Reason | None = Field(None, description="why it is handed on (kept in the ledger's chain of clerks)")

    model_config = {"json_schema_extra": {"oneOf": [{"required": ["service"]}, {"required": ["counter"]}]}}

    @model_validator(mode="after")
    def _exactly_one(self) -> TransferRequest:
        if ("service" in self.model_fields_set) == ("counter" in self.model_fields_set):
            raise PydanticCustomError("rule", "give exactly one of 'service' or 'counter'")
        return self


class AwayRequest(Body):
    """Why the counter steps away (optional)."""

    reason: Reason | None = None


class SignInRequest(Body):
    """Sign in at a counter (考勤)."""

    takeover: bool = Field(False, description="replace the clerk signed in there (recorded in the ledger)")


Format = Literal["json", "csv", "xlsx"]
FORMAT: Any = Field("json", description="json (the default), csv (UTF-8 with a BOM) or xlsx")


class LedgerQuery(Query):
    first: Day = Field(alias="from", description="the first hall-local day, YYYY-MM-DD")
    last: Day = Field(alias="to", description="the last hall-local day, inclusive; before `from`: an empty list")
    format: Format = FORMAT
    labels: Literal["zh"] | None = Field(
        None, description="CSV only: zh gives the hall's 台账 (Chinese headers and names), as the XLSX has it"
    )


class DayQuery(Query):
    date: Day = Field(description="the hall-local day, YYYY-MM-DD")


class ReportDayQuery(Query):
    date: Day = Field(description="the hall-local day, YYYY-MM-DD (weekly: any day of the week)")
    format: Format = FORMAT


class MonthQuery(Query):
    month: Month = Field(description="the month, YYYY-MM")
    format: Format = FORMAT


class RangeQuery(Query):
    first: Day = Field(alias="from", description="the first hall-local day")
    last: Day = Field(alias="to", description="the last hall-local day, inclusive; at most 400 days after `from`")
    format: Format = FORMAT


class HistoryQuery(Query):
    ticket: Annotated[str, Field(pattern=r"^[0-9a-f]{16,32}$")] | None = Field(
        None, description="a ticket id (this or `number` is required: 422 invalid_query without either)"
    )
    number: Annotated[str, Field(pattern=r"^[A-Za-z]{1,2}[0-9]{1,6}$")] | None = Field(
        None, description="a ticket number such as A001 (with `date`, default today); this or `ticket` is required"
    )
    date: Day | None = Field(None, description="the day of the number")


class EventsQuery(Query):
    ids: Annotated[str, Field(pattern=r"^[0-9]{1,12}(,[0-9]{1,12}){0,99}$")] = Field(
        description="ledger event ids, comma-separated (1 to 100)"
    )


class CloseDayRequest(Body):
    date: Day | None = Field(None, description="the hall-local day to close (default: today)")


class NoticeRequest(Body):
    text: Annotated[str, Field(max_length=200)] = Field(description="one line for the displays; empty hides it")


# -- PROTOCOL v1.2: calling out of order, parking, supervisors' actions -----------------------------

# A reason that says something: trimmed, never blank (422 invalid_reason otherwise).
Why = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK), AfterValidator(str.strip)]


class NamedCallRequest(Body):
    """指呼: call this waiting ticket out of order, and say why."""

    codes = {"reason": "invalid_reason"}

    # absent or a string, never null: exactly one of the two is given
    ticket: Id = Field(None, description="the waiting ticket's id")  # type: ignore[assignment]
    number: Annotated[str, Field(max_length=12)] = Field(  # type: ignore[assignment]
        None, description="or its number today in this counter's hall (typed by the clerk), e.g. A012"
    )
    reason: Why = Field(description="why it is called out of order (kept in the ledger)")

    model_config = {"json_schema_extra": {"oneOf": [{"required": ["ticket"]}, {"required": ["number"]}]}}

    @model_validator(mode="after")
    def _exactly_one(self) -> NamedCallRequest:
        if ("ticket" in self.model_fields_set) == ("number" in self.model_fields_set):
            raise PydanticCustomError("rule", "give exactly one of 'ticket' or 'number'")
        return self


class ParkRequest(Body):
    """挂起: put the held ticket aside."""

    kind: Literal["fetch_documents", "keep_documents", "wait_step"] = Field(
        description="fetch_documents: back to any counter of its service; keep_documents, wait_step: back to"
        " this counter"
    )
    note: Reason | None = Field(None, description="what the resident fetches or the counter waits for")


class ResumeRequest(Body):
    """Call a parked ticket again at this counter."""

    ticket: Id = Field(description="the parked ticket's id")


class CorrectionRequest(Body):
    """A supervisor's correction, with its reason."""

    codes = {"reason": "invalid_reason"}

    reason: Why = Field(description="why (kept in the ledger)")


# -- appointments (PROTOCOL v1.2) ---------------------------------------------------------------------


class SlotsQuery(Query):
    first: Day = Field(alias="from", description="the first hall-local day, YYYY-MM-DD")
    last: Day = Field(alias="to", description="the last hall-local day, inclusive; at most 31 days in all")


class AppointmentRequest(Body):
    """Book an appointment (预约)."""

    # a value too long is refused as its checks refuse a bad one (a 5,000-character name is no name)
    codes = {
        "name": "invalid_name",
        "phone": "invalid_phone",
        "id_number": "invalid_id_number",
        "start": "invalid_start",
    }

    service: Id = Field(description="a service of the hall that takes appointments")
    start: Annotated[str, Field(max_length=40)] = Field(
        description="the slot's start, ISO 8601 with offset, as GET .../slots gives it"
    )
    name: Annotated[str, Field(max_length=200)] = Field(description="the resident's name (1-40 characters)")
    phone: Annotated[str, Field(max_length=24)] = Field(description="a Chinese phone number")
    id_number: Annotated[str, Field(max_length=40)] = Field(
        description="an 18-character resident ID number with a valid check digit; never stored in clear"
    )
    channel: Literal["phone", "desk"] | None = Field(
        None, description="staff only: booked on the phone (电话预约) or at the desk, on the staff share"
    )


class CheckInRequest(Body):
    """Check in with an appointment's or a remote ticket's code."""

    code: Annotated[str, Field(max_length=40)] = Field(
        description="the 8-character code (case, spaces and dashes ignored), typed or scanned from its QR"
    )
    kiosk: Id | None = Field(None, description="print the ticket on this kiosk's printer (its credential needed)")


class LiftRequest(Body):
    """Lift a no-show block: the reason is required."""

    # blank (or, as any value of it the shape refuses, too long): the code the block's own check gives a blank one
    codes = {"reason": "reason_required"}

    reason: Why = Field(description="why it is lifted (kept in the ledger); not blank")
