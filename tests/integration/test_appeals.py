"""申诉: the hall contests a malicious or mistaken rating; a supervisor decides; counted apart (issue 21)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.app import AppHall


def bad_case(app: AppHall) -> dict[str, Any]:
    t = app.issue("id-card")
    for action in ("open", "call-next"):
        app.act("w1", action)
    app.act("w1", "finish", {"outcome": "completed"})
    token = t["track_url"].rsplit("/", 1)[1]
    assert app.post(f"/api/v1/track/{token}/rating", {"level": 1, "comment": "乱写的"}).status_code == 201
    [case] = app.get("/api/v1/halls/town/complaints", app.admin_token()).json()
    return dict(case)


def justified(app: AppHall, month: str) -> list[Any]:
    report = app.get(f"/api/v1/halls/town/reports/monthly?month={month}", app.admin_token()).json()
    w1 = next(w for w in report["windows"] if w["counter"] == "w1")
    return [d for d in w1["deductions"] if d["kind"] == "justified_complaint"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_upheld_appeal_sets_the_rating_aside_and_is_counted_apart(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    app = make_app_hall(kind)
    case = bad_case(app)
    assert case["appeal"] is None
    filer = app.token("--role", "supervisor", "--hall", "town")
    step = app.post(f"/api/v1/complaints/{case['id']}/verify", {"note": "已回访，居民承认误评"}, filer)
    assert step.status_code == 200
    month = app.ctx.hall("town").day_of(app.clock.now())[:7]
    assert len(justified(app, month)) == 1, "a verified case counts against the window"
    r = app.post(f"/api/v1/complaints/{case['id']}/appeal", {"reason": "居民误点差评，回访录音为证"}, filer)
    assert r.status_code == 201
    appeal = r.json()["appeal"]
    assert (appeal["status"], appeal["reason"], appeal["decided_by"]) == ("pending", "居民误点差评，回访录音为证", None)
    assert r.json()["status"] == "verified" and r.json()["callback_due_at"] == case["callback_due_at"]
    again = app.post(f"/api/v1/complaints/{case['id']}/appeal", {"reason": "再次"}, filer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_appealed"
    own = app.post(f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "upheld", "note": "同意"}, filer)
    assert own.status_code == 409 and own.json()["error"]["code"] == "own_appeal"
    blank = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "upheld", "note": " "}, app.admin_token()
    )
    assert blank.status_code == 422
    wrong = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "maybe", "note": "x"}, app.admin_token()
    )
    assert wrong.status_code == 422
    done = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "upheld", "note": "录音属实"}, app.admin_token()
    )
    assert done.status_code == 200 and done.json()["appeal"]["status"] == "upheld"
    assert done.json()["appeal"]["note"] == "录音属实" and done.json()["appeal"]["decided_at"]
    late = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "rejected", "note": "x"}, app.admin_token()
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_decided"
    assert justified(app, month) == [], "the rating set aside no longer counts against the window"
    today = app.ctx.hall("town").day_of(app.clock.now())
    counts = app.get(f"/api/v1/halls/town/appeals?from={today}&to={today}", filer).json()
    assert counts == {"filed": 1, "pending": 0, "upheld": 1, "rejected": 0}
    listed = app.get("/api/v1/halls/town/complaints", filer).json()
    assert listed[0]["status"] == "verified" and listed[0]["appeal"]["status"] == "upheld", "the case keeps its record"


def test_a_rejected_appeal_leaves_the_case_counted_and_other_halls_cannot_touch_it(
    make_app_hall: Callable[..., AppHall],
) -> None:
    app = make_app_hall("sqlite")
    case = bad_case(app)
    east = app.token("--role", "supervisor", "--hall", "east")
    assert app.post(f"/api/v1/complaints/{case['id']}/appeal", {"reason": "x"}, east).status_code == 403
    assert app.post("/api/v1/complaints/nope/appeal", {"reason": "x"}, app.admin_token()).status_code == 404
    assert app.post(f"/api/v1/complaints/{case['id']}/appeal", {"reason": ""}, app.admin_token()).status_code == 422
    none = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide", {"decision": "upheld", "note": "x"}, app.admin_token()
    )
    assert none.status_code == 409 and none.json()["error"]["code"] == "not_appealed"
    town = app.token("--role", "supervisor", "--hall", "town")
    assert app.post(f"/api/v1/complaints/{case['id']}/appeal", {"reason": "恶意差评"}, town).status_code == 201
    r = app.post(
        f"/api/v1/complaints/{case['id']}/appeal/decide",
        {"decision": "rejected", "note": "证据不足"},
        app.admin_token(),
    )
    assert r.status_code == 200 and r.json()["appeal"]["status"] == "rejected"
    assert app.get("/api/v1/halls/town/appeals?from=2026-01-01&to=2026-01-02", town).json()["filed"] == 0
    assert app.get("/api/v1/halls/town/appeals?from=2026-01-01&to=2026-01-02", east).status_code == 403


def test_steps_on_one_case_at_once_take_turns_on_postgresql(make_app_hall: Callable[..., AppHall]) -> None:
    """Supervisors on one case at the same instant: two appeals give one appeal and a 409 (a duplicate key was a
    500); resolve, dismiss and verify at once give the one the status machine allows; two decisions, one. Each
    step runs in its own thread on its own connection, as two server processes would."""
    import threading

    from server.services import appeals, ratings

    app = make_app_hall("postgresql")

    def at_once(*steps: Callable[[], Any]) -> list[str]:
        gate, outcomes = threading.Barrier(len(steps)), []

        def run(step: Callable[[], Any]) -> None:
            gate.wait()
            try:
                step()
                outcomes.append("ok")
            except Exception as e:  # noqa: BLE001 - what each step ended with is the finding
                outcomes.append(getattr(e, "code", type(e).__name__))

        threads = [threading.Thread(target=run, args=(s,)) for s in steps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return sorted(outcomes)

    case = bad_case(app)["id"]
    stepped = at_once(
        *(lambda a=a: ratings.handle(app.ctx, case, a, "n", "boss") for a in ("resolve", "dismiss", "verify"))
    )
    assert stepped in (["invalid_transition", "invalid_transition", "ok"], ["invalid_transition", "ok", "ok"]), stepped
    status = next(c for c in app.get("/api/v1/halls/town/complaints", app.admin_token()).json() if c["id"] == case)
    assert status["status"] in ("resolved", "dismissed") and status["closed_at"], status  # closed, and stays closed

    filed = at_once(*(lambda i=i: appeals.file(app.ctx, case, f"理由{i}", "sue") for i in range(4)))
    assert filed == ["already_appealed"] * 3 + ["ok"], filed
    decided = at_once(
        lambda: appeals.decide(app.ctx, case, "upheld", "属实", "ann"),
        lambda: appeals.decide(app.ctx, case, "rejected", "不属实", "bob"),
    )
    assert decided == ["already_decided", "ok"], decided
