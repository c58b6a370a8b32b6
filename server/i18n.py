"""UI strings: zh-CN by default, English with ?lang=en (or the browser's preference)."""

from __future__ import annotations

from flask import request

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "login_title": "工作人员登录",
        "username": "用户名",
        "password": "密码",
        "login": "登录",
        "login_failed": "用户名或密码不正确",
        "login_expired": "页面已过期，请重新登录",
        "admin_title": "管理后台",
        "admin_soon": "台账、日报、预警与窗口考核将在此显示。",
        "counter_title": "窗口工作台",
        "counter_soon": "叫号、重呼、开始办理、办结、过号、转办与AB岗将在此操作。",
        "kiosk_title": "自助取号",
        "kiosk_soon": "选择事项、查看办事指南并取号的触摸屏页面将在此显示。",
        "display_title": "叫号大屏",
        "display_soon": "叫号信息与语音播报将在此显示。",
        "track_title": "排队进度",
        "track_unknown": "未找到该号票。",
        "track_status": "状态：{status}；前面还有 {ahead} 人，预计等候约 {minutes} 分钟。",
        "status_waiting": "等候中",
        "status_called": "已叫号",
        "status_serving": "办理中",
        "status_done": "已办结",
        "status_no_show": "已过号",
        "status_closed_out": "已闭厅，未办理",
        "track_closed_out": "已闭厅，未办理：今日办理时间已结束，本号作废。"
        "请在办理时间内重新取号，给您带来不便敬请谅解。",
        "not_found": "未找到",
    },
    "en": {
        "login_title": "Staff login",
        "username": "Username",
        "password": "Password",
        "login": "Log in",
        "login_failed": "Wrong username or password",
        "login_expired": "The page expired; please log in again",
        "admin_title": "Management",
        "admin_soon": "The ledger, daily reports, alerts and window scores will be shown here.",
        "counter_title": "Counter",
        "counter_soon": "Call next, recall, start, finish, no-show, transfer and A/B cover will be operated here.",
        "kiosk_title": "Take a number",
        "kiosk_soon": "The touch screen to choose a service, read its guide and take a ticket will be here.",
        "display_title": "Call screen",
        "display_soon": "Calls and voice announcements will be shown here.",
        "track_title": "Your ticket",
        "track_unknown": "No such ticket.",
        "track_status": "Status: {status}; {ahead} ahead of you, about {minutes} minutes to wait.",
        "status_waiting": "waiting",
        "status_called": "called",
        "status_serving": "being served",
        "status_done": "done",
        "status_no_show": "missed",
        "status_closed_out": "hall closed, not served",
        "track_closed_out": "Hall closed, not served: today's opening hours ended before your turn. "
        "Please take a new number during opening hours; we apologise for the wait.",
        "not_found": "Not found",
    },
}


def lang() -> str:
    """The page language: ?lang=en|zh-CN, else the browser's best match, else zh-CN."""
    asked = request.args.get("lang")
    if asked in STRINGS:
        return asked
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"]) or "zh-CN"
    return "en" if best == "en" else "zh-CN"


def strings() -> dict[str, str]:
    return STRINGS[lang()]
