"""A matter's result, rated and reported (PROTOCOL v1.2): a bad rating of the result opens a complaint case as a
bad visit does; the 好差评 push files the result's rating (assessNumber 2) under the case number with the
matter's fields; every step of a matter reaches a webhook as a signed `matter.changed`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from support.app import AppHall
from support.receiver import SECRET, Receiver, hooks, verify

from server.store.models import ComplaintRow, LedgerRow, MatterRow

KINDS = ["sqlite", "postgresql"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def pushing(url: str) -> Callable[[str], str]:
    """The hall "town" pushes its ratings to `url`; its promised service "social" has a 事项编码."""

    def edit(text: str) -> str:
        assert text.count('id = "social"\n') == 1
        text = text.replace('id = "social"\n', 'id = "social"\ntask_code = "330100-000-XK-0007"\n', 1)
        table = f'\n[hall.evaluation_push]\nurl = "{url}"\narea_code = "330102"\ndept_code = "DEPT01"\n'
        return text.replace('\n[[hall]]\nid = "east"', table + '\n[[hall]]\nid = "east"')

    return edit


def accept(app: AppHall, counter: str = "w2") -> dict[str, Any]:
    """A promised matter accepted (受理) at `counter`: the ticket as issued, and as finished."""
    issued = app.issue("social")
    assert app.act(counter, "open").status_code == 200
    assert app.act(counter, "call-next").json()["ticket"]["id"] == issued["id"]
    r = app.act(counter, "finish", {"outcome": "accepted", "note": "材料齐全"})
    assert r.status_code == 200, r.text
    return {"issued": issued, "ticket": r.json()["ticket"], "token": issued["track_url"].rsplit("/", 1)[1]}


def carried_to_pickup(app: AppHall, matter: str, by: str | None = None) -> None:
    """The matter moved on to picked_up by its owner window w2 (or by the credential `by`)."""
    by = by or app.counter_token("w2")
    for status in ("in_progress", "sent_up", "result_ready", "picked_up"):
        r = app.post(f"/api/v1/matters/{matter}/progress", {"status": status, "note": f"到{status}"}, by)
        assert r.status_code == 200, r.text


def supervisor(app: AppHall) -> str:
    return app.token("--role", "supervisor", "--hall", "town")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", [1, 2])
def test_a_bad_rating_of_the_result_opens_a_complaint_with_deadlines_charged_to_the_owner(
    make_app_hall: Callable[..., AppHall], kind: str, level: int
) -> None:
    app = make_app_hall(kind)
    done = accept(app)
    matter, token = done["ticket"]["matter"], done["token"]
    rate = f"/api/v1/track/{token}/rating"
    assert app.post(rate, {"level": 5}).status_code == 201  # the visit was fine: no case
    sup = supervisor(app)
    assert app.get("/api/v1/halls/town/complaints", sup).json() == []
    carried_to_pickup(app, matter["id"])
    r = app.post(rate, {"level": level, "comment": "结果有误 13812345678", "phone": "13812345678"})
    assert r.status_code == 201, r.text
    [case] = app.get("/api/v1/halls/town/complaints", sup).json()
    assert (case["ticket"], case["level"], case["status"], case["counter"]) == (
        done["ticket"]["id"], level, "open", "w2"
    )  # fmt: skip
    assert case["callback_phone"] == "138 1234 5678"  # in full for the supervisor
    opened = datetime.fromisoformat(case["opened_at"])
    assert opened < datetime.fromisoformat(case["callback_due_at"]) <= datetime.fromisoformat(case["due_at"])
    with app.ctx.db.read() as s:
        row = s.scalars(select(ComplaintRow)).one()
        assert row.rating_id == matter["id"]  # the result's rating, not the visit's
        line = s.scalars(select(LedgerRow).where(LedgerRow.kind == "complaint_opened")).one()
        assert line.counter_id == "w2" and line.ticket_id == done["ticket"]["id"]
    # the case is handled as any other
    handled = app.post(f"/api/v1/complaints/{case['id']}/resolve", {"note": "已重新出具结果"}, sup)
    assert handled.status_code == 200, handled.text
    followup = app.post(f"/api/v1/track/{token}/followup", {"level": 5})
    assert followup.status_code == 409  # the 追评 belongs to the visit's case, and it had none


@pytest.mark.parametrize("kind", KINDS)
def test_a_good_result_rating_opens_no_case_and_a_bad_visit_keeps_its_own(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    app = make_app_hall(kind)
    done = accept(app)
    rate = f"/api/v1/track/{done['token']}/rating"
    assert app.post(rate, {"level": 1, "comment": "等太久"}).status_code == 201  # a bad visit: its case
    carried_to_pickup(app, done["ticket"]["matter"]["id"])
    assert app.post(rate, {"level": 4}).status_code == 201
    sup = supervisor(app)
    [case] = app.get("/api/v1/halls/town/complaints", sup).json()
    assert case["level"] == 1 and case["comment"] == "等太久"
    # with both cases on one ticket, the 追评 still follows the visit's case
    assert app.post(f"/api/v1/complaints/{case['id']}/resolve", {"note": "已致歉"}, sup).status_code == 200
    assert app.post(f"/api/v1/track/{done['token']}/followup", {"level": 4}).status_code == 201


def test_a_refused_result_rating_writes_no_case(make_app_hall: Callable[..., AppHall]) -> None:
    app = make_app_hall("sqlite")
    done = accept(app)
    rate = f"/api/v1/track/{done['token']}/rating"
    assert app.post(rate, {"level": 5}).status_code == 201
    early = app.post(rate, {"level": 1})  # not picked up yet
    assert early.status_code == 409 and early.json()["error"]["code"] == "already_rated"
    carried_to_pickup(app, done["ticket"]["matter"]["id"])
    assert app.post(rate, {"level": 1, "comment": "x" * 501}).status_code == 422
    assert app.post(rate, {"level": 1, "phone": "12345"}).status_code == 422
    with app.ctx.db.read() as s:
        assert s.scalars(select(ComplaintRow)).all() == []
        assert s.get(MatterRow, done["ticket"]["matter"]["id"]).result_level is None  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", KINDS)
def test_the_result_rating_reaches_the_platform_under_the_case_number(
    make_app_hall: Callable[..., AppHall], receiver: Receiver, kind: str
) -> None:
    app = make_app_hall(kind, edit=pushing(receiver.url("/province/assess")))
    app.add_user("li.na", "clerk", hall="town")
    done = accept(app)
    matter = done["ticket"]["matter"]
    handed = app.post(
        f"/api/v1/matters/{matter['id']}/owner", {"owner": "li.na", "reason": "代理责任人"}, supervisor(app)
    )
    assert handed.status_code == 200
    rate = f"/api/v1/track/{done['token']}/rating"
    assert app.post(rate, {"level": 5}).status_code == 201
    carried_to_pickup(app, matter["id"])
    assert app.post(rate, {"level": 2, "comment": "结果送达慢", "tags": ["process_complex"]}).status_code == 201
    got = receiver.wait_for(lambda seen: len([r for r in seen if 200 <= r.status < 300]) >= 2)
    visit, result = (r.json() for r in got if 200 <= r.status < 300)
    hall = app.ctx.hall("town")
    listed = {m["id"]: m for m in app.get("/api/v1/halls/town/matters", supervisor(app)).json()}[matter["id"]]
    accepted = datetime.fromisoformat(listed["accepted_at"]).astimezone(hall.timezone)
    # both ratings are filed under the case number (按办件汇聚), the owner as 承办人
    for record in (visit, result):
        assert record["projectNo"] == matter["number"] and record["taskCode"] == "330100-000-XK-0007"
        assert record["proManager"] == "li.na" and record["promiseTime"] == "1"  # 1 承诺件
        assert record["acceptDate"] == accepted.strftime("%Y-%m-%d %H:%M:%S")
    assert (visit["assessNumber"], visit["satisfaction"]) == (1, "5")
    assert (result["assessNumber"], result["satisfaction"], result["evalDetail"]) == (2, "2", "501")
    assert result["writingEvaluation"] == "结果送达慢" and result["taskName"] == "社保医保"
    # the export lists the two records, each with its ticket and rating
    day = hall.day_of(app.clock.now())
    items = app.get(f"/api/v1/halls/town/evaluations?from={day}&to={day}", app.admin_token()).json()
    assert [(i["record"]["assessNumber"], i["ticket"]) for i in items] == [
        (1, done["ticket"]["id"]), (2, done["ticket"]["id"])
    ]  # fmt: skip
    assert items[0]["rating"] is not None and items[0]["rating"] == items[1]["rating"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_step_of_a_matter_reaches_a_webhook_signed_and_in_order(
    make_app_hall: Callable[..., AppHall], receiver: Receiver, kind: str
) -> None:
    app = make_app_hall(kind, edit=hooks(receiver.url(), events='events = ["matter.changed"]\n'))
    done = accept(app)
    matter = done["ticket"]["matter"]
    carried_to_pickup(app, matter["id"])
    body = {
        "service": "social",
        "applicant": {"name": "王秀英", "phone": "13812345678", "id_number": "11010519491231002X"},
        "proxy": True,
    }
    proxy = app.post("/api/v1/halls/town/matters", body, app.counter_token("w2")).json()
    rejected = app.post(f"/api/v1/matters/{proxy['id']}/progress", {"status": "rejected", "note": "不符合条件"},
                        app.counter_token("w2"))  # fmt: skip
    assert rejected.status_code == 200
    # handed over at the window: a 领取 ticket from the kiosk's API, finished there
    fetched = accept(app)
    w2 = app.counter_token("w2")
    assert app.post(f"/api/v1/matters/{fetched['ticket']['matter']['id']}/progress", {"status": "result_ready"},
                    w2).status_code == 200  # fmt: skip
    pickup = app.post("/api/v1/halls/town/pickups", {"case": fetched["ticket"]["matter"]["number"]})
    assert pickup.status_code == 201, pickup.text
    assert app.act("w2", "call-next").json()["ticket"]["id"] == pickup.json()["id"]
    assert app.act("w2", "finish", {"outcome": "completed"}).status_code == 200
    got = receiver.wait_for(lambda seen: len(seen) >= 10)
    assert len(got) == 10
    for r in got:
        assert verify(SECRET, r.headers, r.body), "signed with the hook's secret"
        assert r.headers["X-Hallq-Event"] == "matter.changed" == r.json()["event"]
        assert r.headers["X-Hallq-Delivery"] == r.json()["id"]
    events = [r.json() for r in got]
    mine = [e["data"] for e in events if e["data"]["matter"] == matter["id"]]
    assert [d["status"] for d in mine] == ["accepted", "in_progress", "sent_up", "result_ready", "picked_up"]
    assert all(d["number"] == matter["number"] and d["ticket"] == done["ticket"]["id"] for d in mine)
    assert mine[0]["due_at"] == matter["due_at"] and all(e["hall"] == "town" for e in events)
    theirs = [e["data"] for e in events if e["data"]["matter"] == proxy["id"]]
    assert [(d["status"], d["ticket"], d["phone"]) for d in theirs] == [
        ("accepted", None, "13812345678"), ("rejected", None, "13812345678")
    ]  # fmt: skip
    fetched_events = [e["data"]["status"] for e in events if e["data"]["matter"] == fetched["ticket"]["matter"]["id"]]
    assert fetched_events == ["accepted", "result_ready", "picked_up"]
    raw = b"".join(r.body for r in got).decode()
    assert "11010519491231002X" not in raw and "王秀英" not in raw  # the phone only, for the SMS relay
    assert json.loads(got[0].body)["at"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_result_picked_up_after_the_visits_rating_window_is_still_rated_from_the_page(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    app = make_app_hall(kind)
    done = accept(app)
    token = done["token"]
    app.advance(8 * 24 * 3600)  # the visit went unrated and its 7 days are over
    closed = app.post(f"/api/v1/track/{token}/rating", {"level": 5})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "rating_closed"
    carried_to_pickup(app, done["ticket"]["matter"]["id"])
    page = app.get(f"/t/{token}").text
    assert 'id="rate-result-form"' in page and 'id="result-phone"' in page and 'id="rate-form"' not in page
    form = {"level": "1", "comment": "结果有误", "phone": "13812345678"}
    posted = app.browser().post(f"/t/{token}/rate", data=form, allow_redirects=False)
    assert posted.status_code in (302, 303), posted.text
    page = app.get(f"/t/{token}").text
    assert 'id="rate-result-form"' not in page and 'id="track-result-rated"' in page
    [case] = app.get("/api/v1/halls/town/complaints", supervisor(app)).json()
    assert (case["level"], case["comment"], case["callback_phone"]) == (1, "结果有误", "138 1234 5678")
    with app.ctx.db.read() as s:
        m = s.get(MatterRow, done["ticket"]["matter"]["id"])
        assert m is not None and (m.result_level, m.result_comment) == (1, "结果有误")
    again = app.post(f"/api/v1/track/{token}/rating", {"level": 5})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_result_after_a_hand_over_is_a_case_about_the_new_owner_window(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    """The case's window is the one its deduction goes to: the owner's (w3 after the hand-over), not the
    window that accepted the ticket (w2); the visit's own case stays with the window that served it."""
    app = make_app_hall(kind)
    done = accept(app)
    matter, token = done["ticket"]["matter"], done["token"]
    sup = supervisor(app)
    moved = app.post(f"/api/v1/matters/{matter['id']}/owner", {"counter": "w3", "reason": "w2 调岗"}, sup)
    assert moved.status_code == 200, moved.text
    rate = f"/api/v1/track/{token}/rating"
    assert app.post(rate, {"level": 1, "comment": "窗口态度差", "phone": "13812345678"}).status_code == 201
    carried_to_pickup(app, matter["id"], app.counter_token("w3"))
    assert app.post(rate, {"level": 2, "comment": "结果有误", "phone": "13812345678"}).status_code == 201
    cases = app.get("/api/v1/halls/town/complaints", sup).json()
    about = {c["matter"]: c["counter"] for c in cases}
    assert about == {None: "w2", matter["number"]: "w3"}, cases
    with app.ctx.db.read() as s:
        lines = s.scalars(select(LedgerRow).where(LedgerRow.kind == "complaint_opened")).all()
        assert sorted(line.counter_id or "" for line in lines) == ["w2", "w3"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_result_rating_counts_in_the_satisfaction_figures(make_app_hall: Callable[..., AppHall], kind: str) -> None:
    """A figure labelled 满意率 counts every rating: the visit's and its result's (办件评价), charged to the owner
    window, in the period's report, the region's month and the overview's 30 days."""
    app = make_app_hall(kind)
    done = accept(app)
    rate = f"/api/v1/track/{done['token']}/rating"
    assert app.post(rate, {"level": 5}).status_code == 201
    carried_to_pickup(app, done["ticket"]["matter"]["id"])
    assert app.post(rate, {"level": 1, "comment": "结果有误"}).status_code == 201
    admin, day = app.admin_token(), done["issued"]["issued_at"][:10]
    report = app.get(f"/api/v1/halls/town/reports/daily?date={day}", admin).json()
    assert report["ratings"] == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 1} and report["satisfaction_rate"] == 0.5
    [w2] = [c for c in report["by_counter"] if c["counter"] == "w2"]
    assert (w2["ratings"], w2["satisfaction_rate"]) == (2, 0.5)
    [town] = [h for h in app.get("/api/v1/overview", admin).json() if h["hall"] == "town"]
    assert town["satisfaction_rate_30d"] == 0.5
