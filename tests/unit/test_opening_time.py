"""When the windows are due before the day's first one opens (server/services/opening.py)."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from server.engine.model import Hours
from server.services.opening import opening_time

HOURS = Hours(periods=((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))))


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (time(8, 31), "08:30"),  # the hall opened, the windows have not: they were due at 08:30
        (time(11, 59), "08:30"),
        (time(12, 30), "13:30"),  # over lunch: the afternoon's start
        (time(14, 0), "13:30"),
        (time(18, 0), None),  # no period left today
    ],
)
def test_the_windows_are_due_at_the_start_of_the_period_now_or_next(now: time, due: str | None) -> None:
    assert opening_time(HOURS, datetime.combine(datetime(2026, 12, 7).date(), now)) == due


def test_a_hall_open_at_all_hours_has_no_time_to_name() -> None:
    assert opening_time(Hours(always=True), datetime(2026, 12, 7, 9, 0)) is None
