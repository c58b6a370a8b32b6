"""A bad rating's call-back number (issue 20): asked on the resident's page, optional and validated, kept on the
complaint case for the supervisors (in full on their case view and API), masked for anyone else, never logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    return app_hall


def _served(hall: AppHall) -> str:
    t = hall.issue("id-card")
    for action in ("open", "call-next", "start"):
        hall.act("w1", action)
    assert hall.act("w1", "finish", {"outcome": "completed"}).status_code == 200
    return str(t["track_url"].rsplit("/", 1)[1])


def _cases(hall: AppHall, token: str | None) -> list[dict[str, Any]]:
    r = hall.get("/api/v1/halls/town/complaints", token)
    assert r.status_code == 200, r.text
    return list(r.json())


def _supervisor(hall: AppHall) -> str:
    return str(hall.token("--role", "supervisor", "--hall", "town"))


def test_a_bad_rating_keeps_the_number_for_the_supervisor_and_masks_it_for_others(
    hall: AppHall, caplog: pytest.LogCaptureFixture
) -> None:
    token = _served(hall)
    caplog.set_level(logging.DEBUG)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": "等太久", "phone": "138.1234.5678"})
    assert r.status_code == 201, r.text
    [case] = _cases(hall, _supervisor(hall))
    assert case["callback_phone"] == "138 1234 5678"
    [masked] = _cases(hall, hall.admin_token())
    assert masked["callback_phone"] == "138****5678"
    step = hall.post(f"/api/v1/complaints/{case['id']}/verify", {"note": "已回访"}, _supervisor(hall))
    assert step.status_code == 200 and step.json()["callback_phone"] == "138 1234 5678"
    assert "1234" not in hall.get(f"/api/v1/track/{token}").text  # the resident's own view shows no number
    logged = "\n".join(record.getMessage() for record in caplog.records)
    # the number in none of its forms (not merely "1234": a random case id may hold those digits)
    assert not re.search(r"1234\D?5678|138\D?1234", logged), logged


def test_a_landline_with_its_area_code_is_taken(hall: AppHall) -> None:
    token = _served(hall)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 2, "phone": "0571-88881234"})
    assert r.status_code == 201, r.text
    [case] = _cases(hall, _supervisor(hall))
    assert case["callback_phone"] == "0571 8888 1234"


@pytest.mark.parametrize("phone", ["12345", "call me", "400-820-8820", "1" * 33])
def test_a_number_that_is_not_a_phone_is_422_and_nothing_is_written(hall: AppHall, phone: str) -> None:
    token = _served(hall)
    r = hall.post(f"/api/v1/track/{token}/rating", {"level": 1, "phone": phone})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_phone", r.text
    assert phone not in r.text or len(phone) > 32  # the refusal never echoes the number back
    assert _cases(hall, _supervisor(hall)) == []
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 1}).status_code == 201  # still free to rate


def test_a_good_rating_does_not_store_a_number(hall: AppHall) -> None:
    token = _served(hall)
    assert hall.post(f"/api/v1/track/{token}/rating", {"level": 5, "phone": "13812345678"}).status_code == 201
    assert _cases(hall, _supervisor(hall)) == []


def test_the_page_form_asks_for_it_and_the_supervisors_case_view_shows_it(hall: AppHall) -> None:
    token = _served(hall)
    page = hall.get(f"/t/{token}").text
    assert 'name="phone"' in page and 'type="tel"' in page and "回访" in page
    bad = hall.post(f"/t/{token}/rate", data={"level": "1", "phone": "abc"}, allow_redirects=False)
    assert bad.status_code == 303 and "error=invalid_phone" in bad.headers["Location"]
    ok = hall.post(f"/t/{token}/rate", data={"level": "1", "phone": "１３８１２３４５６７８"}, allow_redirects=False)
    assert ok.status_code == 303 and "ok=rated" in ok.headers["Location"]
    hall.add_user("boss", "supervisor", "correct-horse", "town")
    browser = hall.log_in("boss", next_path="/admin/complaints")
    view = browser.get("/admin/complaints").text
    assert "138 1234 5678" in view and 'href="tel:13812345678"' in view
    assert "12345678" not in hall.get("/admin").text  # not on any page without login either
