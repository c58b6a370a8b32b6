"""Reports count days and hours in the hall's own time zone: Asia/Shanghai, and a hall across a DST change."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.inproc import hall_app
from support.server import HALL_TOML

TOWN = "/api/v1/halls/town"


def zoned_hall(tmp_path: Path, zone: str) -> Path:
    path = tmp_path / "zoned.toml"
    path.write_text(HALL_TOML.read_text(encoding="utf-8").replace("Asia/Shanghai", zone), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("zone", "late", "next_day"),
    [("Asia/Shanghai", "2026-03-07 23:30", "2026-03-08"), ("America/New_York", "2026-03-07 23:30", "2026-03-08")],
)
def test_a_late_ticket_belongs_to_the_local_day_and_hour(tmp_path: Path, zone: str, late: str, next_day: str) -> None:
    with hall_app(tmp_path, late, toml=zoned_hall(tmp_path, zone), zone=zone) as h:
        t = h.issue("id-card")
        assert t["issued_at"].startswith("2026-03-07T23:30")
        h.at(f"{next_day} 00:10")
        day = h.json(f"{TOWN}/reports/daily?date=2026-03-07")
        assert day["issued"] == 1 and [x["hour"] for x in day["by_hour"]] == [23]
        assert h.json(f"{TOWN}/reports/daily?date={next_day}")["issued"] == 0
        closed = h.post(f"{TOWN}/close-day", {"date": "2026-03-07"}).get_json()
        assert closed["closed_out"] == 1
        # Waiting from 23:30 to local midnight with no window open: 30 minutes uncovered that day.
        assert closed["summary"]["uncovered"]["services"] == [{"service": "id-card", "uncovered_s": 1800}]


def test_uncovered_time_across_the_spring_forward_night(tmp_path: Path) -> None:
    """New York, 2026-03-08: 02:00 EST becomes 03:00 EDT, so 01:00 to 04:00 local is two hours."""
    zone = "America/New_York"
    with hall_app(tmp_path, "2026-03-08 01:00", toml=zoned_hall(tmp_path, zone), zone=zone) as h:
        h.issue("water")
        h.at("2026-03-08 04:00")
        h.act("w4", "open")
        day = h.json(f"{TOWN}/reports/daily?date=2026-03-08")
        assert day["uncovered"]["services"] == [{"service": "water", "uncovered_s": 7200}]
        assert {r["counter"]: r["uncovered_s"] for r in day["uncovered"]["counters"]} == {"w2": 7200, "w4": 7200}
        called = h.act("w4", "call-next")["ticket"]
        assert called["wait_s"] == 7200
