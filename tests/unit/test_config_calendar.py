"""[hall.calendar]: working weekdays, dated holidays and make-up working days (调休), checked at load."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from server.config import ConfigError, load_config, load_demo_config
from server.engine.calendar import Calendar

HALL = """\
[[hall]]
id = "town"
name = "测试镇便民服务中心"
{hours}
{calendar}

[[hall.service]]
id = "id-card"
name = "身份证办理"
prefix = "A"

[[hall.counter]]
id = "w1"
number = 1
services = ["id-card"]
"""


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HALLQ_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALLQ_ASYNC_MODE", raising=False)


def load(tmp_path: Path, calendar: str, hours: str = "") -> Calendar:
    path = tmp_path / "hall.toml"
    path.write_text(HALL.format(hours=hours, calendar=calendar), encoding="utf-8")
    return load_config(path).halls[0].calendar


def rejection(tmp_path: Path, calendar: str, hours: str = "") -> str:
    path = tmp_path / "hall.toml"
    path.write_text(HALL.format(hours=hours, calendar=calendar), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_without_a_calendar_the_working_days_are_the_opening_days(tmp_path: Path) -> None:
    calendar = load(tmp_path, "", 'hours = { days = ["mon", "tue", "wed", "thu", "fri", "sat"] }')
    assert calendar.weekdays == frozenset(range(6)) and not calendar.holidays
    always = load(tmp_path, "", 'hours = "always"')
    assert always.weekdays == frozenset(range(5))


def test_holidays_and_make_up_days_read_as_dates_and_ranges(tmp_path: Path) -> None:
    calendar = load(
        tmp_path,
        '[hall.calendar]\nholidays = ["2026-10-01..2026-10-07", 2027-01-01]\nworkdays = [2026-09-20, "2026-10-10"]',
    )
    assert calendar.holidays == {date(2026, 10, d) for d in range(1, 8)} | {date(2027, 1, 1)}
    assert calendar.workdays == {date(2026, 9, 20), date(2026, 10, 10)}


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ('holidays = ["2026-10-32"]', 'hall[0].calendar.holidays[0]: "2026-10-32" is not a date'),
        ('holidays = ["2026-10-07..2026-10-01"]', "hall[0].calendar.holidays[0]: "),
        ('holidays = ["2026-01-01..2026-12-31"]', "hall[0].calendar.holidays[0]: "),
        ("holidays = [20261001]", "hall[0].calendar.holidays[0]: expected a date like 2026-10-01"),
        ('holidays = ["2026-10-01..2026-10-03", "2026-10-03"]', "hall[0].calendar.holidays[1]: duplicate date"),
        ('holidays = ["2026-10-10"]\nworkdays = ["2026-10-10"]', "hall[0].calendar.workdays[0]: 2026-10-10 is also"),
        ('workdays = ["2026-10-12"]', "hall[0].calendar.workdays[0]: 2026-10-12 is a mon, already a working day"),
        ('weekdays = ["monday"]', 'hall[0].calendar.weekdays[0]: "monday" is not one of mon'),
        ("weekdays = []", "hall[0].calendar.weekdays: must name at least one day"),
        ('holiday = ["2026-10-01"]', "hall[0].calendar.holiday: unknown key 'holiday' (did you mean 'holidays'?)"),
    ],
)
def test_a_wrong_calendar_is_refused_naming_the_place(tmp_path: Path, calendar: str, expected: str) -> None:
    assert rejection(tmp_path, "[hall.calendar]\n" + calendar).startswith(expected)


def test_the_demo_hall_and_the_example_carry_chinas_2026_holidays(tmp_path: Path) -> None:
    demo = load_demo_config(tmp_path).halls[0].calendar
    assert date(2026, 10, 1) in demo.holidays and date(2026, 2, 17) in demo.holidays
    assert date(2026, 9, 20) in demo.workdays and date(2026, 2, 14) in demo.workdays
    example = Path(__file__).resolve().parents[2] / "deploy" / "hall.example.toml"
    assert load_config(example, data_dir=tmp_path).halls[0].calendar == demo
