"""差评整改: the complaint workflow (verify, resolve, dismiss, 409 on a wrong step, the ledger), 追评 after the
answer, reason tags, the rating window (409 rating_closed) and the resident's page form posts.

Deadlines on the hall's calendar with a holiday in between: tests/integration/test_calendar.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from support.app import AppHall

from server.clock import FrozenClock

START = datetime(2026, 3, 2, 2, tzinfo=UTC)  # a Monday, 10:00 in Shanghai


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def hall(make_app_hall: Callable[..., AppHall], clock: FrozenClock) -> AppHall:
    return make_app_hall("sqlite", clock=clock)


def _served(hall: AppHall) -> tuple[dict[str, Any], str]:
    t = hall.issue("id-card")
    for action in ("open", "call-next", "start"):
        hall.act("w1", action)
    assert hall.act("w1", "finish", {"outcome": "completed"}).status_code == 200
    return t, t["track_url"].rsplit("/", 1)[1]


def _case(hall: AppHall, level: int = 1, comment: str = "等太久") -> tuple[dict[str, Any], str]:
    _, token = _served(hall)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": level, "comment": comment, "tags": ["wait_long"]})
    assert r.status_code == 201, r.text
    assert r.json()["tags"] == ["wait_long"]
    [case] = hall.get("/api/v1/halls/town/complaints", hall.admin_token()).json()
    assert (case["service"], case["counter"]) == ("id-card", "w1"), "the case says whom it is about"
    return case, token


def _step(hall: AppHall, case: dict[str, Any], action: str, note: str = "已回访", token: str | None = None) -> Any:
    return hall.post(
        f"/api/v1/complaints/{case['id']}/{action}",
        {"note": note},
        token or hall.token("--role", "supervisor", "--hall", "town"),
    )


def test_a_case_is_verified_then_resolved_and_the_resident_rates_again(hall: AppHall) -> None:
    case, token = _case(hall)
    assert case["status"] == "open" and case["tags"] == ["wait_long"] and case["overdue"] is False
    assert hall.get(f"/api/v1/track/{token}").json()["complaint"] == "open"
    r = _step(hall, case, "verify", "已电话回访，居民同意等待整改")
    assert r.status_code == 200 and r.json()["status"] == "verified" and r.json()["verified_at"]
    assert r.json()["handled_by"]
    # 追评 is refused until the case is answered
    early = hall.post(f"/api/v1/track/{token}/followup", {"level": 4})
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_answer"
    r = _step(hall, case, "resolve", "已增加高峰时段窗口")
    assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["answer"] == "已增加高峰时段窗口"
    assert hall.get(f"/api/v1/track/{token}").json()["complaint"] == "resolved"
    page = hall.get(f"/t/{token}")
    assert "已增加高峰时段窗口" in page.text and "追评" in page.text
    assert hall.post(f"/api/v1/track/{token}/followup", {"level": 4, "comment": "好多了"}).status_code == 201
    again = hall.post(f"/api/v1/track/{token}/followup", {"level": 5})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    [case] = hall.get("/api/v1/halls/town/complaints", hall.admin_token()).json()
    assert case["followup_level"] == 4 and case["followup_comment"] == "好多了"


def test_wrong_steps_are_409_and_a_note_is_required(hall: AppHall) -> None:
    case, _ = _case(hall)
    empty = _step(hall, case, "dismiss", "   ")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_note"
    assert _step(hall, case, "dismiss", "与本中心业务无关").json()["status"] == "dismissed"
    for action in ("verify", "resolve", "dismiss"):
        r = _step(hall, case, action)
        assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition", action
    unknown = hall.post("/api/v1/complaints/nope/verify", {"note": "x"}, hall.admin_token())
    assert unknown.status_code == 404


def test_only_a_manager_of_the_hall_handles_a_case(hall: AppHall) -> None:
    case, _ = _case(hall)
    assert hall.post(f"/api/v1/complaints/{case['id']}/verify", {"note": "x"}).status_code == 401
    assert _step(hall, case, "verify", token=hall.counter_token("w1")).status_code == 403
    assert _step(hall, case, "verify", token=hall.token("--role", "supervisor", "--hall", "east")).status_code == 403
    assert _step(hall, case, "verify", token=hall.token("--role", "supervisor", "--hall", "town")).status_code == 200


def test_cases_become_overdue_on_the_calendar(hall: AppHall, clock: FrozenClock) -> None:
    case, _ = _case(hall)
    assert case["callback_due_at"].startswith("2026-03-03T10:00")  # the next working day, same time
    clock.advance(2 * 86400)
    [case] = hall.get("/api/v1/halls/town/complaints", hall.admin_token()).json()
    assert case["callback_overdue"] is True and case["overdue"] is False
    clock.advance(30 * 86400)
    [case] = hall.get("/api/v1/halls/town/complaints", hall.admin_token()).json()
    assert case["overdue"] is True


def test_rating_closes_after_seven_days(hall: AppHall, clock: FrozenClock) -> None:
    _, token = _served(hall)
    clock.advance(7 * 86400 + 60)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "rating_closed"
    assert "评价已关闭" in hall.get(f"/t/{token}").text


def test_unknown_tags_and_long_comments_are_refused(hall: AppHall) -> None:
    _, token = _served(hall)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 2, "tags": ["<b>x</b>"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_tag"
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 2, "comment": "长" * 501})
    assert r.status_code == 422 and "500" in r.json()["error"]["message"]
    # the form post answers with a redirect back to the page and a readable message
    browser = hall.browser()
    r = browser.post(f"/t/{token}/rate", data={"level": "2", "comment": "长" * 501}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("error=comment_too_long")
    assert "意见太长了" in browser.get(r.headers["Location"]).text
    r = browser.post(f"/t/{token}/rate", data={"level": "4", "tags": ["attitude"]}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("ok=rated")
    assert hall.get(f"/api/v1/track/{token}").json()["can_rate"] is False
