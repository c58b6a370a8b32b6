"""The hall's configuration: one TOML file, read into frozen dataclasses and checked once at load.

Layout (every key not marked required is optional; unknown keys are errors)::

    [server]
    data_dir = "data"          # relative to the file's folder; default "data"
    database = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"   # default sqlite:///<data_dir>/hallq.db
    public_url = "http://hall.example:5000"   # base of ticket QR links; default: derived from the request
    message_queue = "redis://127.0.0.1:6379/0"   # needed when several server processes share the halls
    message_channel = "hallq"  # the Redis pub/sub channel on it: one per hall system sharing a Redis
    async_mode = "eventlet"    # or "gevent" (with psycogreen; docs/scaling.md), or "threading"
    host = "127.0.0.1"
    port = 5000
    log_level = "INFO"
    printer_poll_s = 30        # how often kiosk printers are asked for paper and online state
    proxy_hops = 0             # reverse proxies in front (nginx: 1): trust their X-Forwarded-For
    db_pool_size = 4           # PostgreSQL writing connections per process, plus half as many in bursts; reads
                               # have half as many again (autocommit) (SQLite: one connection)
    db_connect_timeout_s = 5   # PostgreSQL: give up connecting after this long
    db_statement_timeout_s = 30   # PostgreSQL: cancel any one statement running longer (0 = never)
    db_prepared_statements = true # PostgreSQL: the hot statements planned once per connection (PREPARE); false
                               # behind a pooler that hands one session's connection to others (PgBouncer's
                               # transaction or statement pooling)
    idle_timeout_s = 60        # close a connection silent this long (above Socket.IO's 25 s ping; eventlet)
    session_idle_minutes = 480 # a staff login unused this long ends (logout, new password, disabling: at once)
    header_timeout_s = 10      # a request's line and headers must all arrive within this (eventlet; docs/api.md)
    body_timeout_s = 30        # ... and its body within this once the headers are in (408 request_timeout)
    max_connections = 10000    # open connections per process (eventlet); the file limit is raised to fit
    max_connections_per_address = 500   # open connections from one address (0: no cap); proxies are exempt
    trusted_proxies = ["127.0.0.1", "::1"]   # with proxy_hops > 0: the proxies' addresses (X-Forwarded-For
                               # is believed only from them, and they are exempt from the per-address cap)

    [server.limits]
    tickets_per_minute = 30
    ratings_per_minute = 10
    max_body_bytes = 65536
    anonymous_tickets_per_day = 50   # per service and day: tickets with neither a kiosk nor staff credential
    socket_events_per_minute = 600   # Socket.IO events one connection may send (bursting to a tenth); then cut
    audio_per_minute = 120     # requests for a call's voice audio per address
    codes_per_minute = 60      # appointment codes looked up or cancelled per address (staff exempt)

    [ratings]                  # deadlines of a bad rating (差评), in the hall's days
    callback_days = 1
    fix_days = 15
    open_days = 7              # a served ticket can be rated for this many days (then 409 rating_closed)

    [scores]                   # the monthly window score (考核): points off per lapse, grade thresholds
    uncovered_absence = 2      # a window away with nobody covering its queue (cover_lost)
    overdue_matter = 2         # a matter left unfinished at closing, or a promised matter past its limit
    justified_complaint = 5    # a complaint case verified or resolved (not dismissed)
    excellent = 95             # 优秀 from here; 合格 from `passing`; below it 不合格
    passing = 90

    [jobs]                     # the scheduler (every server process runs it; a lease makes each job run once)
    enabled = true
    tick_s = 30                # how often due jobs are looked for
    wait_alert_s = 1800        # a ticket waiting longer raises an alert (per service: wait_alert_s there)
    complaint_warn_h = 24      # a complaint case due within this many hours raises an alert
    backup_keep_days = 14      # daily database backups in <data_dir>/backups, kept this long (0: no backups)
    backup_hour = 3            # hall-local hour (first hall) after which the day's backup is taken

    [voice]                    # the server's voice, for call screens with no zh-CN browser voice (docs/display.md)
    source = "espeak"          # or "clips": the announcement assembled from a folder of recorded clips
    clips = "voice-clips"      # clips: the hall's recordings, relative to the file's folder (default: hallq's
                               # own set, display/voice-clips); checked at load: all present, one format
    gap_ms = 100               # clips: the silence between two clips
    speed = 140                # espeak-ng: words per minute, 80..450 (slower for a hall of elderly residents)
    cache_max_mb = 100         # the voice cache (<data_dir>/display/voice-cache): oldest files go beyond this
    cache_max_days = 30        # ... and files unused this long

    [[hall]]
    id = "town"                # required; ids are [a-z0-9][a-z0-9_-]{0,39}
    name = "XX镇便民服务中心"    # required; name_en defaults to name
    timezone = "Asia/Shanghai"
    number_width = 3           # digits of a ticket number: A001
    max_priority_streak = 2    # priority tickets called in a row before a normal one
    matter_number = "BJ{year}{seq:6}"   # 办件编号 of matters (承诺件 accepted, 全程代办): fields {year} {date}
                               # {hall} {service} (its prefix) {seq} (the year's running number; {seq:6} pads)
    max_recalls = 3            # recalls of one call; then recall answers 409 recall_limit (offer no-show)
    hours = "always"           # or { days = ["mon", ...], periods = ["08:30-12:00", "13:30-17:30"] }

    [hall.calendar]            # working days, for opening hours and deadlines in working days
    weekdays = ["mon", "tue", "wed", "thu", "fri"]   # default: the days of `hours` (Mon–Fri for "always")
    holidays = ["2026-10-01..2026-10-07", 2027-01-01]   # closed (法定节假日): dates or ranges
    workdays = ["2026-09-20", "2026-10-10"]          # 调休: worked although a weekend day

    [[hall.service]]           # at least one
    id = "id-card"; name = "身份证办理"; prefix = "A"     # required
    kind = "immediate"         # or "promised", which needs time_limit_days >= 1
    time_limit_days = 0; materials = ["居民户口簿"]; daily_limit = 200; avg_service_s = 300
    fee = "免费"; enabled = true; hours = "always"        # hours default to the hall's
    wait_alert_s = 1200        # alert threshold for this service's waits (default [jobs] wait_alert_s)
    group = "admin"            # the kiosk's grouping: "admin" 行政事务 or "life" 生活服务
    pickup = ["受理回执", "本人身份证"]   # promised: what the resident brings to pick the result up
    materials_en = ["Household register"]   # optional: the materials' English names, one each, same order
    remote = true              # takes remote tickets (线上取号) when the hall's remote_tickets is on

    [hall.service.appointments]   # this service takes appointments (预约服务, PROTOCOL v1.2); defaults shown
    slot_min = 15              # slot length, 5..240 minutes
    public_places = 2          # places per slot anyone may book (the public share)
    staff_places = 1           # places per slot only staff book (电话预约; the staff share)
    days = ["tue", "thu"]      # weekdays with slots (default: the hall's working days; holidays and 调休 follow
                               # [hall.calendar])
    periods = ["09:00-12:00", "13:30-17:00"]   # or "always": every slot of every day (the demo)
    only = false               # appointment-only (非固定窗口): no walk-in or remote tickets
    min_lead_days = 1          # first bookable day, in working days from today (0: today's later slots)
    max_days = 5               # last bookable day, in working days from today
    cancel_limit_min = 120     # cancelling closes this long before the start
    early_min = 30; late_min = 15                   # the check-in window around the start
    per_day = 1; per_week = 2; per_month = 6        # bookings per person (ID number, and phone)
    no_show_limit = 2; no_show_window_days = 90; block_days = 90   # the no-show rule

    [[hall.counter]]           # at least one
    id = "w1"; number = 1; services = ["id-card"]        # required; services in order of preference
    name = "1号窗口"            # default "<number>号窗口"
    partner = "w2"             # the A/B partner; must name this counter back
    name_en = "Window 1"       # English pages; default "Window <number>" for a default name, else name
    printer = { kind = "network", host = "10.0.0.31" }   # optional: prints this counter's 一次性告知 notices
                               # (a kiosk's printer keys; not "agent"); without it they print at a kiosk

    [[hall.kiosk]]
    id = "k1"; name = "大厅取号机"
    printer = { kind = "virtual" }   # none|virtual|network|usb|serial|file|agent; host, port, path,
                                     # usb_vendor, usb_product, baudrate; paper = 80|58 (mm);
                                     # text = "chinese" (printer's GB18030 font) | "raster" (drawn, any printer)
                                     # "agent": printed by `hallq kiosk-agent` on the kiosk PC, not by the server

    [[hall.display]]
    id = "d1"; name = "等候区大屏"
    services = ["id-card"]     # optional: show only these services' calls and counts (default: all)
    counters = ["w1"]          # optional: show only calls to these counters (default: all)
    lang = "zh-CN"             # zh-CN|en; orientation = "landscape"|"portrait"; english = true also
    notice = "..."             # announces in English; notice: the scrolling line (default: none)

    near_ahead = 3             # (in [[hall]]) the track body's `near`: at most this many people ahead
    remote_tickets = false     # (in [[hall]]) 线上取号 from a phone; remote_check_in_min = 60: check in by then
    personal_data_days = 180   # (in [[hall]]) appointments' personal data is purged this long after the day

    [[hall.webhook]]           # a receiver of the hall's outbound events (PROTOCOL v1.2, docs/api.md)
    url = "https://sms-relay.example/hallq"   # required, http(s)
    secret = "..."             # required, 16+ characters: X-Hallq-Signature is HMAC-SHA256 with it
    events = ["ticket.called", "ticket.near_front"]   # default: every event
    retry_hours = 72           # retried with backoff this long, then `failed`

Environment variables win over the file: HALLQ_DATABASE_URL (database) and HALLQ_ASYNC_MODE (async_mode).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .engine.appointments import Booking
from .engine.calendar import Calendar
from .engine.evaluation import FACTS, EvaluationPush, Profile, ProfileField
from .engine.figures import ScoreRules
from .engine.matters import check_number_format
from .engine.model import (
    PICKUP,
    WEEKDAYS,
    Counter,
    Display,
    Hall,
    Hours,
    Kiosk,
    Printer,
    Service,
    ServiceGroup,
    ServiceKind,
)
from .engine.numbering import capacity
from .engine.outbound import EVENTS, Webhook
from .voice import DEFAULT_FOLDER, DEFAULT_GAP_MS, DEFAULT_SPEED, ClipError, check_folder

ENV_DATABASE = "HALLQ_DATABASE_URL"
ENV_ASYNC_MODE = "HALLQ_ASYNC_MODE"

ASYNC_MODES = ("eventlet", "gevent", "threading")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PRINTER_KINDS = ("none", "virtual", "network", "usb", "serial", "file", "agent")
PAPER_MM = (80, 58)
TEXT_MODES = ("chinese", "raster")
VOICE_SOURCES = ("espeak", "clips")

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_CHANNEL = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_PREFIX = re.compile(r"[A-Z]{1,2}")
_PERIOD = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_TOML_ERROR = re.compile(r"(?s)(.*) \(at (?:line (\d+), column (\d+)|end of document)\)")

# The keys each table may hold, in the order the module docstring lists them.
_ROOT_KEYS = tuple("server ratings scores jobs voice hall".split())
_SCORES_KEYS = tuple("uncovered_absence overdue_matter justified_complaint excellent passing".split())
_VOICE_KEYS = tuple("source clips gap_ms speed cache_max_mb cache_max_days".split())
_JOBS_KEYS = tuple("enabled tick_s wait_alert_s complaint_warn_h backup_keep_days backup_hour".split())
_SERVER_KEYS = tuple(
    (
        "data_dir database public_url message_queue message_channel async_mode host port log_level limits"
        " printer_poll_s proxy_hops db_pool_size db_connect_timeout_s db_statement_timeout_s db_prepared_statements"
        " idle_timeout_s"
        " session_idle_minutes"
        " header_timeout_s body_timeout_s max_connections max_connections_per_address trusted_proxies"
    ).split()
)
_LIMITS_KEYS = tuple(
    "tickets_per_minute ratings_per_minute max_body_bytes anonymous_tickets_per_day socket_events_per_minute"
    " audio_per_minute codes_per_minute".split()
)
_RATINGS_KEYS = tuple("callback_days fix_days open_days".split())
_HALL_KEYS = tuple(
    "id name name_en timezone number_width max_priority_streak hours calendar service counter kiosk display"
    " webhook matter_number evaluation_push region max_recalls near_ahead remote_tickets remote_check_in_min"
    " personal_data_days".split()
)
_PUSH_KEYS = tuple("url profile area_code dept_code data_source secret retry_hours".split())
_WEBHOOK_KEYS = tuple("url secret events retry_hours".split())
_CALENDAR_KEYS = tuple("weekdays holidays workdays".split())
MAX_RANGE_DAYS = 60  # a holiday range longer than this is a typo in a year
_HOURS_KEYS = tuple("days periods".split())
_SERVICE_KEYS = tuple(
    "id name name_en prefix kind time_limit_days materials daily_limit avg_service_s fee enabled hours group"
    " wait_alert_s pickup materials_en task_code remote appointments".split()
)
_BOOKING_KEYS = tuple(
    (
        "slot_min public_places staff_places days periods only min_lead_days max_days cancel_limit_min early_min"
        " late_min per_day per_week per_month no_show_limit no_show_window_days block_days"
    ).split()
)
_COUNTER_KEYS = tuple("id number name services partner name_en printer".split())
_KIOSK_KEYS = tuple("id name printer".split())
_PRINTER_KEYS = tuple("kind host port path usb_vendor usb_product baudrate paper text".split())
_DISPLAY_KEYS = tuple("id name services counters lang orientation english notice".split())

_REQUIRED: Any = object()


class ConfigError(Exception):
    """A configuration file that cannot be used; str() is one line naming the file and the place."""

    def __init__(self, source: str, place: str, problem: str) -> None:
        self.source, self.place, self.problem = source, place, problem
        super().__init__(f"{source}: {place}: {problem}" if place else f"{source}: {problem}")


@dataclass(frozen=True)
class Limits:
    tickets_per_minute: int = 30
    ratings_per_minute: int = 10
    max_body_bytes: int = 65536
    anonymous_tickets_per_day: int = 50  # per service and day, issued with neither a kiosk nor staff credential
    socket_events_per_minute: int = 600  # per Socket.IO connection; a connection sending faster is disconnected
    audio_per_minute: int = 120  # voice audio requests per address
    codes_per_minute: int = 60  # appointment codes tried per address without a staff credential (guessing)


@dataclass(frozen=True)
class Jobs:
    enabled: bool = True
    tick_s: int = 30
    wait_alert_s: int = 1800
    complaint_warn_h: int = 24
    backup_keep_days: int = 14
    backup_hour: int = 3


@dataclass(frozen=True)
class Voice:
    source: str = "espeak"  # or "clips"
    clips: Path | None = None  # the hall's clip folder; None: hallq's own (display/voice-clips)
    gap_ms: int = DEFAULT_GAP_MS
    speed: int = DEFAULT_SPEED  # espeak-ng's words per minute
    cache_max_mb: int = 100  # the voice cache's size: the least recently used files go beyond it
    cache_max_days: int = 30  # a cached file unused this long is removed


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: str = ""  # SQLAlchemy URL; empty means sqlite:///<data_dir>/hallq.db
    public_url: str | None = None  # base URL of ticket QR links, no trailing slash; None = from the request
    message_queue: str | None = None
    message_channel: str = "hallq"  # Redis pub/sub channel; processes of one hall system share it, others must not
    async_mode: str = "eventlet"
    host: str = "127.0.0.1"
    port: int = 5000
    log_level: str = "INFO"
    limits: Limits = field(default_factory=Limits)
    callback_days: int = 1
    fix_days: int = 15
    rating_open_days: int = 7  # [ratings] open_days: how long after service a ticket can be rated
    printer_poll_s: int = 30  # how often kiosk printers are asked for their paper and online state
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted
    scores: ScoreRules = field(default_factory=ScoreRules)
    jobs: Jobs = field(default_factory=Jobs)
    voice: Voice = field(default_factory=Voice)
    db_pool_size: int = 4  # PostgreSQL writing connections per process (+ half in bursts; reads: half as many again)
    db_connect_timeout_s: int = 5
    db_statement_timeout_s: int = 30  # 0: no limit
    db_prepared_statements: bool = True  # PostgreSQL: PREPARE the hot statements (off behind a transaction pooler)
    idle_timeout_s: int = 60  # a connection that sends nothing this long is closed (half-sent requests)
    session_idle_minutes: int = 480  # a staff session unused this long ends (8 h: a working day)
    header_timeout_s: int = 10  # a request's line and headers within this, however the bytes trickle in
    body_timeout_s: int = 30  # its body within this once the headers are in
    max_connections: int = 10000  # open connections per process (eventlet)
    max_connections_per_address: int = 500  # from one client address (0: no cap); trusted proxies exempt
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")  # believed for X-Forwarded-For when proxy_hops > 0

    def __post_init__(self) -> None:
        # The default depends on data_dir, which a dataclass default cannot see.
        if not self.database:
            object.__setattr__(self, "database", f"sqlite:///{self.data_dir}/hallq.db")


@dataclass(frozen=True)
class Config:
    settings: Settings
    halls: tuple[Hall, ...]
    source: str

    def hall(self, hall_id: str) -> Hall | None:
        """The hall with this id, if any."""
        return next((h for h in self.halls if h.id == hall_id), None)

    def find_counter(self, counter_id: str) -> tuple[Hall, Counter] | None:
        """The counter with this id and its hall (counter ids are unique across halls)."""
        return next(((h, c) for h in self.halls for c in h.counters if c.id == counter_id), None)

    def find_kiosk(self, kiosk_id: str) -> tuple[Hall, Kiosk] | None:
        """The kiosk with this id and its hall (kiosk ids are unique across halls)."""
        return next(((h, k) for h in self.halls for k in h.kiosks if k.id == kiosk_id), None)


def load_config(path: str | Path, data_dir: str | Path | None = None) -> Config:
    """Read and check a config file; `data_dir`, when given, overrides the file's.

    Environment: HALLQ_DATABASE_URL, when set and not empty, overrides `database`;
    HALLQ_ASYNC_MODE likewise overrides `async_mode`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file: {exc.strerror or exc}") from None
    return _load(raw, str(path), path.absolute().parent, data_dir)


def load_demo_config(data_dir: str | Path) -> Config:
    """The packaged demo hall (server/demo_hall.toml), keeping its data in `data_dir`."""
    raw = resources.files("server").joinpath("demo_hall.toml").read_bytes()
    return _load(raw, "server/demo_hall.toml", Path.cwd(), data_dir)


class _Problem(Exception):
    """Raised while reading; load_config adds the file name and turns it into a ConfigError."""

    def __init__(self, place: str, message: str) -> None:
        super().__init__(place, message)
        self.place, self.message = place, message


def _load(raw: bytes, source: str, base_dir: Path, data_dir: str | Path | None) -> Config:
    try:
        root = _Table.of(_parse(raw), "", _ROOT_KEYS)
        settings = _settings(root, base_dir, data_dir)
        halls = _halls(root)
        _not_itself(settings, halls)
    except _Problem as problem:
        raise ConfigError(source, problem.place, problem.message) from None
    return Config(settings=settings, halls=halls, source=source)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        # utf-8-sig: Windows editors often save UTF-8 with a byte-order mark, which TOML itself rejects.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _Problem(f"line {line}", "not UTF-8 text (save the file as UTF-8, not GBK)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_problem(str(exc)) from None


def _toml_problem(message: str) -> _Problem:
    # Python 3.11's TOMLDecodeError has no line attribute; its message ends with "(at line L, column C)".
    match = _TOML_ERROR.fullmatch(message)
    if match is None:
        return _Problem("", f"invalid TOML: {message}")
    what, line, column = match.groups()
    if line is None:
        return _Problem("end of file", f"invalid TOML: {what}")
    return _Problem(f"line {line}", f"invalid TOML: {what} (column {column})")


# -- reading tables -------------------------------------------------------------------------------


def _join(place: str, key: str) -> str:
    return f"{place}.{key}" if place else key


def _type_name(value: object) -> str:
    # TOML's words, since the reader of the message is editing TOML; bool before int, as bool is an int in Python.
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string")):
        if isinstance(value, kind):
            return f"{name} {_show(value)}"
    if isinstance(value, list | dict):
        return "array" if isinstance(value, list) else "table"
    return "date/time"  # TOML's only other values


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value[:60]}"'
    return str(value)


_WANTED = {str: "a string", int: "an integer", bool: "true or false", list: "an array", dict: "a table"}


def _typed(value: Any, kind: type, place: str) -> Any:
    """The value if it has the TOML type asked for; a boolean is never an integer."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise _Problem(place, f"expected {_WANTED[kind]}, got {_type_name(value)}")


class _Table:
    """A TOML table being read, with its place for messages; unknown keys are refused on sight."""

    def __init__(self, data: dict[str, Any], place: str) -> None:
        self.data, self.place = data, place

    @classmethod
    def of(cls, value: Any, place: str, keys: tuple[str, ...]) -> _Table:
        table = cls(_typed(value, dict, place), place)
        for key in table.data:
            if key not in keys:
                raise _Problem(table.at(key), _unknown_key(key, keys))
        return table

    def at(self, key: str) -> str:
        return _join(self.place, key)

    def get(self, key: str, kind: type, default: Any = _REQUIRED) -> Any:
        if key in self.data:
            return _typed(self.data[key], kind, self.at(key))
        if default is _REQUIRED:
            raise _Problem(self.place, f"missing required key '{key}'")
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> Any:
        """A string that, if present, is not blank."""
        value = self.get(key, str, default)
        if isinstance(value, str) and key in self.data and not value.strip():
            raise _Problem(self.at(key), "must not be empty")
        return value

    def number(self, key: str, low: int, high: int | None, default: Any = _REQUIRED) -> Any:
        """An integer within low..high (no upper bound when high is None)."""
        value = self.get(key, int, default)
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise _Problem(self.at(key), f"must be {bounds}, got {value}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _REQUIRED) -> Any:
        value = self.get(key, str, default)
        if value not in choices:
            raise _Problem(self.at(key), f"{_show(value)} is not one of {', '.join(choices)}")
        return value

    def ident(self, key: str = "id") -> str:
        value: str = self.get(key, str)
        if not _ID.fullmatch(value):
            raise _Problem(self.at(key), f"{_show(value)} is not an id (lowercase a-z, 0-9, '-' or '_', 1-40 long)")
        return value

    def table(self, key: str, keys: tuple[str, ...]) -> _Table:
        """A sub-table; an absent one reads as empty, so its defaults apply."""
        return _Table.of(self.data.get(key, {}), self.at(key), keys)

    def tables(self, key: str, keys: tuple[str, ...], required: bool) -> list[_Table]:
        """An array of tables ([[hall.service]]); `required` asks for at least one."""
        header = re.sub(r"\[\d+\]", "", self.at(key))
        value = self.data.get(key, [])
        if isinstance(value, dict):
            raise _Problem(self.at(key), f"write [[{header}]] (an array of tables), not [{header}]")
        items = _typed(value, list, self.at(key))
        if required and not items:
            raise _Problem(self.place, f"at least one [[{header}]] is required")
        return [_Table.of(item, f"{self.at(key)}[{i}]", keys) for i, item in enumerate(items)]


def _unknown_key(key: str, keys: tuple[str, ...]) -> str:
    close = get_close_matches(key, keys, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(keys)}"
    return f"unknown key '{key}' ({hint})"


def _claim(seen: dict[Any, str], what: str, value: Any, place: str) -> None:
    """Record where a value was first used; a second use is an error naming both places."""
    if value in seen:
        raise _Problem(place, f"duplicate {what} {value!r} (first at {seen[value]})")
    seen[value] = place


def _strings(table: _Table, key: str, default: Any = _REQUIRED) -> tuple[str, ...]:
    """An array of non-blank strings."""
    items = table.get(key, list, default)
    for i, item in enumerate(items):
        if not _typed(item, str, f"{table.at(key)}[{i}]").strip():
            raise _Problem(f"{table.at(key)}[{i}]", "must not be empty")
    return tuple(items)


# -- server settings ------------------------------------------------------------------------------


def _settings(root: _Table, base_dir: Path, data_dir: str | Path | None) -> Settings:
    server = root.table("server", _SERVER_KEYS)
    ratings = root.table("ratings", _RATINGS_KEYS)
    callback_days = ratings.number("callback_days", 1, None, 1)
    fix_days = ratings.number("fix_days", 1, None, 15)
    rating_open_days = ratings.number("open_days", 1, 365, 7)
    if callback_days > fix_days:
        raise _Problem(ratings.at("callback_days"), f"must not exceed fix_days ({fix_days})")
    folder = _data_dir(server, base_dir, data_dir)
    return Settings(
        data_dir=folder,
        database=_database(server, folder),
        public_url=_public_url(server),
        message_queue=_message_queue(server),
        message_channel=_message_channel(server),
        async_mode=_async_mode(server),
        host=server.text("host", "127.0.0.1"),
        port=server.number("port", 1, 65535, 5000),
        log_level=_log_level(server),
        limits=_limits(server.table("limits", _LIMITS_KEYS)),
        callback_days=callback_days,
        fix_days=fix_days,
        rating_open_days=rating_open_days,
        printer_poll_s=server.number("printer_poll_s", 1, 3600, 30),
        proxy_hops=server.number("proxy_hops", 0, 5, 0),
        db_pool_size=server.number("db_pool_size", 1, 200, 4),
        db_connect_timeout_s=server.number("db_connect_timeout_s", 1, 300, 5),
        db_statement_timeout_s=server.number("db_statement_timeout_s", 0, 86400, 30),
        db_prepared_statements=server.get("db_prepared_statements", bool, True),
        idle_timeout_s=server.number("idle_timeout_s", 5, 3600, 60),
        session_idle_minutes=server.number("session_idle_minutes", 1, 7 * 24 * 60, 480),
        header_timeout_s=server.number("header_timeout_s", 1, 300, 10),
        body_timeout_s=server.number("body_timeout_s", 1, 3600, 30),
        max_connections=server.number("max_connections", 16, 1_000_000, 10000),
        max_connections_per_address=server.number("max_connections_per_address", 0, 1_000_000, 500),
        trusted_proxies=_trusted_proxies(server),
        scores=_scores(root.table("scores", _SCORES_KEYS)),
        jobs=_jobs(root.table("jobs", _JOBS_KEYS)),
        voice=_voice(root.table("voice", _VOICE_KEYS), base_dir),
    )


def _scores(table: _Table) -> ScoreRules:
    rules = ScoreRules(
        uncovered_absence=table.number("uncovered_absence", 0, 100, 2),
        overdue_matter=table.number("overdue_matter", 0, 100, 2),
        justified_complaint=table.number("justified_complaint", 0, 100, 5),
        excellent=table.number("excellent", 1, 100, 95),
        passing=table.number("passing", 0, 100, 90),
    )
    if rules.passing > rules.excellent:
        raise _Problem(table.at("passing"), f"must not exceed excellent ({rules.excellent})")
    return rules


def _jobs(table: _Table) -> Jobs:
    return Jobs(
        enabled=table.get("enabled", bool, True),
        tick_s=table.number("tick_s", 1, 3600, 30),
        wait_alert_s=table.number("wait_alert_s", 60, None, 1800),
        complaint_warn_h=table.number("complaint_warn_h", 0, None, 24),
        backup_keep_days=table.number("backup_keep_days", 0, None, 14),
        backup_hour=table.number("backup_hour", 0, 23, 3),
    )


def _voice(table: _Table, base_dir: Path) -> Voice:
    source: str = table.choice("source", VOICE_SOURCES, "espeak")
    written: str | None = table.text("clips", None)
    voice = Voice(
        source=source,
        clips=None if written is None else base_dir / written,
        gap_ms=table.number("gap_ms", 0, 1000, DEFAULT_GAP_MS),
        speed=table.number("speed", 80, 450, DEFAULT_SPEED),
        cache_max_mb=table.number("cache_max_mb", 1, None, 100),
        cache_max_days=table.number("cache_max_days", 1, None, 30),
    )
    if source == "clips":
        # A hall learns at start-up that a recording is missing or in the wrong format, not from a silent TV.
        try:
            check_folder(voice.clips or DEFAULT_FOLDER)
        except ClipError as exc:
            raise _Problem(table.at("clips") if written is not None else table.at("source"), str(exc)) from None
    return voice


def _data_dir(server: _Table, base_dir: Path, override: str | Path | None) -> Path:
    # A path in the file means "next to the file", wherever the command is run from.
    written: str = server.text("data_dir", "data")
    if override is not None:
        return Path(override).absolute()
    return base_dir / written


def _from_env(server: _Table, key: str, env: str, default: str) -> tuple[str, str]:
    """A setting and its place; a set, non-empty environment variable wins over the file."""
    written: str = server.text(key, default)  # checked even when overridden, so the file stays valid
    value = os.environ.get(env)
    if value:
        return value, f"environment variable {env}"
    return written, server.at(key)


def _database(server: _Table, folder: Path) -> str:
    url, place = _from_env(server, "database", ENV_DATABASE, f"sqlite:///{folder}/hallq.db")
    try:
        make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # Not echoed: the URL may carry a password.
        raise _Problem(place, "not a SQLAlchemy database URL (e.g. postgresql+psycopg2://user@host/db)") from None
    return url


def _async_mode(server: _Table) -> str:
    mode, place = _from_env(server, "async_mode", ENV_ASYNC_MODE, "eventlet")
    if mode not in ASYNC_MODES:
        raise _Problem(place, f"{_show(mode)} is not one of {', '.join(ASYNC_MODES)}")
    return mode


def _public_url(server: _Table) -> str | None:
    url: str | None = server.text("public_url", None)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise _Problem(
            server.at("public_url"), f"{_show(url)} is not an http(s) base URL like http://hall.example:5000"
        )
    return url.rstrip("/")  # so that joining with "/t/<token>" never doubles the slash


def _message_queue(server: _Table) -> str | None:
    url: str | None = server.text("message_queue", None)
    if url is not None and not (urlsplit(url).scheme and "://" in url):
        raise _Problem(server.at("message_queue"), f"{_show(url)} is not a URL like redis://127.0.0.1:6379/0")
    return url


def _message_channel(server: _Table) -> str:
    name: str = server.text("message_channel", "hallq")
    if not _CHANNEL.fullmatch(name):
        raise _Problem(
            server.at("message_channel"), f"{_show(name)} is not a channel name (1-64 of A-Z a-z 0-9 _ . : -)"
        )
    return name


def _trusted_proxies(server: _Table) -> tuple[str, ...]:
    found = _strings(server, "trusted_proxies", ("127.0.0.1", "::1"))
    for address in found:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise _Problem(server.at("trusted_proxies"), f"{_show(address)} is not an IP address") from None
    # As server/proxies.py compares them: an IPv4-mapped IPv6 address as its IPv4 address.
    return tuple(str(getattr(ip, "ipv4_mapped", None) or ip) for ip in map(ipaddress.ip_address, found))


def _log_level(server: _Table) -> str:
    level: str = server.text("log_level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise _Problem(server.at("log_level"), f"{_show(level)} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _limits(limits: _Table) -> Limits:
    return Limits(
        tickets_per_minute=limits.number("tickets_per_minute", 1, None, 30),
        ratings_per_minute=limits.number("ratings_per_minute", 1, None, 10),
        max_body_bytes=limits.number("max_body_bytes", 1, None, 65536),
        anonymous_tickets_per_day=limits.number("anonymous_tickets_per_day", 0, None, 50),
        socket_events_per_minute=limits.number("socket_events_per_minute", 10, None, 600),
        audio_per_minute=limits.number("audio_per_minute", 1, None, 120),
        codes_per_minute=limits.number("codes_per_minute", 1, None, 60),
    )


# -- halls ----------------------------------------------------------------------------------------


def _halls(root: _Table) -> tuple[Hall, ...]:
    # Counter, kiosk and display ids are addressed without their hall (URLs, tokens), so they are unique
    # across the whole file; each kind has its own namespace.
    seen: dict[str, dict[Any, str]] = {"hall": {}, "counter": {}, "kiosk": {}, "display": {}}
    return tuple(_hall(table, seen) for table in root.tables("hall", _HALL_KEYS, required=True))


def _hall(table: _Table, seen: dict[str, dict[Any, str]]) -> Hall:
    hall_id = table.ident()
    _claim(seen["hall"], "hall id", hall_id, table.at("id"))
    name = table.text("name")
    width = table.number("number_width", 2, 6, 3)
    hours = _hours(table.data.get("hours"), table.at("hours"), Hours())
    calendar = _calendar(table.table("calendar", _CALENDAR_KEYS), hours)
    services = _services(table, hours, width)
    counters = _counters(table, services, seen["counter"])
    _check_partners(counters, table.at("counter"), hall_id)
    _check_served(services, counters, table.at("service"))
    return Hall(
        id=hall_id,
        name=name,
        name_en=table.text("name_en", name),
        timezone=_timezone(table),
        number_width=width,
        max_priority_streak=table.number("max_priority_streak", 1, None, 2),
        services=services,
        counters=counters,
        kiosks=tuple(_kiosk(t, seen["kiosk"]) for t in table.tables("kiosk", _KIOSK_KEYS, required=False)),
        displays=tuple(
            _display(t, seen["display"], services, counters)
            for t in table.tables("display", _DISPLAY_KEYS, required=False)
        ),
        calendar=calendar,
        webhooks=tuple(_webhook(t) for t in table.tables("webhook", _WEBHOOK_KEYS, required=False)),
        matter_number=_matter_number(table),
        evaluation_push=_evaluation_push(table) if "evaluation_push" in table.data else None,
        region=table.text("region", ""),
        max_recalls=table.number("max_recalls", 1, None, 3),
        near_ahead=table.number("near_ahead", 0, 50, 3),
        remote_tickets=table.get("remote_tickets", bool, False),
        remote_check_in_min=table.number("remote_check_in_min", 5, 24 * 60, 60),
        personal_data_days=table.number("personal_data_days", 1, 3660, 180),
    )


def _http_url(table: _Table, key: str) -> str:
    """An http:// or https:// address with a host and, when it names one, a valid port."""
    url: str = table.text(key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Problem(table.at(key), f"expected an http:// or https:// address, got {_show(url)}")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise _Problem(table.at(key), f"the port of {_show(url)} is not a port number") from None
    return url


def _webhook(table: _Table) -> Webhook:
    """`[[hall.webhook]]`: where a hall's outbound events are POSTed (PROTOCOL v1.2)."""
    url = _http_url(table, "url")
    secret = table.text("secret")
    if len(secret) < 16:
        raise _Problem(table.at("secret"), "the signing secret needs at least 16 characters")
    events = _strings(table, "events", EVENTS)
    for i, name in enumerate(events):
        if name not in EVENTS:
            raise _Problem(f"{table.at('events')}[{i}]", f"unknown event {name!r} (one of {', '.join(EVENTS)})")
    return Webhook(
        url=url, secret=secret, events=frozenset(events), retry_hours=table.number("retry_hours", 1, 24 * 30, 72)
    )


def _matter_number(table: _Table) -> str:
    fmt: str = table.text("matter_number", "BJ{year}{seq:6}")
    problem = check_number_format(fmt)
    if problem is None and "{year}" not in fmt and "{date}" not in fmt:
        problem = "the format needs {year} or {date}: the running number starts again each year"
    if problem is not None:
        raise _Problem(table.at("matter_number"), problem)
    return fmt


def _timezone(table: _Table) -> ZoneInfo:
    name = table.text("timezone", "Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, malformed key, or a folder such as "Asia"
        raise _Problem(table.at("timezone"), f"{_show(name)} is not a time zone name like Asia/Shanghai") from None


def _hours(value: Any, place: str, default: Hours) -> Hours:
    if value is None:
        return default
    if isinstance(value, str):
        if value == "always":
            return Hours(always=True)
        raise _Problem(place, f'expected "always" or a table {{ days = [...], periods = [...] }}, got {_show(value)}')
    table = _Table.of(value, place, _HOURS_KEYS)
    days = _days(table) if "days" in table.data else Hours().days
    periods = _periods(table) if "periods" in table.data else Hours().periods
    return Hours(days=days, periods=periods)


def _days(table: _Table, key: str = "days") -> frozenset[int]:
    names = _strings(table, key)
    if not names:
        raise _Problem(table.at(key), "must name at least one day")
    seen: dict[Any, str] = {}
    for i, day in enumerate(names):
        if day not in WEEKDAYS:
            raise _Problem(f"{table.at(key)}[{i}]", f"{_show(day)} is not one of {', '.join(WEEKDAYS)}")
        _claim(seen, "day", day, f"{table.at(key)}[{i}]")
    return frozenset(WEEKDAYS.index(day) for day in names)


def _periods(table: _Table) -> tuple[tuple[time, time], ...]:
    texts = _strings(table, "periods")
    if not texts:
        raise _Problem(table.at("periods"), 'must list at least one period (or write hours = "always")')
    periods: list[tuple[time, time]] = []
    for i, text in enumerate(texts):
        place = f"{table.at('periods')}[{i}]"
        start, end = _period(text, place)
        if periods and start < periods[-1][1]:
            ends = f"{periods[-1][1]:%H:%M}"
            raise _Problem(place, f"overlaps or precedes the period before it, which ends at {ends}")
        periods.append((start, end))
    return tuple(periods)


def _period(text: str, place: str) -> tuple[time, time]:
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise _Problem(place, f'expected "HH:MM-HH:MM", got {_show(text)}')
    start = _clock(int(match[1]), int(match[2]), place, is_end=False)
    end = _clock(int(match[3]), int(match[4]), place, is_end=True)
    if not start < end:
        raise _Problem(place, f"{_show(text)} must end after it starts")
    return start, end


def _clock(hour: int, minute: int, place: str, is_end: bool) -> time:
    if is_end and (hour, minute) == (24, 0):
        return time.max  # "24:00": open to midnight; Hours.is_open compares with <, so this is the day's end
    if hour > 23 or minute > 59:
        raise _Problem(place, f"{hour:02d}:{minute:02d} is not a time of day")
    return time(hour, minute)


def _calendar(table: _Table, hours: Hours) -> Calendar:
    """[hall.calendar]: working weekdays (default: the hall's opening days, Mon–Fri for "always"),
    dated holidays and make-up working days (调休), each a date or a "YYYY-MM-DD..YYYY-MM-DD" range."""
    default = Calendar().weekdays if hours.always else hours.days
    weekdays = _days(table, "weekdays") if "weekdays" in table.data else default
    holidays = _dates(table, "holidays")
    workdays = _dates(table, "workdays")
    for day, place in workdays.items():
        if day in holidays:
            raise _Problem(place, f"{day} is also a holiday (at {holidays[day]})")
        if day.weekday() in weekdays:
            raise _Problem(place, f"{day} is a {WEEKDAYS[day.weekday()]}, already a working day")
    return Calendar(weekdays=weekdays, holidays=frozenset(holidays), workdays=frozenset(workdays))


def _dates(table: _Table, key: str) -> dict[date, str]:
    """{date: where it was written} from an array of TOML dates, "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD"."""
    out: dict[date, str] = {}
    for i, item in enumerate(table.get(key, list, [])):
        place = f"{table.at(key)}[{i}]"
        first, last = _date_range(item, place)
        for n in range((last - first).days + 1):
            _claim(out, "date", first + timedelta(days=n), place)
    return out


def _date_range(item: Any, place: str) -> tuple[date, date]:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item, item
    if not isinstance(item, str):
        raise _Problem(place, f'expected a date like 2026-10-01 or "2026-10-01..2026-10-07", got {_type_name(item)}')
    ends = item.split("..")
    try:
        first, last = date.fromisoformat(ends[0].strip()), date.fromisoformat(ends[-1].strip())
    except ValueError:
        raise _Problem(place, f'{_show(item)} is not a date like "2026-10-01" or "2026-10-01..2026-10-07"') from None
    if len(ends) > 2 or last < first:
        raise _Problem(place, f"{_show(item)} is not a range from an earlier to a later date")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise _Problem(place, f"{_show(item)} spans more than {MAX_RANGE_DAYS} days")
    return first, last


def _services(hall: _Table, hours: Hours, width: int) -> tuple[Service, ...]:
    ids: dict[Any, str] = {}
    prefixes: dict[Any, str] = {}
    services = []
    for table in hall.tables("service", _SERVICE_KEYS, required=True):
        service = _service(table, hours, width)
        _claim(ids, "service id", service.id, table.at("id"))
        _claim(prefixes, "prefix", service.prefix, table.at("prefix"))
        services.append(service)
    return tuple(services)


def _service(table: _Table, hall_hours: Hours, width: int) -> Service:
    name = table.text("name")
    kind = ServiceKind(table.choice("kind", tuple(k.value for k in ServiceKind), "immediate"))
    return Service(
        id=table.ident(),
        name=name,
        name_en=table.text("name_en", name),
        prefix=_prefix(table),
        hours=_hours(table.data.get("hours"), table.at("hours"), hall_hours),
        kind=kind,
        time_limit_days=_time_limit(table, kind),
        materials=_strings(table, "materials", []),
        pickup=_strings(table, "pickup", list(PICKUP)),
        daily_limit=table.number("daily_limit", 1, capacity(width), None),
        avg_service_s=table.number("avg_service_s", 1, None, 300),
        fee=table.get("fee", str, ""),
        enabled=table.get("enabled", bool, True),
        wait_alert_s=table.number("wait_alert_s", 60, None, None),
        group=ServiceGroup(table.choice("group", tuple(g.value for g in ServiceGroup), "admin")),
        materials_en=_materials_en(table),
        task_code=table.text("task_code", None),
        booking=_booking(table.table("appointments", _BOOKING_KEYS)) if "appointments" in table.data else None,
        remote=table.get("remote", bool, True),
    )


def _materials_en(table: _Table) -> tuple[str, ...]:
    """materials_en: the materials' English names, one for each of `materials`, in the same order."""
    english = _strings(table, "materials_en", [])
    if english and len(english) != len(_strings(table, "materials", [])):
        raise _Problem(table.at("materials_en"), "must name each of materials in English, in the same order")
    return english


def _booking(table: _Table) -> Booking:
    """`[hall.service.appointments]`: the service's appointment rules (engine.appointments.Booking)."""
    default = Booking()
    always = table.data.get("periods") == "always"
    periods = default.periods
    if "periods" in table.data and not always:
        periods = _periods(table)
    booking = Booking(
        slot_min=table.number("slot_min", 5, 240, default.slot_min),
        public_places=table.number("public_places", 0, 1000, default.public_places),
        staff_places=table.number("staff_places", 0, 1000, default.staff_places),
        days=_days(table) if "days" in table.data else None,
        periods=periods,
        always=always,
        only=table.get("only", bool, False),
        min_lead_days=table.number("min_lead_days", 0, 60, 0 if always else default.min_lead_days),
        max_days=table.number("max_days", 0, 90, default.max_days),
        cancel_limit_min=table.number("cancel_limit_min", 0, 7 * 24 * 60, 0 if always else default.cancel_limit_min),
        early_min=table.number("early_min", 0, 24 * 60, default.early_min),
        late_min=table.number("late_min", 0, 24 * 60, default.late_min),
        per_day=table.number("per_day", 1, 100, default.per_day),
        per_week=table.number("per_week", 1, 700, default.per_week),
        per_month=table.number("per_month", 1, 3100, default.per_month),
        no_show_limit=table.number("no_show_limit", 1, 100, default.no_show_limit),
        no_show_window_days=table.number("no_show_window_days", 1, 3660, default.no_show_window_days),
        block_days=table.number("block_days", 1, 3660, default.block_days),
    )
    if booking.public_places + booking.staff_places < 1:
        raise _Problem(table.at("public_places"), "a slot needs at least one place (public_places + staff_places)")
    if booking.max_days < booking.min_lead_days:
        raise _Problem(table.at("max_days"), f"must be at least min_lead_days ({booking.min_lead_days})")
    if booking.per_week < booking.per_day or booking.per_month < booking.per_week:
        raise _Problem(table.at("per_week"), "the limits must grow: per_day <= per_week <= per_month")
    for i, (start, end) in enumerate(booking.periods):
        if (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute) < booking.slot_min and end != time.max:
            raise _Problem(f"{table.at('periods')}[{i}]", f"shorter than one slot of {booking.slot_min} minutes")
    return booking


def _prefix(table: _Table) -> str:
    prefix: str = table.get("prefix", str)
    if not _PREFIX.fullmatch(prefix):
        raise _Problem(table.at("prefix"), f"{_show(prefix)} is not 1-2 uppercase letters A-Z")
    return prefix


def _time_limit(table: _Table, kind: ServiceKind) -> int:
    # 即办件 are done on the spot; 承诺件 need a deadline to be flagged overdue (rule 6).
    days: int = table.number("time_limit_days", 0, None, 0)
    if kind is ServiceKind.PROMISED and days < 1:
        raise _Problem(table.at("time_limit_days"), 'a "promised" service needs a time limit of at least 1 day')
    if kind is ServiceKind.IMMEDIATE and days > 0:
        raise _Problem(table.at("time_limit_days"), 'an "immediate" service has no time limit; use kind = "promised"')
    return days


def _counters(hall: _Table, services: tuple[Service, ...], seen: dict[Any, str]) -> tuple[Counter, ...]:
    service_ids = {s.id for s in services}
    numbers: dict[Any, str] = {}
    counters = []
    for table in hall.tables("counter", _COUNTER_KEYS, required=True):
        counter = _counter(table, service_ids)
        _claim(seen, "counter id", counter.id, table.at("id"))
        _claim(numbers, "counter number", counter.number, table.at("number"))
        counters.append(counter)
    return tuple(counters)


def _counter(table: _Table, service_ids: set[str]) -> Counter:
    counter_id = table.ident()
    number: int = table.number("number", 1, 999)
    partner = table.get("partner", str, None)
    named = "name" in table.data
    printer = _printer(table.table("printer", _PRINTER_KEYS)) if "printer" in table.data else Printer()
    if printer.kind == "agent":
        raise _Problem(table.at("printer"), 'a counter\'s printer is printed by the server: not kind "agent"')
    return Counter(
        id=counter_id,
        number=number,
        name=table.text("name", f"{number}号窗口"),
        services=_work_profile(table, service_ids),
        partner=partner,
        # English pages: the configured English name; a default name has a default English one
        name_en=table.text("name_en", "") if "name_en" in table.data else ("" if named else f"Window {number}"),
        printer=printer,
    )


def _work_profile(table: _Table, service_ids: set[str]) -> tuple[str, ...]:
    services = _strings(table, "services")
    if not services:
        raise _Problem(table.at("services"), "must list at least one service")
    seen: dict[Any, str] = {}
    for i, service_id in enumerate(services):
        place = f"{table.at('services')}[{i}]"
        if service_id not in service_ids:
            raise _Problem(place, f"unknown service {service_id!r}")
        _claim(seen, "service", service_id, place)
    return services


def _check_partners(counters: tuple[Counter, ...], place: str, hall_id: str) -> None:
    """A/B partners name each other (rule 7): cover must work both ways."""
    by_id = {c.id: c for c in counters}
    paired = [(f"{place}[{i}].partner", c) for i, c in enumerate(counters) if c.partner is not None]
    # Each partner must exist before symmetry is judged, so the error lands on the counter that is wrong.
    for at, counter in paired:
        if counter.partner == counter.id:
            raise _Problem(at, "a counter cannot be its own partner")
        if counter.partner not in by_id:
            raise _Problem(at, f"unknown counter {counter.partner!r} in hall {hall_id!r}")
    for at, counter in paired:
        other = by_id[counter.partner or ""]
        if other.partner != counter.id:
            has = "no partner" if other.partner is None else f"partner {other.partner!r}"
            raise _Problem(at, f"{other.id!r} must name {counter.id!r} as its partner too, but it has {has}")


def _check_served(services: tuple[Service, ...], counters: tuple[Counter, ...], place: str) -> None:
    # A ticket for a service no counter serves would wait forever.
    served = {s for c in counters for s in c.services}
    for i, service in enumerate(services):
        if service.enabled and service.id not in served:
            raise _Problem(f"{place}[{i}]", f"no counter serves {service.id!r} (add it to a counter or disable it)")


def _kiosk(table: _Table, seen: dict[Any, str]) -> Kiosk:
    kiosk_id = table.ident()
    _claim(seen, "kiosk id", kiosk_id, table.at("id"))
    printer = _printer(table.table("printer", _PRINTER_KEYS)) if "printer" in table.data else Printer()
    return Kiosk(id=kiosk_id, name=table.text("name"), printer=printer)


def _printer(table: _Table) -> Printer:
    printer = Printer(
        kind=table.choice("kind", PRINTER_KINDS),
        host=table.text("host", "127.0.0.1"),
        port=table.number("port", 1, 65535, 9100),
        path=table.get("path", str, ""),
        usb_vendor=table.number("usb_vendor", 0, 0xFFFF, 0),
        usb_product=table.number("usb_product", 0, 0xFFFF, 0),
        baudrate=table.number("baudrate", 1, None, 9600),
        paper=table.number("paper", 58, 80, 80),
        text=table.choice("text", TEXT_MODES, "chinese"),
    )
    if printer.paper not in PAPER_MM:
        raise _Problem(table.at("paper"), f"paper is the width in mm: 80 or 58, got {printer.paper}")
    if printer.kind in ("serial", "file") and not printer.path.strip():
        raise _Problem(table.place, f"a {printer.kind} printer needs a path")
    if printer.kind == "usb" and not (printer.usb_vendor and printer.usb_product):
        raise _Problem(table.place, "a usb printer needs usb_vendor and usb_product (e.g. 0x0416)")
    return printer


def _display(
    table: _Table, seen: dict[Any, str], services: tuple[Service, ...], counters: tuple[Counter, ...]
) -> Display:
    display_id = table.ident()
    _claim(seen, "display id", display_id, table.at("id"))
    shown_services = _strings(table, "services", ())
    known = {s.id for s in services}
    for i, sid in enumerate(shown_services):
        if sid not in known:
            raise _Problem(f"{table.at('services')}[{i}]", f"unknown service {sid!r}")
    shown_counters = _strings(table, "counters", ())
    known = {c.id for c in counters}
    for i, cid in enumerate(shown_counters):
        if cid not in known:
            raise _Problem(f"{table.at('counters')}[{i}]", f"unknown counter {cid!r}")
    return Display(
        id=display_id,
        name=table.text("name"),
        services=shown_services,
        counters=shown_counters,
        lang=table.choice("lang", ("zh-CN", "en"), "zh-CN"),
        orientation=table.choice("orientation", ("landscape", "portrait"), "landscape"),
        english=table.get("english", bool, False),
        notice=table.get("notice", str, ""),
    )


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::")  # noqa: S104 - names compared, not bound


def _not_itself(settings: Settings, halls: tuple[Hall, ...]) -> None:
    """A webhook must not point at this server (its host and port, or its public_url): every event
    would be a request to itself, each try waiting on its own answer."""
    own = {(settings.host.lower(), settings.port)}
    if settings.host in _LOOPBACK:
        own |= {(h, settings.port) for h in _LOOPBACK}
    if settings.public_url:
        public = urlsplit(settings.public_url)
        own.add(((public.hostname or "").lower(), public.port or (443 if public.scheme == "https" else 80)))
    for i, hall in enumerate(halls):
        urls = [(f"hall[{i}].webhook[{j}].url", hook.url) for j, hook in enumerate(hall.webhooks)]
        if hall.evaluation_push is not None:
            urls.append((f"hall[{i}].evaluation_push.url", hall.evaluation_push.url))
        for place, url in urls:
            parts = urlsplit(url)
            where = ((parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80))
            if where in own:
                raise _Problem(place, f"{_show(url)} points at this server itself ({where[0]}:{where[1]})")


def with_webhook(config: Config, url: str, secret: str) -> Config:
    """Every hall of `config` also posts all its events to `url` (`hallq demo --webhook`), checked as a
    `[[hall.webhook]]` table is; a ConfigError names the option."""
    table = _Table({"url": url, "secret": secret}, "--webhook")
    try:
        hook = _webhook(table)
        halls = tuple(dataclasses.replace(h, webhooks=(*h.webhooks, hook)) for h in config.halls)
        _not_itself(config.settings, halls)
    except _Problem as problem:
        raise ConfigError("hallq demo", "--webhook" if "secret" not in problem.place else "--webhook-secret",
                          problem.message) from None  # fmt: skip
    return dataclasses.replace(config, halls=halls)


# -- the 好差评 push (PROTOCOL v1.2) ----------------------------------------------------------------------


def evaluation_profiles() -> dict[str, Profile]:
    """The profiles of server/evaluation_profiles.toml (data: a platform's field names and value maps)."""
    raw = tomllib.loads(resources.files("server").joinpath("evaluation_profiles.toml").read_text(encoding="utf-8"))
    profiles = {}
    for name, table in raw.items():
        fields = []
        for f in table["field"]:
            source = f.get("from")
            if source is not None and source not in FACTS:
                raise ValueError(f"evaluation_profiles.toml: {name}.{f['name']}: unknown fact {source!r}")
            values = {str(k): str(v) for k, v in f.get("values", {}).items()}
            fields.append(ProfileField(f["name"], source, f.get("value"), values, f.get("format")))
        profiles[name] = Profile(name, table.get("title", name), tuple(fields))
    return profiles


def _evaluation_push(hall: _Table) -> EvaluationPush:
    """`[hall.evaluation_push]`: every rating of the hall goes to the provincial platform."""
    table = hall.table("evaluation_push", _PUSH_KEYS)
    url = _http_url(table, "url")
    profiles = evaluation_profiles()
    name = table.choice("profile", tuple(profiles), "zhejiang")
    secret = table.text("secret", None)
    if secret is not None and len(secret) < 16:
        raise _Problem(table.at("secret"), "the signing secret needs at least 16 characters")
    return EvaluationPush(
        url=url,
        profile=profiles[name],
        area_code=table.text("area_code"),
        dept_code=table.text("dept_code"),
        data_source=table.text("data_source", "hallq"),
        secret=secret,
        retry_hours=table.number("retry_hours", 1, 24 * 30, 72),
    )
