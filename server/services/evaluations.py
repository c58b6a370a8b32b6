"""The 好差评 push (PROTOCOL v1.2): every rating, as its profile's record, through the outbox to the provincial
platform; what was pushed, per day; the export of the records; 重推 of the failed ones."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from server.engine.calendar import day_bounds
from server.engine.evaluation import record as profile_record
from server.engine.model import Hall
from server.store.models import DeliveryRow, OutboxRow

from . import exports, ledger
from .context import Context
from .outbox import EVALUATION
from .views import iso


def facts(hall: Hall, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """What hallq knows of one rating (a rating.created event's data), by the names profiles take."""
    push = hall.evaluation_push
    service = hall.service(str(data.get("service")))
    accepted = data.get("matter_accepted_at") or data.get("issued_at")
    due = data.get("matter_due_at")
    return {
        "project_no": data.get("matter_number") or data.get("ticket"),
        "task_code": service.task_code if service else None,
        "task_name": service.name if service else data.get("service"),
        "channel": data.get("channel", "resident_page"),
        "level": data.get("level"),
        "assessed_at": at,
        "assess_number": data.get("assess_number", 1),
        "tags": list(data.get("tags") or []),
        "comment": data.get("comment") or "",
        "clerk": data.get("matter_owner") or data.get("clerk") or "",  # a matter's 代理责任人 before the clerk
        "service_kind": service.kind.value if service else "immediate",
        "accepted_at": datetime.fromisoformat(accepted) if isinstance(accepted, str) else None,
        "due_at": datetime.fromisoformat(due) if isinstance(due, str) else None,
        "area_code": push.area_code if push else None,
        "dept_code": push.dept_code if push else None,
        "data_source": push.data_source if push else None,
    }


def record(hall: Hall, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The platform's record of a rating, in the hall's profile's fields."""
    assert hall.evaluation_push is not None
    return profile_record(hall.evaluation_push.profile, facts(hall, data, at), hall.timezone)


def _rows(ctx: Context, hall: Hall, first: date, last: date) -> list[tuple[DeliveryRow, OutboxRow]]:
    start, _ = day_bounds(first, hall.timezone)
    _, end = day_bounds(last, hall.timezone)
    with ctx.db.read() as s:
        return [
            (d, o)
            for d, o in s.execute(
                select(DeliveryRow, OutboxRow)
                .join(OutboxRow, OutboxRow.id == DeliveryRow.event_id)
                .where(
                    DeliveryRow.hall_id == hall.id,
                    DeliveryRow.target == EVALUATION,
                    DeliveryRow.created_at >= start,
                    DeliveryRow.created_at < end,
                )
                .order_by(DeliveryRow.id)
            )
        ]


def export(ctx: Context, hall_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Every rating pushed (or to push) between two hall-local days: its record and its push state."""
    hall = ctx.hall(hall_id)
    if hall.evaluation_push is None:
        return []
    return [
        {
            "delivery": d.id,
            "rating": o.data.get("rating"),
            "ticket": o.data.get("ticket"),
            "status": d.status,
            "tries": d.tries,
            "pushed_at": iso(hall, d.sent_at),
            "last_answer": d.last_answer,
            "record": record(hall, o.data, o.at),
        }
        for d, o in _rows(ctx, hall, first, last)
    ]


def export_csv(ctx: Context, hall_id: str, items: list[dict[str, Any]]) -> str:
    """The export as CSV (UTF-8 with a BOM, for Excel): the profile's fields, then the push state."""
    hall = ctx.hall(hall_id)
    names = [f.name for f in hall.evaluation_push.profile.fields] if hall.evaluation_push else []
    rows = [
        [*(item["record"].get(n) for n in names), item["status"], item["tries"], item["pushed_at"]] for item in items
    ]
    return exports.table_csv([*names, "status", "tries", "pushed_at"], rows)  # a resident's `=…` comment stays text


def summary(ctx: Context, hall_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """Pushed, pending and failed ratings per hall-local day (days with none left out)."""
    hall = ctx.hall(hall_id)
    days: dict[str, dict[str, Any]] = defaultdict(lambda: {"pushed": 0, "pending": 0, "failed": 0})
    for d, _ in _rows(ctx, hall, first, last):
        days[hall.day_of(d.created_at)]["pushed" if d.status == "sent" else d.status] += 1
    return [{"date": day, **counts} for day, counts in sorted(days.items())]


def resend_failed(ctx: Context, hall_id: str, user: str) -> int:
    """重推 every failed push of the hall; how many go again."""
    hall = ctx.hall(hall_id)
    with ctx.db.write() as s:
        now = ctx.clock.now()
        ids = list(
            s.scalars(
                select(DeliveryRow.id).where(
                    DeliveryRow.hall_id == hall.id, DeliveryRow.target == EVALUATION, DeliveryRow.status == "failed"
                )
            )
        )
        if ids:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids))
                .values(status="pending", next_at=now, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            ledger.insert(s, hall.id, "evaluations_resent", now, clerk=user, count=len(ids))
    return len(ids)


def default_range(ctx: Context, hall: Hall) -> tuple[date, date]:
    today = hall.local(ctx.clock.now()).date()
    return today - timedelta(days=29), today
