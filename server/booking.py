"""`/book/{hall}`: the resident's booking page (预约, 线上取号), PROTOCOL v1.2. Server-rendered forms, so it works
without JavaScript on any phone; the code's QR is an inline SVG and the booking an .ics calendar file."""

from __future__ import annotations

import hmac
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, redirect, request, session

from server.admin import managed_hall, manager_page
from server.api.appointments import code_tried
from server.api.guard import hq
from server.auth import Principal
from server.engine.errors import HallError
from server.engine.model import Hall
from server.i18n import lang, strings
from server.pages import csrf_token
from server.rendering import page, render_page
from server.services import appointments

booking = Blueprint("booking", __name__, template_folder="templates")
AREA = "book"


def _hall(hall_id: str) -> Hall:
    hall = hq().ctx.config.hall(hall_id)
    if hall is None:
        raise HallError("not_found", 404, "unknown hall")
    return hall


def _name(hall: Hall, service_id: str) -> str:
    svc = hall.service(service_id)
    if svc is None:
        return service_id
    return svc.name if lang() != "en" else svc.name_en


def _check_csrf() -> None:
    sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HallError("csrf_failed", 400, strings(AREA)["book_expired"])


def _local_day(hall: Hall) -> date:
    return hall.local(hq().ctx.clock.now()).date()


def _form(hall: Hall, status: int = 200, error: str | None = None, **values: Any) -> tuple[str, int]:
    """The booking form: services, the chosen service's days and slots, the resident's details."""
    ctx = hq().ctx
    csrf_token()
    services = [s for s in hall.services if s.booking is not None and s.enabled]
    remote = [s for s in hall.services if hall.takes_remote(s) and hall.is_open(s, ctx.clock.now())]
    chosen = values.get("service") or request.args.get("service") or (services[0].id if services else "")
    service = next((s for s in services if s.id == chosen), None)
    days: list[dict[str, Any]] = []
    slots: list[dict[str, Any]] = []
    picked_day = values.get("day") or request.args.get("day", "")
    if service is not None:
        today = _local_day(hall)
        found = appointments.slots(ctx, hall.id, service.id, today, today + timedelta(days=30), staff=False)
        by_day: dict[str, list[dict[str, Any]]] = {}
        for slot in found:
            by_day.setdefault(slot["start"][:10], []).append(slot)
        days = [{"day": d, "free": sum(s["free"] for s in v)} for d, v in by_day.items()]
        if picked_day not in by_day:
            picked_day = next((d["day"] for d in days if d["free"]), days[0]["day"] if days else "")
        slots = [{**s, "time": s["start"][11:16] + "–" + s["end"][11:16]} for s in by_day.get(picked_day, [])]
    t = strings(AREA)
    return render_page(
        "book.html", AREA, status=status, title=t["book_title"], hall=hall, services=services, service=service,
        days=days, day=picked_day, slots=slots, remote=remote, error=error, values=values,
        service_name=lambda sid: _name(hall, sid),
    )  # fmt: skip


@booking.get("/book/<hall_id>")
def book_page(hall_id: str) -> Any:
    return _form(_hall(hall_id))


@booking.post("/book/<hall_id>")
def book_post(hall_id: str) -> Any:
    hall = _hall(hall_id)
    f = request.form
    values = {k: f.get(k, "")[:200] for k in ("service", "day", "start", "name", "phone", "id_number")}
    try:
        _check_csrf()
        if not hq().ticket_limiter.allow(f"book:{request.remote_addr}"):
            raise HallError("rate_limited", 429, strings(AREA)["book_busy"])
        if not values["start"]:
            raise HallError("invalid_slot", 422, strings(AREA)["book_pick_slot"])
        answer, _ = appointments.book(
            hq().ctx, hall.id, values["service"], values["start"], values["name"], values["phone"],
            values["id_number"], hq().track_base(),
        )  # fmt: skip
    except HallError as e:
        return _form(hall, e.status, _message(e), **values)
    suffix = "&lang=en" if request.args.get("lang") == "en" else ""
    return redirect(f"/book/{hall.id}/{answer['code']}?new=1{suffix}", code=303)


def _message(e: HallError) -> str:
    t = strings(AREA)
    key = f"err_{e.code}"
    text = t.get(key, e.message)
    if "until" in e.extra:
        text += f" ({str(e.extra['until'])[:16].replace('T', ' ')})"
    return text


def _qr_svg(text: str) -> str:
    import qrcode  # type: ignore[import-untyped]
    import qrcode.image.svg  # type: ignore[import-untyped]

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg: bytes = image.to_string()
    return svg.decode("utf-8")


@booking.get("/book/<hall_id>/<code>")
def booking_page(hall_id: str, code: str) -> Any:
    hall = _hall(hall_id)
    t = strings(AREA)
    try:
        code_tried()
        shown = appointments.show(hq().ctx, code, hall_id=hall.id)
    except HallError as e:
        busy = e.status == 429
        return page(t["book_title"], t["book_busy" if busy else "book_unknown"], AREA, status=e.status if busy else 404)
    csrf_token()
    start = datetime.fromisoformat(shown["start"])
    end = datetime.fromisoformat(shown["end"])
    return render_page(
        "book_done.html", AREA, title=t["book_title"], hall=hall, a=shown, new=request.args.get("new") == "1",
        service=_name(hall, shown["service"]), when=f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}",
        qr=_qr_svg(shown["code"]), cancelled=request.args.get("cancelled") == "1", error=None,
    )  # fmt: skip


@booking.post("/book/<hall_id>/<code>/cancel")
def cancel_post(hall_id: str, code: str) -> Any:
    hall = _hall(hall_id)
    t = strings(AREA)
    try:
        _check_csrf()
        code_tried()
        appointments.cancel(hq().ctx, code, hall_id=hall.id)
    except HallError as e:
        if e.status in (404, 429):  # no booking of that code (or no more tries now): nothing to show again
            return page(t["book_title"], t["book_busy" if e.status == 429 else "book_unknown"], AREA, status=e.status)
        shown = appointments.show(hq().ctx, code, hall_id=hall.id)
        start = datetime.fromisoformat(shown["start"])
        return render_page(
            "book_done.html", AREA, status=e.status, title=t["book_title"], hall=hall, a=shown, new=False,
            service=_name(hall, shown["service"]), when=f"{start:%Y-%m-%d %H:%M}", qr=_qr_svg(shown["code"]),
            cancelled=False, error=_message(e),
        )  # fmt: skip
    return redirect(f"/book/{hall.id}/{code}?cancelled=1", code=303)


@booking.get("/book/<hall_id>/<code>.ics")
def calendar_file(hall_id: str, code: str) -> Any:
    from icalendar import Calendar, Event

    hall = _hall(hall_id)
    code_tried()
    shown = appointments.show(hq().ctx, code, hall_id=hall.id)
    cal = Calendar()
    cal.add("prodid", "-//hallq//appointments//ZH")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"{shown['id']}@hallq")
    event.add("dtstamp", hq().ctx.clock.now())
    # in UTC ("...Z"): a fixed offset was written as TZID="UTC+08:00", a zone the file never defines (RFC 5545)
    event.add("dtstart", datetime.fromisoformat(shown["start"]).astimezone(UTC))
    event.add("dtend", datetime.fromisoformat(shown["end"]).astimezone(UTC))
    event.add("summary", f"{hall.name} · {_name(hall, shown['service'])}（预约）")
    event.add("location", hall.name)
    event.add("description", f"预约码 / code: {shown['code']}")
    cal.add_component(event)
    return Response(
        cal.to_ical(),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="hallq-{shown["code"]}.ics"'},
    )


@booking.post("/book/<hall_id>/remote")
def remote_post(hall_id: str) -> Any:
    hall = _hall(hall_id)
    f = request.form
    values = {"remote_service": f.get("service", "")[:40], "remote_phone": f.get("phone", "")[:30]}
    try:
        _check_csrf()
        if not hq().ticket_limiter.allow(f"addr:{request.remote_addr}"):
            raise HallError("rate_limited", 429, strings(AREA)["book_busy"])
        issued, events = appointments.issue_remote(
            hq().ctx, hall.id, values["remote_service"], values["remote_phone"], hq().track_base()
        )
    except HallError as e:
        return _form(hall, e.status, _message(e), **values)
    hq().after_commit(events)
    row = issued.ticket
    t = strings(AREA)
    return render_page(
        "book_remote.html", AREA, status=201, title=t["remote_title"], hall=hall, number=row.number,
        code=row.remote_code, qr=_qr_svg(row.remote_code or ""), track_url=hq().track_url(issued.token),
        by=hall.local(row.check_in_by).strftime("%H:%M") if row.check_in_by else "",
        service=_name(hall, row.service_id),
    )  # fmt: skip


# -- /admin/appointments: the day's bookings per service and slot, check-ins, misses, blocks ------------


@booking.get("/admin/appointments")
@manager_page
def admin_appointments(p: Principal) -> Any:
    """Supervisors and admins: the day's appointments by service and slot, and the people blocked (lift with
    a reason). Server-rendered; lifting posts a plain form (CSRF), so it works without JavaScript."""
    hall = managed_hall(p)
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = _local_day(hall)
    rows = appointments.day_list(hq().ctx, hall.id, day)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_service.setdefault(row["service"], []).append(row)
    checked_in = sum(r["status"] in ("checked_in", "served") for r in rows)
    csrf_token()
    t = strings(AREA, "admin")
    return render_page(
        "admin_appointments.html", "admin", AREA, title=t["adm_title"], hall=hall, day=day.isoformat(),
        by_service=by_service, service_name=lambda sid: _name(hall, sid), blocks=appointments.blocks(hq().ctx, hall.id),
        totals={"booked": len(rows), "checked_in": checked_in,
                "missed": sum(r["status"] == "missed" for r in rows),
                "cancelled": sum(r["status"] == "cancelled" for r in rows)},
        notice=request.args.get("lifted"),
    )  # fmt: skip


@booking.post("/admin/appointments/blocks/<block_id>/lift")
@manager_page
def admin_lift(p: Principal, block_id: str) -> Any:
    hall_id = managed_hall(p).id
    _check_csrf()
    appointments.lift_block(hq().ctx, block_id, p.name, request.form.get("reason", "")[:200], hall_id)
    return redirect(f"/admin/appointments?hall={hall_id}&lifted=1", code=303)


# -- the counter's 电话预约: book on the staff share, and today's appointments of its services ------------


@booking.route("/counter/<counter_id>/appointments", methods=["GET", "POST"])
def counter_appointments(counter_id: str) -> Any:
    from server.api.guard import session_person
    from server.auth import may_work_counter

    p = session_person()  # a live login session (it ends at logout, a new password, disabling, idleness)
    if p is None:
        return redirect(f"/login?next=/counter/{counter_id}/appointments")
    found = hq().ctx.config.find_counter(counter_id)
    t = strings(AREA)
    if found is None:
        return page(t["desk_title"], t["book_unknown"], AREA, status=404)
    hall, counter = found
    if not may_work_counter(p, hall.id, counter_id):
        return page(t["desk_title"], t["book_unknown"], AREA, status=403)
    services = [s for s in hall.services if s.booking is not None and s.id in counter.services]
    error, done, status = None, None, 200
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "")[:200] for k in ("service", "day", "start", "name", "phone", "id_number")}
        try:
            _check_csrf()
            answer, _ = appointments.book(
                hq().ctx, hall.id, values["service"], values["start"], values["name"], values["phone"],
                values["id_number"], hq().track_base(), staff=p.name, channel="phone",
            )  # fmt: skip
            done = t["desk_booked"].format(code=answer["code"], when=answer["start"][:16].replace("T", " "))
            values = {}
        except HallError as e:
            error, status = _message(e), e.status
    chosen = values.get("service") or request.args.get("service") or (services[0].id if services else "")
    service = next((s for s in services if s.id == chosen), None)
    day = values.get("day") or request.args.get("day", "")
    slots: list[dict[str, Any]] = []
    days: list[str] = []
    if service is not None:
        today = _local_day(hall)
        found_slots = appointments.slots(hq().ctx, hall.id, service.id, today, today + timedelta(days=30), staff=True)
        days = sorted({s["start"][:10] for s in found_slots})
        if day not in days:
            day = days[0] if days else ""
        slots = [{**s, "time": s["start"][11:16]} for s in found_slots if s["start"].startswith(day)]
    today_list = appointments.day_list(hq().ctx, hall.id, _local_day(hall), set(counter.services))
    csrf_token()
    return render_page(
        "counter_appointments.html", AREA, status=status, title=t["desk_title"], hall=hall, counter=counter,
        services=services, service=service, days=days, day=day, slots=slots, values=values, error=error, done=done,
        today=today_list, service_name=lambda sid: _name(hall, sid),
    )  # fmt: skip
