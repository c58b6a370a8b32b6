"""A clerk's own matters (/counter/matters, 我的办件): a supervisor of several halls sees theirs in every hall
(or one hall with ?hall=), and the page's forms come back in the language and the hall the page was in."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.app import AppHall, Browser, csrf_of

from server.auth import set_user_halls

ID_NUMBER = "11010519491231002X"  # a valid check digit (GB 11643)
APPLICANT = {"name": "王秀英", "phone": "13812345678", "id_number": ID_NUMBER}


def east_numbers(text: str) -> str:
    """East numbers its matters apart from town's (both count from 1 each year: the same format would clash)."""
    return text.replace('id = "east"\n', 'id = "east"\nmatter_number = "DQ{year}{seq:6}"\n', 1)


@pytest.fixture
def hall(make_app_hall: Callable[..., AppHall]) -> AppHall:
    return make_app_hall("sqlite", edit=east_numbers)


def open_matter(browser: Browser, csrf: str, hall_id: str, service: str) -> dict[str, Any]:
    """A 全程代办 the logged-in person opens (and so owns) in `hall_id`."""
    body = {"service": service, "applicant": APPLICANT, "proxy": True}
    r = browser.post(f"/api/v1/halls/{hall_id}/matters", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    return dict(r.json())


def page_numbers(text: str) -> list[str]:
    return re.findall(r'<tr data-number="([^"]+)"', text)


def hall_cells(text: str) -> list[str]:
    return re.findall(r'<td class="mx-nowrap mx-row-hall">([^<]*)</td>', text)


def test_a_supervisor_of_several_halls_sees_their_matters_in_each(hall: AppHall) -> None:
    hall.add_user("zhao.lei", "supervisor", hall="east")
    set_user_halls(hall.ctx, "zhao.lei", ["east", "town"])
    browser = hall.log_in("zhao.lei")
    csrf = csrf_of(browser.get("/counter/matters").text)
    east = open_matter(browser, csrf, "east", "id-card")
    town = open_matter(browser, csrf, "town", "social")

    page = browser.get("/counter/matters").text  # every hall they may manage, due soonest first
    assert sorted(page_numbers(page)) == sorted([east["number"], town["number"]])
    assert sorted(hall_cells(page)) == sorted(["东区服务站", "测试镇便民服务中心"])
    assert 'id="mx-halls"' in page and 'href="/counter/matters?hall=town"' in page
    assert 'data-hall="east"' in page  # a new matter opens in their own hall unless they chose one
    only_town = browser.get("/counter/matters?hall=town").text
    assert page_numbers(only_town) == [town["number"]] and 'data-hall="town"' in only_town
    assert page_numbers(browser.get("/counter/matters?hall=east").text) == [east["number"]]
    assert browser.get("/counter/matters?hall=nowhere").status_code == 404

    # carried forward from the page that shows both halls: the other hall's matter too
    form = {"csrf": csrf, "status": "in_progress"}
    r = browser.post(f"/counter/matters/{town['id']}/progress", data=form, allow_redirects=False)
    assert r.status_code == 302, r.text
    steps = {m["number"]: m["status"] for m in hall.get("/api/v1/halls/town/matters", hall.admin_token()).json()}
    assert steps[town["number"]] == "in_progress"

    # an admin of every hall: their own matters of every hall
    hall.add_user("root", "admin")
    admin = hall.log_in("root")
    admin_csrf = csrf_of(admin.get("/counter/matters").text)
    mine = [open_matter(admin, admin_csrf, h, s)["number"] for h, s in (("town", "water"), ("east", "id-card"))]
    assert sorted(page_numbers(admin.get("/counter/matters").text)) == sorted(mine)


def test_one_halls_staff_see_one_hall_as_before(hall: AppHall) -> None:
    hall.add_user("east.boss", "supervisor", hall="east")
    boss = hall.log_in("east.boss")
    csrf = csrf_of(boss.get("/counter/matters").text)
    theirs = open_matter(boss, csrf, "east", "id-card")
    page = boss.get("/counter/matters").text
    assert page_numbers(page) == [theirs["number"]] and hall_cells(page) == []
    assert 'id="mx-halls"' not in page and 'data-hall="east"' in page
    assert boss.get("/counter/matters?hall=town").status_code == 404  # not a hall of theirs

    hall.add_user("li.na", "clerk", hall="town")
    clerk = hall.log_in("li.na")
    clerk_csrf = csrf_of(clerk.get("/counter/matters").text)
    own = open_matter(clerk, clerk_csrf, "town", "social")
    page = clerk.get("/counter/matters").text
    assert page_numbers(page) == [own["number"]] and hall_cells(page) == [] and 'id="mx-halls"' not in page
    assert 'data-hall="town"' in page and page_numbers(clerk.get("/counter/matters?hall=town").text) == [own["number"]]


def with_window_printer(text: str) -> str:
    """The window w2 prints (a virtual printer): the clerk's reprints go through."""
    name = 'name = "2号窗口"\n'
    return east_numbers(text.replace(name, name + 'printer = { kind = "virtual" }\n', 1))


def test_the_clerks_forms_come_back_in_the_pages_language_and_hall(make_app_hall: Callable[..., AppHall]) -> None:
    hall = make_app_hall("sqlite", edit=with_window_printer)
    hall.add_user("li.na", "clerk", hall="town")
    asked = hall.browser().get("/counter/matters?lang=en", allow_redirects=False)  # not logged in yet
    to_login = urlsplit(asked.headers["Location"])
    assert asked.status_code == 302 and to_login.path == "/login", asked.headers["Location"]
    assert parse_qs(to_login.query) == {"next": ["/counter/matters?lang=en"], "lang": ["en"]}  # the login in English
    browser = hall.log_in("li.na", next_path="/counter/matters?lang=en")
    csrf = csrf_of(browser.get("/counter/matters").text)
    assert browser.post("/api/v1/counters/w2/sign-in", headers={"X-CSRF-Token": csrf}).status_code == 200
    mine = open_matter(browser, csrf, "town", "social")

    page = browser.get("/counter/matters?lang=en").text
    assert '<html lang="en">' in page
    for what in ("progress", "receipt", "commission"):
        assert f'action="/counter/matters/{mine["id"]}/{what}?lang=en"' in page, what
    assert f'href="/matters/{mine["id"]}/commission?lang=en"' in page  # the printable page in English too
    posts = (
        ("progress", {"status": "in_progress"}, f"Matter {mine['number']} updated."),
        ("receipt", {}, f"The receipt of matter {mine['number']} was printed again."),
        ("commission", {}, f"The commission of matter {mine['number']} was printed: both sign it."),
    )
    for what, extra, said in posts:
        r = browser.post(
            f"/counter/matters/{mine['id']}/{what}?lang=en", data={"csrf": csrf, **extra}, allow_redirects=False
        )
        assert r.status_code == 302, (what, r.text[:300])
        assert "lang=en" in r.headers["Location"], (what, r.headers["Location"])
        back = browser.get(r.headers["Location"]).text
        assert '<html lang="en">' in back and said in back, what
    r = browser.post(f"/counter/matters/{mine['id']}/progress", data={"csrf": csrf, "status": "sent_up"},
                     allow_redirects=False)  # fmt: skip
    assert r.status_code == 302 and "lang=" not in r.headers["Location"]  # no language asked: none kept

    # a supervisor of two halls, on the page of one of them: back on that hall's page, in that language
    hall.add_user("zhao.lei", "supervisor", hall="east")
    set_user_halls(hall.ctx, "zhao.lei", ["east", "town"])
    boss = hall.log_in("zhao.lei")
    boss_csrf = csrf_of(boss.get("/counter/matters").text)
    town = open_matter(boss, boss_csrf, "town", "social")
    page = boss.get("/counter/matters?hall=town&lang=en").text
    action = f"/counter/matters/{town['id']}/progress?hall=town&amp;lang=en"
    assert f'action="{action}"' in page
    form = {"csrf": boss_csrf, "status": "in_progress"}
    r = boss.post(action.replace("&amp;", "&"), data=form, allow_redirects=False)
    location = r.headers["Location"]
    assert r.status_code == 302 and "hall=town" in location and "lang=en" in location, location
    back = boss.get(location).text
    assert page_numbers(back) == [town["number"]] and f"Matter {town['number']} updated." in back


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_halls_of_one_case_number_format_never_give_the_same_number(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    """Both halls keep the default format (BJ{year}{seq:6}): case numbers are unique system-wide, so the halls
    draw from one running number; a number drawn before (a hall's own running number) is never given again."""
    hall = make_app_hall(kind)
    hall.add_user("zhao.lei", "supervisor", hall="east")
    set_user_halls(hall.ctx, "zhao.lei", ["east", "town"])
    browser = hall.log_in("zhao.lei")
    csrf = csrf_of(browser.get("/counter/matters").text)
    from sqlalchemy import text

    with hall.ctx.db.write() as s:  # town drew 41 numbers this year before the halls shared one running number
        year = hall.ctx.hall("town").local(hall.clock.now()).year
        s.execute(text(f"INSERT INTO number_seqs VALUES ('town', '#matters', '{year}', 41)"))
    numbers = [open_matter(browser, csrf, h, "id-card")["number"] for h in ("east", "town", "east", "town")]
    assert numbers == [f"BJ{year}{seq:06d}" for seq in (42, 43, 44, 45)]
