"""Tickets taken with neither a kiosk nor a staff credential: their own share of the day, no priority (issue 20).

195 anonymous requests from 7 addresses used up a service's 200 numbers and the kiosks then got daily_limit.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.app import AppHall
from test_appointments import edit as with_appointments

TICKETS = "/api/v1/halls/town/tickets"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_anonymous_tickets_have_their_own_share_and_leave_the_kiosks_untouched(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    def edit(text: str) -> str:
        text = text.replace("anonymous_tickets_per_day = 100000", "anonymous_tickets_per_day = 3")
        return text.replace('prefix = "A"\n', 'prefix = "A"\ndaily_limit = 8\n', 1)

    hall = make_app_hall(kind, edit=edit)
    anonymous = [hall.post(TICKETS, {"service": "id-card"}) for _ in range(4)]
    assert [r.status_code for r in anonymous] == [201, 201, 201, 409]
    refused = anonymous[-1].json()["error"]
    assert refused["code"] == "daily_limit" and "kiosk" in refused["message"]
    kiosk = [hall.post(TICKETS, {"service": "id-card", "kiosk": "k1"}, hall.kiosk_token()) for _ in range(6)]
    assert [r.status_code for r in kiosk] == [201] * 5 + [409], "the kiosks keep their 8 - 3"
    assert [r.json()["number"] for r in kiosk[:5]] == ["A004", "A005", "A006", "A007", "A008"]
    assert kiosk[5].json()["error"]["code"] == "daily_limit"
    # Staff (a counter's or a manager's token) issue on the kiosks' share, which is used up now.
    staff = hall.post(TICKETS, {"service": "id-card"}, hall.admin_token())
    assert staff.status_code == 409
    # Another service's anonymous share is its own.
    assert hall.post(TICKETS, {"service": "social"}).status_code == 201


def test_a_priority_ticket_needs_a_kiosk_or_staff(app_hall: AppHall) -> None:
    r = app_hall.post(TICKETS, {"service": "id-card", "priority": True})
    assert r.status_code == 403
    assert r.json()["error"] == {
        "code": "forbidden",
        "message": "priority tickets are issued at a kiosk or by staff; ask at the help desk",
    }
    assert app_hall.post(TICKETS, {"service": "id-card", "priority": True}, "hq_not-a-token").status_code == 403
    assert app_hall.get("/api/v1/halls/town/services").json()[0]["waiting"] == 0, "nothing was issued"
    by_staff = app_hall.post(TICKETS, {"service": "id-card", "priority": True}, app_hall.counter_token("w1"))
    assert by_staff.status_code == 201 and by_staff.json()["priority"] is True
    at_kiosk = app_hall.post(TICKETS, {"service": "id-card", "priority": True, "kiosk": "k1"}, app_hall.kiosk_token())
    assert at_kiosk.status_code == 201 and at_kiosk.json()["priority"] is True


def test_remote_tickets_count_in_the_anonymous_share(make_app_hall: Callable[..., AppHall]) -> None:
    """A phone is no credential: 线上取号 takes its numbers from the same share as other anonymous tickets."""

    def edit(text: str) -> str:
        text = with_appointments(text)
        return text.replace("anonymous_tickets_per_day = 100000", "anonymous_tickets_per_day = 3")

    hall = make_app_hall("sqlite", edit=edit)
    phones = [f"1381234{i:04d}" for i in range(5)]
    taken = [hall.post(TICKETS, {"service": "id-card", "remote": True, "phone": p}) for p in phones[:4]]
    assert [r.status_code for r in taken] == [201, 201, 201, 409], [r.text for r in taken]
    assert taken[-1].json()["error"]["code"] == "daily_limit"
    assert hall.post(TICKETS, {"service": "id-card"}).status_code == 409  # the same share, used up
    assert hall.post(TICKETS, {"service": "id-card", "kiosk": "k1"}, hall.kiosk_token()).status_code == 201
