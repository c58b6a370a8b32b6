"""[hall.service.appointments] and the hall's remote-ticket keys (PROTOCOL v1.2), checked at load with their place."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from server.config import ConfigError, load_config
from server.engine.appointments import Booking

BASE = """\
[[hall]]
id = "town"
name = "测试镇便民服务中心"
{hall}

[[hall.service]]
id = "id-card"
name = "身份证办理"
prefix = "A"

[[hall.service]]
id = "permit"
name = "出入境证件"
prefix = "E"
{service}

[[hall.counter]]
id = "w1"
number = 1
services = ["id-card", "permit"]
"""


def load(tmp_path: Path, service: str = "", hall: str = "") -> object:
    path = tmp_path / "hall.toml"
    path.write_text(BASE.format(service=service, hall=hall), encoding="utf-8")
    return load_config(path)


def rejection(tmp_path: Path, service: str = "", hall: str = "") -> str:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, service, hall)
    return str(e.value).split(": ", 1)[1]


def test_defaults_are_the_published_rules(tmp_path: Path) -> None:
    config = load(tmp_path, "[hall.service.appointments]\n")
    hall = config.halls[0]  # type: ignore[attr-defined]
    assert hall.service("permit").booking == Booking()
    assert hall.service("id-card").booking is None
    assert (hall.near_ahead, hall.remote_tickets, hall.remote_check_in_min, hall.personal_data_days) == (
        3, False, 60, 180,
    )  # fmt: skip


def test_a_schedule_on_its_days_and_appointment_only(tmp_path: Path) -> None:
    service = (
        '[hall.service.appointments]\ndays = ["tue", "thu"]\nperiods = ["14:00-16:00"]\nonly = true\nslot_min = 30\n'
    )
    config = load(tmp_path, service, "remote_tickets = true\nnear_ahead = 5")
    hall = config.halls[0]  # type: ignore[attr-defined]
    booking = hall.service("permit").booking
    assert booking.days == frozenset({1, 3}) and booking.periods == ((time(14), time(16)),) and booking.only
    assert hall.service("permit").appointment_only and not hall.takes_remote(hall.service("permit"))
    assert hall.takes_remote(hall.service("id-card")) and hall.near_ahead == 5
    always = load(tmp_path, '[hall.service.appointments]\nperiods = "always"\n').halls[0]  # type: ignore[attr-defined]
    assert always.service("permit").booking.always and always.service("permit").booking.min_lead_days == 0


@pytest.mark.parametrize(
    ("service", "hall", "message"),
    [
        (
            "[hall.service.appointments]\nslot_min = 3",
            "",
            "hall[0].service[1].appointments.slot_min: must be between 5",
        ),
        ("[hall.service.appointments]\nslots = 3", "", "hall[0].service[1].appointments.slots: unknown key 'slots'"),
        ('[hall.service.appointments]\ndays = ["tues"]', "", "hall[0].service[1].appointments.days[0]:"),
        (
            '[hall.service.appointments]\nperiods = ["09:00-09:10"]',
            "",
            "appointments.periods[0]: shorter than one slot",
        ),
        ("[hall.service.appointments]\npublic_places = 0\nstaff_places = 0", "", "at least one place"),
        ("[hall.service.appointments]\nmin_lead_days = 3\nmax_days = 2", "", "appointments.max_days: must be at least"),
        ("[hall.service.appointments]\nper_day = 3", "", "appointments.per_week: the limits must grow"),
        ('[hall.service.appointments]\nonly = "yes"', "", "appointments.only: expected true or false"),
        ("", "near_ahead = -1", "hall[0].near_ahead: must be between 0 and 50"),
        ("", 'remote_tickets = "on"', "hall[0].remote_tickets: expected true or false"),
        ("", "personal_data_days = 0", "hall[0].personal_data_days: must be between 1"),
    ],
)
def test_mistakes_name_their_place(tmp_path: Path, service: str, hall: str, message: str) -> None:
    assert message in rejection(tmp_path, service, hall)


def test_the_demo_hall_books_at_any_hour_for_now_and_takes_remote_tickets(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from server.config import load_demo_config
    from server.engine.appointments import bookable

    hall = load_demo_config(tmp_path).halls[0]
    assert hall.remote_tickets
    booking = [s for s in hall.services if s.booking is not None]
    assert booking, "the demo needs an appointment service"
    rules = booking[0].booking
    assert rules is not None and rules.slot_min == 15 and rules.public_places >= 2
    night = datetime(2026, 10, 3, 18, 50, tzinfo=UTC)  # 02:50 in Shanghai, on a public holiday
    today = night.astimezone(hall.timezone).date()
    slots = bookable(rules, hall.calendar, hall.timezone, today, today, night)
    assert slots and slots[0].start - night < timedelta(minutes=15)
