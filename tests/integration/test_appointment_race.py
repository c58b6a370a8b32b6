"""The last place of a slot goes to exactly one booking, with two server processes on PostgreSQL racing for it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stdnum.cn import ric
from support.server import Server
from test_appointments import COUNTER

from server.store.models import AppointmentRow, AppointmentSlotRow

RACE_SERVICE = """
[[hall.service]]
id = "passport"
name = "出入境证件"
prefix = "E"

[hall.service.appointments]
periods = "always"
min_lead_days = 1
public_places = 1
staff_places = 0
per_day = 5
per_week = 10
per_month = 40
"""


def race_hall(text: str) -> str:
    i = text.index("\n[[hall.counter]]\n")
    text = text[:i] + RACE_SERVICE + text[i:]
    town_end = '\n[[hall]]\nid = "east"'
    return text.replace(town_end, COUNTER + town_end)


def person(i: int) -> tuple[str, str]:
    """A valid resident ID number and mobile number for person i."""
    first17 = f"1101051990{1 + i // 28:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0"), f"138{i:08d}"


def test_two_processes_give_the_last_place_once(start_server: Callable[..., Server], tmp_path: Path) -> None:
    a = start_server("postgresql", edit=race_hall, data_dir=tmp_path)
    b = start_server("postgresql", edit=race_hall, database_url=a.database, data_dir=tmp_path)
    slots = a.get("/api/v1/halls/town/services/passport/slots", params={"from": "2026-01-01", "to": "2026-01-01"})
    assert slots.status_code == 200  # (a past range: empty)
    import datetime as dt

    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1, hours=8)).date().isoformat()
    found = a.get("/api/v1/halls/town/services/passport/slots", params={"from": tomorrow, "to": tomorrow}).json()
    starts = [s["start"] for s in found[:5]]
    assert len(starts) == 5 and all(s["free"] == 1 for s in found[:5])

    def attempt(i: int) -> tuple[str, int, str]:
        id_number, phone = person(i)
        start = starts[i % len(starts)]
        body = {"service": "passport", "start": start, "name": f"居民{i}", "phone": phone, "id_number": id_number}
        r = (a, b)[i % 2].post("/api/v1/halls/town/appointments", body)
        return start, r.status_code, r.json().get("error", {}).get("code", "")

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(60)))
    for start in starts:
        mine = [(status, code) for s, status, code in results if s == start]
        assert sorted(mine).count((201, "")) == 1, f"{start}: {mine}"
        assert all(code == "slot_full" for status, code in mine if status != 201), mine
    from sqlalchemy import create_engine, func, select

    engine = create_engine(a.database)
    try:
        with engine.connect() as c:
            assert c.scalar(select(func.count()).select_from(AppointmentRow.__table__)) == len(starts)
            taken = c.execute(select(AppointmentSlotRow.__table__.c.public_taken)).scalars().all()
            assert sorted(taken) == [1] * len(starts)
    finally:
        engine.dispose()
