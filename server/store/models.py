"""The tables. Static hall definitions live in the config; the database holds what changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.engine.privacy import mask_ids

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no zones), always handed back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    # SQLite: the same text, written and read in one C call each. SQLAlchemy's own chain (this type's method, then
    # DATETIME's formatting or parsing) cost 2.3 µs a value written and 0.95 µs a value read, and an issue writes
    # 13 of them, a call-next and finish read 24 (bench/README.md, tenth pass). tests/unit/test_utc_datetime.py
    # holds both to SQLAlchemy's chain.
    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]  # DATETIME's "%Y-%m-%d %H:%M:%S.%f"

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        chain = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or chain is None:
            return chain

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            if (  # exactly the form `bind_processor` writes: fromisoformat takes some other texts SQLAlchemy refuses
                len(value) == 26
                and value.isascii()
                and value[4] == value[7] == "-"
                and value[10] == " "
                and value[13] == value[16] == ":"
                and value[19] == "."
                and value[20:].isdigit()
            ):
                try:
                    return datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    pass
            return chain(value)  # anything else as SQLAlchemy reads it (rows written by other means)

        return process


class FreeString(TypeDecorator[str]):
    """Text people type (a clerk's note, a resident's comment): an ID card number in it is stored masked."""

    impl: Any = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else mask_ids(value)


class FreeText(FreeString):
    """The same, unbounded (Text)."""

    impl = Text
    cache_ok = True


def _ids_masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids(value)
    if isinstance(value, dict):
        return {k: _ids_masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ids_masked(v) for v in value]
    return value


class FreeJSON(TypeDecorator[Any]):
    """JSON that may carry typed text (a ledger line's reason or note): ID card numbers in it stored masked."""

    impl = JSON
    cache_ok = True

    def __init__(self, none_as_null: bool = False) -> None:
        super().__init__(none_as_null=none_as_null)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return _ids_masked(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CounterRow(Base):
    """A counter's live state; its definition (number, services, partner) is in the config."""

    __tablename__ = "counters"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default="closed")
    clerk: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    away_reason: Mapped[str | None] = mapped_column(FreeString(200))
    priority_streak: Mapped[int] = mapped_column(Integer, default=0)
    held_ticket: Mapped[str | None] = mapped_column(String(32))


_FINISHED = text("finished_at IS NOT NULL")
_PHONE = text("phone_hash IS NOT NULL")
_CODE = text("remote_code IS NOT NULL")


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("hall_id", "day", "number", name="uq_tickets_number"),
        # one queue, in call order (priority first, then issue order): ahead counts and heads read the index only
        Index("ix_tickets_waiting", "hall_id", "status", "service_id", "target_counter", "priority", "order_at", "seq"),
        # Every index a new ticket enters is one more page its issue writes (SQLite's WAL, PostgreSQL's WAL): a day's
        # tickets are read by `uq_tickets_number` (hall, day, ...); the forecast's recent services by a partial index
        # that a ticket enters when it ends; the remote tickets' keys hold remote tickets only. Each partial index's
        # WHERE is an IS NOT NULL, which a comparison with any value implies: on a condition such as `status =
        # 'done'`, SQLite re-prepared every statement comparing `status` to a parameter at each run (call-next's
        # candidates: 0.06 -> 0.27 ms).
        Index(
            "ix_tickets_finished",
            "hall_id",
            "service_id",
            "status",
            "finished_at",
            sqlite_where=_FINISHED,
            postgresql_where=_FINISHED,
        ),
        # one remote ticket per phone per service per day (PROTOCOL v1.2)
        Index(
            "uq_tickets_remote_phone",
            "hall_id",
            "issued_service",
            "day",
            "phone_hash",
            unique=True,
            sqlite_where=_PHONE,
            postgresql_where=_PHONE,
        ),
        Index("uq_tickets_remote_code", "remote_code", unique=True, sqlite_where=_CODE, postgresql_where=_CODE),
        # tickets sent to a named counter: call-next's candidates and their ahead counts without scanning the queue
        Index(
            "ix_tickets_sent",
            "target_counter",
            "status",
            "hall_id",
            "priority",
            "order_at",
            "seq",
            sqlite_where=text("target_counter IS NOT NULL"),
            postgresql_where=text("target_counter IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[str] = mapped_column(String(40))  # the service it waits for now (transfers change it)
    issued_service: Mapped[str] = mapped_column(String(40))  # the service its number was taken for
    day: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(12))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kiosk_id: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    serving_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_s: Mapped[int] = mapped_column(Integer, default=0)
    service_s: Mapped[int] = mapped_column(Integer, default=0)
    counter_id: Mapped[str | None] = mapped_column(String(40))  # the counter holding or last holding it
    target_counter: Mapped[str | None] = mapped_column(String(40))  # transferred to one named counter
    served_by: Mapped[str | None] = mapped_column(String(40))
    on_behalf_of: Mapped[str | None] = mapped_column(String(40))
    owner_counter: Mapped[str | None] = mapped_column(String(40))  # 首问负责: the first counter that received it
    clerk: Mapped[str | None] = mapped_column(String(64))
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(FreeText)
    missing: Mapped[list[str] | None] = mapped_column(FreeJSON(none_as_null=True))
    repeat_of: Mapped[str | None] = mapped_column(String(32))  # 一次性告知: the first visit for the same matter
    # 挂起 (PROTOCOL v1.2): why it is parked (fetch_documents | keep_documents | wait_step), since when, by whom
    park_kind: Mapped[str | None] = mapped_column(String(16))
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_counter: Mapped[str | None] = mapped_column(String(40))

    # PROTOCOL v1.2: a checked-in appointment's ticket (its booked start orders it), and remote tickets (线上取号)
    appointment_id: Mapped[str | None] = mapped_column(String(32))
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_code: Mapped[str | None] = mapped_column(String(8))
    check_in_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone: Mapped[str | None] = mapped_column(String(20))  # purged with the hall's personal data
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    near_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # ticket.near_front was emitted
    pickup_of: Mapped[str | None] = mapped_column(String(32))  # a 领取 ticket: the matter whose result it picks up


class NoticeRow(Base):
    """一次性告知: what a resident must bring, written once when a matter ends with materials missing."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_ticket", "ticket_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # printed; given back at the kiosk
    hall_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str] = mapped_column(String(40))
    counter_id: Mapped[str] = mapped_column(String(40))
    clerk: Mapped[str | None] = mapped_column(String(64))
    missing: Mapped[list[str]] = mapped_column(FreeJSON)
    note: Mapped[str | None] = mapped_column(FreeText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_by: Mapped[str | None] = mapped_column(String(32))  # the return visit's ticket
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NumberSeqRow(Base):
    """The last number handed out per hall, service and day: never reused, across processes."""

    __tablename__ = "number_seqs"
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class LedgerRow(Base):
    """台账: one append-only line per state change. Never updated, never deleted."""

    __tablename__ = "ledger"
    __table_args__ = (
        Index("ix_ledger_hall_at", "hall_id", "at"),
        Index("ix_ledger_ticket", "ticket_id"),
        Index("ix_ledger_kind", "hall_id", "kind", "at"),  # reports read one kind of line over a period
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(24))
    ticket_id: Mapped[str | None] = mapped_column(String(32))
    counter_id: Mapped[str | None] = mapped_column(String(40))
    clerk: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None] = mapped_column(FreeJSON(none_as_null=True))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(12))  # counter | supervisor | admin
    hall_id: Mapped[str | None] = mapped_column(String(40))
    counter_id: Mapped[str | None] = mapped_column(String(40))
    label: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kiosk_id: Mapped[str | None] = mapped_column(String(40))  # role "kiosk": the kiosk it prints for


class UserRow(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(12))  # clerk | supervisor | admin
    hall_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class RatingRow(Base):
    __tablename__ = "ratings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(32), unique=True)  # 一次一评: once per service event
    hall_id: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(FreeText)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    counter_id: Mapped[str | None] = mapped_column(String(40))
    clerk: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[str | None] = mapped_column(Text)  # reason tags (RATING_TAGS), joined by ","
    # 追评: the resident's second rating, once the complaint case was answered
    followup_level: Mapped[int | None] = mapped_column(Integer)
    followup_comment: Mapped[str | None] = mapped_column(FreeText)
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ComplaintRow(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_hall", "hall_id", "status"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(32))
    rating_id: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(FreeText)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    callback_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verify_note: Mapped[str | None] = mapped_column(FreeText)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # resolved or dismissed
    answer: Mapped[str | None] = mapped_column(FreeText)  # what was done (resolved) or why not (dismissed)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    # the number the resident left for the call-back (E.164): supervisors only; masked anywhere else, never logged
    callback_phone: Mapped[str | None] = mapped_column(String(32))


class PeriodReportRow(Base):
    """A stored report (每天一汇总, 每周一督查, 每月一上报), written once by the scheduler or close-day."""

    __tablename__ = "period_reports"
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # daily | weekly | monthly
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-11-30 | 2026-W48 | 2026-11
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobLeaseRow(Base):
    """Who runs a scheduled job now, and the last occurrence it finished: each runs once across processes."""

    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    done_key: Mapped[str | None] = mapped_column(String(40))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRow(Base):
    """A condition a supervisor should see (a long wait, an uncovered queue, a complaint due, a printer)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_active", "hall_id", "cleared_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))  # the same condition keeps one row while it lasts
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any] | None] = mapped_column(FreeJSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HallSettingRow(Base):
    """A setting managers change at run time (the display's notice line), with who changed it."""

    __tablename__ = "hall_settings"
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class KioskEnrollmentRow(Base):
    """A one-time, short-lived code that turns a browser into a kiosk (its link sets the device cookie)."""

    __tablename__ = "kiosk_enrollments"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(40))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KioskDeviceRow(Base):
    """An enrolled kiosk browser: its long-lived cookie's secret, kept only as a hash."""

    __tablename__ = "kiosk_devices"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(40))
    secret_hash: Mapped[str] = mapped_column(String(64))
    enrollment_id: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketRequestRow(Base):
    """An idempotency key already answered: a second tap with the same key gets the same ticket.

    The primary key is a hash of (hall, kiosk, key), written last in the issuing transaction: two processes
    can never both issue for one key (the second finds it taken, rolls its ticket back and replays). The
    ticket's track token is kept sealed with the key itself: the database alone still cannot open a
    resident's page.
    """

    __tablename__ = "ticket_requests"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was asked: the same key for another ask is refused
    sealed_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ahead: Mapped[int | None] = mapped_column(Integer)  # the first answer's figures, kept for replays
    est_wait_s: Mapped[int | None] = mapped_column(Integer)
    served_now: Mapped[bool | None] = mapped_column(Boolean)


class PrintJobRow(Base):
    """One slip to print on one kiosk's printer, written in the transaction that issued (or reprinted) the ticket.

    `sends` counts the times the slip was handed to a printer or an agent; a slip rendered when it is
    already above zero carries 补打, so a slip that may have come out before is never printed unmarked.
    """

    __tablename__ = "print_jobs"
    __table_args__ = (
        Index("ix_print_jobs_pending", "kiosk_id", "status", "created_at"),
        Index("ix_print_jobs_ticket", "ticket_id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    kiosk_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | printed | superseded
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)  # asked for by staff
    requested_by: Mapped[str | None] = mapped_column(String(64))
    sends: Mapped[int] = mapped_column(Integer, default=0)
    # The QR link holds the resident's token in clear: kept only until the slip is printed.
    track_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # handed out; not again before this
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))


class PrinterStateRow(Base):
    """What a kiosk's printer last said (DLE EOT), and which agent connection prints for it."""

    __tablename__ = "printer_states"
    kiosk_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="ok")  # ok | paper_low | paper_out | offline
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_sid: Mapped[str | None] = mapped_column(String(64))  # the connected agent's Socket.IO session


class OutboxRow(Base):
    """An outbound event (PROTOCOL v1.2), written in the transaction of the change it reports.

    `seq` orders the events; `subject` (a ticket, appointment or matter id) is the unit of in-order
    delivery: the sender never sends a subject's event before its earlier ones.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_hall_seq", "hall_id", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)  # the event id: X-Hallq-Delivery
    hall_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


_RATED = text("result_rated_at IS NOT NULL")


class MatterRow(Base):
    """A matter that outlives the visit (办件): a promised matter accepted at a window, a 全程代办 or a
    home visit. The applicant's ID number is kept only as a keyed hash and a masked form."""

    __tablename__ = "matters"
    __table_args__ = (
        Index("ix_matters_hall_status", "hall_id", "status", "due_at"),
        Index("ix_matters_ticket", "ticket_id"),
        Index("ix_matters_hall_accepted", "hall_id", "accepted_at"),  # 及时办结率: accepted in a period
        Index("ix_matters_hall_due", "hall_id", "due_at"),  # deductions: due in a period
        Index("ix_matters_track_hash", "track_hash", unique=True),
        # the overview's satisfaction: results rated in the last 30 days (rated ones only: IS NOT NULL, see tickets)
        Index("ix_matters_hall_rated", "hall_id", "result_rated_at", sqlite_where=_RATED, postgresql_where=_RATED),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 办件编号
    service_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))  # the clerk responsible (代理责任人)
    owner_counter: Mapped[str | None] = mapped_column(String(40))  # the window it is scored against
    proxy: Mapped[bool] = mapped_column(Boolean, default=False)  # 全程代办
    home_visit: Mapped[bool] = mapped_column(Boolean, default=False)  # 上门服务
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applicant_name: Mapped[str | None] = mapped_column(String(64))
    applicant_phone: Mapped[str | None] = mapped_column(String(32))
    applicant_id_hash: Mapped[str | None] = mapped_column(String(64))
    applicant_id_masked: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(FreeText)
    reason: Mapped[str | None] = mapped_column(FreeText)  # why it was rejected (不予办理)
    # the resident's rating of the result once picked up (好差评 assessNumber 2)
    result_level: Mapped[int | None] = mapped_column(Integer)
    result_comment: Mapped[str | None] = mapped_column(FreeText)
    result_rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_ticket: Mapped[str | None] = mapped_column(String(32))  # the 领取 ticket taken for the result
    # the receipt's (受理回执) QR link to the ticket's page: its own token, hashed; a reprint makes a new one
    track_hash: Mapped[str | None] = mapped_column(String(64))


class StaffSessionRow(Base):
    """A staff login's server-side session: the cookie carries its secret, the table only its hash.

    A session ends when its row goes: logout, a password change, disabling the user, or idleness
    (`seen_at` older than `[server] session_idle_minutes`). Every request with the cookie reads it.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_username", "username"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's secret
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnonymousQuotaRow(Base):
    """Tickets taken without a kiosk or staff credential, per hall, service and day: their own share of the
    day's numbers (`[server.limits] anonymous_tickets_per_day`), so they never use up the kiosks' share."""

    __tablename__ = "anonymous_quota"
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    issued: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryRow(Base):
    """One outbound event on its way to one receiver: a `[[hall.webhook]]` (its url) or the 好差评 push.

    Written with its outbox row, in the transaction of the change. The sender claims due rows, posts them and
    records each try: `pending` until a 2xx (`sent`) or `retry_hours` of failures (`failed`). `id` follows
    the order of writing, which for one subject is the order of its changes (they hold the same locks).
    """

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "target", name="uq_outbox_delivery_event"),
        Index("ix_outbox_delivery_due", "status", "next_at"),
        Index("ix_outbox_delivery_subject", "target", "subject", "id"),
        Index("ix_outbox_delivery_hall", "hall_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32))  # outbox.id: X-Hallq-Delivery
    hall_id: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(300))  # a webhook's url, or "evaluation" (the 好差评 push)
    subject: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)  # due from then on
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender has it in hand until then
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status; None: no answer
    last_answer: Mapped[str | None] = mapped_column(String(300))  # the start of its answer, or the error
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppealRow(Base):
    """申诉: the hall contests a bad rating it holds malicious or mistaken; a supervisor decides. At most one per
    complaint case; an upheld appeal takes the case out of the window's justified complaints (counted apart)."""

    __tablename__ = "complaint_appeals"
    __table_args__ = (Index("ix_complaint_appeals_hall", "hall_id", "filed_at"),)
    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(FreeText)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | upheld | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(FreeText)


class UserHallRow(Base):
    """A supervisor's halls beyond the one on their user row (PROTOCOL v1.2: one or more halls)."""

    __tablename__ = "user_halls"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class AppointmentRow(Base):
    """A booked appointment (预约, PROTOCOL v1.2). The ID number is kept only as a keyed hash and masked;
    name, phone and the masked forms are purged `personal_data_days` after the day."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_slot", "hall_id", "service_id", "start"),
        Index("ix_appointments_status", "hall_id", "status", "start"),
        Index("ix_appointments_id_hash", "id_hash"),
        Index("ix_appointments_phone_hash", "phone_hash"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[str] = mapped_column(String(10))  # hall-local date of the start
    share: Mapped[str] = mapped_column(String(6))  # public | staff: the share of the slot it holds
    channel: Mapped[str] = mapped_column(String(8))  # online | phone | desk
    status: Mapped[str] = mapped_column(String(12))  # booked | checked_in | cancelled | missed | served
    name: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_masked: Mapped[str | None] = mapped_column(String(18))
    id_hash: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))  # staff who booked it (电话预约), else null
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppointmentSlotRow(Base):
    """Places taken in one slot, per share: the guarded UPDATE on this row gives the last place once."""

    __tablename__ = "appointment_slots"
    hall_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    public_taken: Mapped[int] = mapped_column(Integer, default=0)
    staff_taken: Mapped[int] = mapped_column(Integer, default=0)


class PersonBlockRow(Base):
    """The no-show rule's block of a person (by ID number hash and phone hash), until it ends or is lifted."""

    __tablename__ = "person_blocks"
    __table_args__ = (
        Index("ix_person_blocks_id_hash", "id_hash"),
        Index("ix_person_blocks_phone_hash", "phone_hash"),
        Index("ix_person_blocks_hall", "hall_id", "until"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[str] = mapped_column(String(40))  # the service whose rule blocked
    id_hash: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    id_masked: Mapped[str | None] = mapped_column(String(18))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    misses: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_reason: Mapped[str | None] = mapped_column(FreeString(200))
