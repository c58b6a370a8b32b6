"""Each hall's calendar: holidays close it, 调休 days open it, deadlines count its working days, days are local."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from support.databases import database, reset
from support.server import HALL_TOML, Server, free_port, write_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = '{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], periods = ["00:00-24:00"] }'


def _hall_toml(folder: Path, town: str, east: str) -> Path:
    """The test hall with extra lines after town's `max_priority_streak` and in place of east's hours."""
    body = HALL_TOML.read_text(encoding="utf-8")
    body = body.replace("max_priority_streak = 2\n", "max_priority_streak = 2\n" + town, 1)
    head, _, tail = body.partition('id = "east"')
    body = head + 'id = "east"' + tail.replace('hours = "always"\n', east, 1)
    path = folder / "calendar_hall.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", "postgres"], scope="module")
def holidays_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Town (always open) has a three-day holiday from tomorrow; east (open every day) has one today.

    One server per database for the module (a start is about 2.5 s of CPU); `holidays` resets it per test."""
    tmp_path = tmp_path_factory.mktemp("holidays")
    today = datetime.now(SHANGHAI).date()
    town = f'\n[hall.calendar]\nholidays = ["{today + timedelta(days=1)}..{today + timedelta(days=3)}"]\n'
    east_days = ", ".join(f'"{today + timedelta(days=d)}"' for d in (-1, 0, 1))  # today, even across midnight
    east = f"hours = {EVERY_DAY}\n\n[hall.calendar]\nholidays = [{east_days}]\n"
    with database(request.param, tmp_path) as url:
        port = free_port()
        server = Server(write_config(tmp_path, url, port=port, hall_toml=_hall_toml(tmp_path, town, east)), port, url)
        try:
            yield server.start()
        finally:
            server.stop()


@pytest.fixture
def holidays(holidays_server: Server) -> Server:
    """The module's server on an empty day (queue tables emptied, counters closed), as `hall` is."""
    reset(holidays_server.database)
    return holidays_server


def _working_days_after(start: date, n: int, holidays: set[date]) -> date:
    day = start
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            n -= 1
    return day


def test_complaint_deadlines_count_the_halls_working_days_skipping_its_holidays(holidays: Server) -> None:
    t = holidays.issue("id-card")
    holidays.act("w1", "open")
    holidays.act("w1", "call-next")
    holidays.act("w1", "finish", {"outcome": "completed"})
    token = t["track_url"].rsplit("/", 1)[1]
    assert holidays.post(f"/api/v1/track/{token}/rating", {"level": 1}).status_code == 201
    [case] = holidays.get("/api/v1/halls/town/complaints", holidays.admin_token()).json()
    opened = datetime.fromisoformat(case["opened_at"])
    today = datetime.fromisoformat(t["issued_at"]).date()
    off = {today + timedelta(days=d) for d in (1, 2, 3)}
    for key, days in (("callback_due_at", 1), ("due_at", 15)):
        due = datetime.fromisoformat(case[key])
        assert due.date() == _working_days_after(opened.date(), days, off), key
        assert due.time() == opened.time() and due.utcoffset() == timedelta(hours=8)


def test_a_holiday_closes_a_hall_whose_hours_name_every_day(holidays: Server) -> None:
    r = holidays.post("/api/v1/halls/east/tickets", {"service": "id-card"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_closed"
    [service] = holidays.get("/api/v1/halls/east/services").json()
    assert service["open"] is False
    assert holidays.post("/api/v1/halls/town/tickets", {"service": "id-card"}).status_code == 201  # "always"


def test_a_make_up_working_day_opens_a_hall_on_a_day_its_hours_leave_out(tmp_path: Path) -> None:
    today = datetime.now(SHANGHAI).date()
    days = [today + timedelta(days=d) for d in (-1, 0, 1)]
    workdays = ", ".join(f'"{d}"' for d in days)
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    open_on = ", ".join(f'"{names[i]}"' for i in sorted(set(range(7)) - {d.weekday() for d in days}))
    east = f'hours = {{ days = [{open_on}], periods = ["00:00-24:00"] }}\n\n[hall.calendar]\nworkdays = [{workdays}]\n'
    port = free_port()
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'h.db'}", port=port, hall_toml=_hall_toml(tmp_path, "", east)
    )
    server = Server(config, port, "")
    try:
        server.start()
        assert server.post("/api/v1/halls/east/tickets", {"service": "id-card"}).status_code == 201
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def new_york(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    body = HALL_TOML.read_text(encoding="utf-8").replace('timezone = "Asia/Shanghai"', 'timezone = "America/New_York"')
    path = tmp_path / "ny_hall.toml"
    path.write_text(body, encoding="utf-8")
    with database(request.param, tmp_path) as url:
        port = free_port()
        server = Server(write_config(tmp_path, url, port=port, hall_toml=path), port, url)
        try:
            yield server.start()
        finally:
            server.stop()


def test_a_report_day_is_the_halls_local_day_even_when_it_lasts_23_hours(new_york: Server) -> None:
    """2026-03-08: New York springs forward; w1's queue went uncovered all of that (23-hour) day."""

    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 3, day, hour, tzinfo=NEW_YORK).astimezone(UTC).replace(tzinfo=None)

    lines = [
        (at(7, 9), "counter_opened", None, "w1", '{"services": ["id-card"], "partner": "w2"}'),
        (at(7, 9), "counter_opened", None, "w2", '{"services": ["social", "water"], "partner": "w1"}'),
        (at(7, 10), "issued", "t1", None, '{"service": "id-card"}'),
        (at(7, 11), "away", None, "w1", '{"covered_by": "w2"}'),
        (at(7, 12), "counter_closed", None, "w2", None),
        (at(7, 12), "cover_lost", None, "w1", None),
        (at(9, 12), "back", None, "w1", None),
        (at(9, 12), "cover_restored", None, "w1", None),
    ]
    engine = create_engine(new_york.database)
    try:
        with engine.begin() as conn:
            for when, kind, ticket, counter, detail in lines:
                conn.execute(
                    text(
                        "INSERT INTO ledger (hall_id, at, kind, ticket_id, counter_id, detail)"
                        " VALUES ('town', :at, :kind, :ticket, :counter, :detail)"
                    ),
                    {"at": when, "kind": kind, "ticket": ticket, "counter": counter, "detail": detail},
                )
    finally:
        engine.dispose()
    report = new_york.get("/api/v1/halls/town/reports/daily?date=2026-03-08", new_york.admin_token()).json()
    w1 = next(c for c in report["cover"]["counters"] if c["counter"] == "w1")
    assert w1["uncovered_s"] == 23 * 3600
    before = new_york.get("/api/v1/halls/town/reports/daily?date=2026-03-07", new_york.admin_token()).json()
    assert next(c for c in before["cover"]["counters"] if c["counter"] == "w1")["uncovered_s"] == 12 * 3600
