"""PROTOCOL.md: health, halls, services, counters, kiosks."""

from __future__ import annotations

import pytest
from support.app import AppHall


@pytest.fixture
def hall(app_hall: AppHall) -> AppHall:
    """The contract, driven in-process through Flask's test client (support/app.py)."""
    return app_hall


def test_health_answers_ok(hall: AppHall) -> None:
    r = hall.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_halls_lists_id_and_name(hall: AppHall) -> None:
    r = hall.get("/api/v1/halls")
    assert r.status_code == 200
    assert {"id": "town", "name": "测试镇便民服务中心"} in r.json()
    assert all(set(h) >= {"id", "name"} for h in r.json())


def test_services_show_prefix_open_state_waiting_and_estimate(hall: AppHall) -> None:
    hall.issue("id-card")
    hall.issue("id-card")
    services = {s["id"]: s for s in hall.get("/api/v1/halls/town/services").json()}
    card = services["id-card"]
    assert card["prefix"] == "A" and card["name"] == "身份证办理"
    assert card["open"] is True and card["waiting"] == 2
    assert card["est_wait_s"] == 2 * 240  # two ahead × prior 240 s ÷ one (closed counters count as one)
    assert services["closed"]["open"] is False
    assert isinstance(services["water"]["est_wait_s"], int)


def test_counters_show_number_profile_partner_and_state(hall: AppHall) -> None:
    counters = {c["id"]: c for c in hall.get("/api/v1/halls/town/counters").json()}
    assert counters["w1"] == {
        "id": "w1",
        "name": "1号窗口",
        "number": 1,
        "services": ["id-card"],
        "partner": "w2",
        "state": "closed",
    }
    hall.act("w1", "open")
    counters = {c["id"]: c for c in hall.get("/api/v1/halls/town/counters").json()}
    assert counters["w1"]["state"] == "open"
    east = hall.get("/api/v1/halls/east/counters").json()
    assert east[0]["partner"] is None


def test_kiosks_report_their_printer_state(hall: AppHall) -> None:
    assert hall.get("/api/v1/halls/town/kiosks").json() == [
        {"id": "k1", "name": "大厅取号机", "printer": {"state": "none"}}
    ]


def test_unknown_hall_is_404_with_the_error_body(hall: AppHall) -> None:
    for path in ("services", "counters", "kiosks"):
        r = hall.get(f"/api/v1/halls/nowhere/{path}")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert r.json()["error"]["message"]


def test_unknown_route_and_wrong_method_answer_the_error_body(hall: AppHall) -> None:
    r = hall.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = hall.post("/api/v1/halls")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_every_page_of_the_contract_answers_html(hall: AppHall) -> None:
    for path in ("/kiosk/k1", "/display/town", "/login", "/admin", "/counter"):
        r = hall.get(path, allow_redirects=True)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith("text/html"), path
        assert "<html" in r.text
    assert hall.get("/kiosk/nope").status_code == 404
    assert hall.get("/display/nowhere").status_code == 404
    # Every page links its icon; /favicon.ico (asked for by browsers anyway) finds it too: no 404 in a console.
    assert 'rel="icon" href="/static/favicon.svg"' in hall.get("/login").text
    icon = hall.get("/favicon.ico", allow_redirects=True)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")


def test_the_hall_s_screens_speak_chinese_whatever_the_installer_s_browser_says(hall: AppHall) -> None:
    """A kiosk or hall display set up on an English system still greets residents in zh-CN; `?lang=en` and
    the language link still give English; a person's own pages follow their browser."""
    english = {"Accept-Language": "en-US,en;q=0.9"}
    for path in ("/kiosk/k1", "/display/town"):
        assert '<html lang="zh-CN"' in hall.get(path, headers=english).text, path
        assert '<html lang="en"' in hall.get(path + "?lang=en", headers=english).text, path
    assert '<html lang="en"' in hall.get("/login", headers=english).text


def test_an_oversize_body_is_400_with_the_error_body(hall: AppHall) -> None:
    r = hall.post(
        "/api/v1/halls/town/tickets",
        data=b'{"service": "' + b"x" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "body_too_large"
