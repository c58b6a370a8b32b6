"""The resident's page (/t/<token>) on a 390x844 phone: waiting -> called -> served -> rated, without
JavaScript, with websockets blocked (polling), escaped comments, and a complaint's round trip through
/admin/complaints back to the page (answer shown, 追评). axe-core on each state; screenshots in
test-artifacts/screenshots/track-*.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from support.server import Server, hallq

PHONE = (390, 844)
PASSWORD = "pass-word-1"
LONG = 20000  # ms: generous on a busy machine
OpenPage = Callable[..., Page]
Shot = Callable[..., Path]
Axe = Callable[[Page], object]
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def _path(ticket: dict) -> str:
    return "/t/" + ticket["track_url"].rsplit("/", 1)[1]


def _serve(hall: Server, counter: str = "w1") -> None:
    assert hall.act(counter, "start").status_code == 200
    assert hall.act(counter, "finish", {"outcome": "completed"}).status_code == 200


def test_waiting_called_served_rated(hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot) -> None:
    first = hall.issue("id-card")
    mine = hall.issue("id-card")
    hall.act("w1", "open")
    page = open_page(_path(mine), viewport=PHONE)
    main = page.locator("main")
    expect(main).to_have_attribute("data-status", "waiting")
    expect(page.locator("#track-number")).to_have_text(mine["number"])
    expect(page.locator("#track-ahead")).to_have_text("1", timeout=LONG)
    check_axe(page)
    screenshot(page, "track-waiting")

    hall.act("w1", "call-next")  # the resident ahead is called: one fewer ahead, live
    expect(page.locator("#track-ahead")).to_have_text("0", timeout=LONG)
    _serve(hall)
    assert first["number"] != mine["number"]
    hall.act("w1", "call-next")  # now mine
    expect(page.locator("#track-go")).to_contain_text("号窗口", timeout=LONG)
    expect(main).to_have_attribute("data-status", "called")
    check_axe(page)
    screenshot(page, "track-called")

    _serve(hall)
    expect(page.get_by_role("group", name="请评价本次服务")).to_be_visible(timeout=LONG)
    check_axe(page)
    screenshot(page, "track-rate", full_page=True)
    page.get_by_text("满意", exact=True).click()
    page.get_by_text("等待时间长").click()
    page.get_by_label("意见或建议（可选，最多 500 字）").fill("很好")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("感谢您的评价！")).to_be_visible(timeout=LONG)
    expect(page.locator("#track-rated")).to_contain_text("满意")
    expect(page.locator("#track-rated")).to_contain_text("等待时间长")
    check_axe(page)
    screenshot(page, "track-rated")
    # 一次一评: the API refuses a second rating
    r = hall.post(f"/api/v1/track/{mine['track_url'].rsplit('/', 1)[1]}/rating", {"level": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_rated"


def test_not_served_now_says_ask_the_desk(hall: Server, open_page: OpenPage, check_axe: Axe) -> None:
    mine = hall.issue("id-card")  # every counter is closed: before the day's first window opens
    page = open_page(_path(mine), viewport=PHONE)
    expect(page.locator("#track-before")).to_have_text("窗口尚未开始办理，开始后按取号顺序叫号。")
    expect(page.locator("#track-not-served")).to_be_hidden()
    hall.act("w4", "open")  # the day's first window (water) opens and closes: now nobody serves id-card
    hall.act("w4", "close")
    page.reload()
    expect(page.locator("#track-before")).to_be_hidden()
    expect(page.locator("#track-not-served")).to_have_text("暂无窗口办理此业务，请咨询服务台")
    expect(page.locator("#track-wait-row")).to_be_hidden()
    check_axe(page)


def test_polling_keeps_the_page_live_when_websockets_are_blocked(hall: Server, open_page: OpenPage) -> None:
    mine = hall.issue("id-card")
    hall.act("w1", "open")
    page = open_page("about:blank", viewport=PHONE)
    page.route("**/socket.io/**", lambda route: route.abort())
    page.goto(hall.url + _path(mine))
    expect(page.locator("main")).to_have_attribute("data-status", "waiting")
    hall.act("w1", "call-next")
    expect(page.locator("#track-go")).to_contain_text("号窗口", timeout=LONG)


def test_rating_without_javascript_and_comments_are_escaped(
    hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    mine = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    _serve(hall)
    page = open_page(_path(mine), viewport=PHONE, java_script_enabled=False)
    expect(page.locator("#rate-phone")).to_be_hidden()  # asked only with a bad rating (CSS, no script)
    page.get_by_text("满意", exact=True).click()
    expect(page.locator("#rate-phone")).to_be_hidden()
    page.get_by_text("非常不满意").click()
    expect(page.locator("#rate-phone")).to_be_visible()
    page.get_by_label("留个电话，方便我们回访（可选）").fill("138-1234-5678")
    screenshot(page, "track-rate-bad-phone", full_page=True)
    page.get_by_text("态度不好").click()
    page.get_by_label("意见或建议（可选，最多 500 字）").fill(XSS)
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("感谢您的评价！")).to_be_visible()
    expect(page.locator("#track-comment")).to_have_text(XSS)  # shown as text, not markup
    assert page.locator("#track-rated img").count() == 0
    screenshot(page, "track-nojs-rated")
    # the same page with JavaScript on: still text, nothing ran
    js = open_page(_path(mine), viewport=PHONE)
    expect(js.locator("#track-comment")).to_have_text(XSS)
    assert js.evaluate("() => window.__pwned") is None
    check_axe(js)


def test_ended_tickets_are_explained_kindly(
    hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    mine = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    assert hall.act("w1", "no-show").status_code == 200
    page = open_page(_path(mine), viewport=PHONE)
    expect(page.locator("#track-ended")).to_contain_text("重新取号")
    check_axe(page)
    screenshot(page, "track-no-show")


def test_a_complaint_round_trip_through_the_supervisors_page(
    hall: Server, open_page: OpenPage, check_axe: Axe, screenshot: Shot
) -> None:
    mine = hall.issue("id-card")
    hall.act("w1", "open")
    hall.act("w1", "call-next")
    _serve(hall)
    token = mine["track_url"].rsplit("/", 1)[1]
    assert (
        hall.post(
            f"/api/v1/track/{token}/rating",
            {"level": 1, "comment": XSS + " 等了很久很久" * 12, "tags": ["attitude"], "phone": "0571-88881234"},
        ).status_code
        == 201
    )
    done = hallq("user", "add", "lin", "--role", "supervisor", "--hall", "town", "--config", str(hall.config),
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0 or "exists" in done.stderr, done.stderr
    resident = open_page(_path(mine), viewport=PHONE)  # left open: the answer comes to it live
    expect(resident.locator("html")).to_have_attribute("data-hq-connection", "online", timeout=LONG)
    expect(resident.locator("#track-answer")).to_have_count(0)

    admin = open_page("/admin/complaints", viewport=(1440, 900))
    admin.get_by_label("用户名").fill("lin")
    admin.get_by_label("密码").fill(PASSWORD)
    admin.get_by_role("button", name="登录").click()
    case = admin.locator(f'.cx-case[data-number="{mine["number"]}"]')
    expect(case).to_contain_text("态度不好", timeout=LONG)
    expect(case.locator(".cx-facts")).to_contain_text("1号窗口")  # the window the complaint is about
    expect(case.locator(".cx-quote")).to_contain_text(XSS)  # escaped for the supervisor too
    expect(case.locator(".cx-phone")).to_have_text("0571 8888 1234")  # the call-back number, for the supervisor
    expect(admin.locator("#cx-back")).to_have_attribute("href", "/admin?hall=town")
    expect(admin.get_by_role("button", name="退出登录")).to_be_visible()
    assert admin.evaluate("() => window.__pwned") is None
    check_axe(admin)
    screenshot(admin, "track-admin-complaints", full_page=True)
    case_id = case.get_attribute("data-id")
    case.get_by_role("button", name="已回访").click()  # no note: refused in the page
    expect(admin.locator("#cx-message")).to_have_text("请填写处理说明。")
    case.get_by_label("处理说明（回访情况、整改措施或不予整改的理由）").fill("已电话回访")
    case.get_by_role("button", name="已回访").click()
    expect(case.locator(".cx-status")).to_have_text("已回访", timeout=LONG)
    expect(admin.locator("#cx-message")).to_have_text(f"{mine['number']} 号：已记录回访。")  # what was just done
    admin.reload()  # the call-back's note is on the case once the page shows it again
    case = admin.locator(f'.cx-case[data-id="{case_id}"]')
    expect(case.locator(".cx-verify-note")).to_have_text("已电话回访")
    case.get_by_label("处理说明（回访情况、整改措施或不予整改的理由）").fill("已对窗口人员批评教育并培训")
    case.get_by_role("button", name="整改完毕").click()
    expect(admin.locator("#cx-active")).not_to_contain_text(mine["number"], timeout=LONG)

    expect(resident.locator("#track-answer")).to_contain_text("已对窗口人员批评教育并培训", timeout=LONG)
    check_axe(resident)
    followup = resident.locator("#followup-form")
    followup.get_by_text("满意", exact=True).click()
    followup.get_by_role("button", name="提交评价").click()
    expect(resident.get_by_text("感谢您的追评！")).to_be_visible(timeout=LONG)
    expect(resident.locator("#track-followup")).to_contain_text("满意")
    screenshot(resident, "track-answered", full_page=True)
    admin.reload()
    expect(admin.locator(f'.cx-case[data-id="{case_id}"]')).to_contain_text("追评")
    # A hall the supervisor does not have is not answered with another hall's cases.
    assert admin.request.get(hall.url + "/admin/complaints?hall=nope").status == 404
    # Back on /admin at 1440 px: beside a long comment, 非常不满意 stays on one line
    admin.locator("#cx-back").click()
    level = admin.locator("#complaints-table tbody tr td").first
    expect(level).to_have_text("非常不满意", timeout=LONG)
    expect(level).to_have_css("white-space", "nowrap", timeout=LONG)  # admin.css applied (a loaded machine)
    lines = level.evaluate(
        "(td) => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; }"
    )
    assert lines == 1, lines
    screenshot(admin, "admin-complaints-table-1440x900")


def test_the_page_loads_under_100_kb_before_compression(hall: Server, open_page: OpenPage) -> None:
    mine = hall.issue("id-card")
    page = open_page("about:blank", viewport=PHONE)
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if "/socket.io/" not in r.url else None)
    page.goto(hall.url + _path(mine))
    expect(page.locator("html")).to_have_attribute("data-hq-connection", "online", timeout=LONG)
    total = sum(sizes.values())
    print("track page bytes:", total, {u.rsplit("/", 1)[-1]: n for u, n in sizes.items()})
    assert total < 100_000, sizes
