"""Staff time (issue 24) against a day computed by hand: sign-in, away with its reason, idle time (nobody
waiting / people waiting but no call) and call-to-desk time, per counter and per clerk, daily and monthly,
and in the exports.

The day (Asia/Shanghai, Monday 2026-03-02), on the test hall (w1 id-card, w2 social and water; A/B partners):

    08:50 li signs in at w1         09:24 wang signs in at w2         09:45 w2 calls A002 (for w1)
    09:00 w1 opens                  09:25 w2 opens                    09:47 w2 starts A002
    09:10 A001 issued               09:30 w1 away, 午休 (w2 covers)   09:50 w2 finishes
    09:12 w1 calls A001             09:40 A002 issued                 10:00 w1 back; 10:05 w1 closes
    09:13 start; 09:20 finish                                         10:06 li signs out; report at 10:30
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from support.inproc import Hall, hall_app

from server.auth import create_token
from server.services import desk

D = "2026-03-02"
TOWN = "/api/v1/halls/town"


def act(h: Hall, counter: str, action: str, at: str, body: Any = None) -> dict[str, Any]:
    """A counter action with that counter's own token: the ledger records the clerk signed in there."""
    h.at(f"{D} {at}")
    token = create_token(h.ctx, "counter", counter=counter)
    r = h.client.post(
        f"/api/v1/counters/{counter}/{action}", json=body or {}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def the_day(h: Hall) -> None:
    h.at(f"{D} 08:50")
    desk.sign_in(h.ctx, "w1", "li")
    act(h, "w1", "open", "09:00")
    h.issue("id-card", f"{D} 09:10")
    assert act(h, "w1", "call-next", "09:12")["ticket"]["number"] == "A001"
    act(h, "w1", "start", "09:13")
    act(h, "w1", "finish", "09:20", {"outcome": "completed"})
    h.at(f"{D} 09:24")
    desk.sign_in(h.ctx, "w2", "wang")
    act(h, "w2", "open", "09:25")
    act(h, "w1", "away", "09:30", {"reason": "午休"})
    h.issue("id-card", f"{D} 09:40")
    assert act(h, "w2", "call-next", "09:45")["ticket"]["on_behalf_of"] == "w1"
    act(h, "w2", "start", "09:47")
    act(h, "w2", "finish", "09:50", {"outcome": "completed"})
    act(h, "w1", "back", "10:00")
    act(h, "w1", "close", "10:05")
    h.at(f"{D} 10:06")
    desk.sign_out(h.ctx, "li", "w1")
    h.at(f"{D} 10:30")


W1 = {  # and li's, who worked only there
    "signed_in_s": 76 * 60,  # 08:50-10:06
    "open_s": 35 * 60,  # 09:00-09:30 and 10:00-10:05
    "away_s": 30 * 60,
    "away_by_reason": {"午休": 30 * 60},
    "idle_empty_s": 25 * 60,  # 09:00-09:10, 09:20-09:30, 10:00-10:05
    "idle_waiting_s": 2 * 60,  # A001 waited 09:10-09:12 while w1 was free
    "calls_started": 1,
    "avg_call_to_desk_s": 60,
}
W2 = {  # and wang's
    "signed_in_s": 66 * 60,  # 09:24-10:30, still signed in
    "open_s": 65 * 60,  # 09:25-10:30
    "away_s": 0,
    "away_by_reason": {},
    "idle_empty_s": 55 * 60,  # 65 min open, less 5 holding A002 and 5 with A002 waiting (w2 covered w1)
    "idle_waiting_s": 5 * 60,  # 09:40-09:45
    "calls_started": 1,
    "avg_call_to_desk_s": 120,
}


@pytest.fixture(params=["sqlite", "postgres"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Hall:
    with hall_app(tmp_path, f"{D} 08:00", kind=request.param) as h:
        yield h


def test_staff_time_of_a_day_computed_by_hand(hall: Hall) -> None:
    the_day(hall)
    for path in (f"{TOWN}/reports/daily?date={D}", f"{TOWN}/reports/monthly?month={D[:7]}"):
        staff = hall.json(path)["staff"]
        counters = {row.pop("counter"): row for row in staff["counters"]}
        clerks = {row.pop("clerk"): row for row in staff["clerks"]}
        assert counters["w1"] == W1 and clerks["li"] == W1, path
        assert counters["w2"] == W2 and clerks["wang"] == W2, path
        assert counters["w3"]["open_s"] == 0 and counters["w3"]["signed_in_s"] == 0
        assert set(clerks) == {"li", "wang"}


def test_staff_time_is_in_the_exports(hall: Hall) -> None:
    the_day(hall)
    text = hall.get(f"{TOWN}/reports/daily?date={D}&format=csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    header = next(i for i, r in enumerate(rows) if r[:2] == ["clerk", "signed_in_s"])
    li = next(r for r in rows[header:] if r and r[0] == "li")
    assert dict(zip(rows[header], li, strict=True))["idle_waiting_s"] == "120"
    assert dict(zip(rows[header], li, strict=True))["away_by_reason"] == "午休=1800"
    monthly = hall.get(f"{TOWN}/reports/monthly?month={D[:7]}&format=xlsx")
    assert monthly.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(monthly.get_data()))
    assert {"staff_counters", "staff_clerks"} <= set(book.sheetnames)
