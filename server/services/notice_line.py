"""The display's notice line (滚动公告), set from /admin and kept in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.store.models import HallSettingRow

from . import ledger
from .context import Context
from .views import iso

MAX_NOTICE = 200
NAME = "notice"


def current(ctx: Context, hall_id: str) -> dict[str, Any]:
    """{"text", "updated_at", "updated_by"}; an empty text when none was set."""
    hall = ctx.hall(hall_id)
    with ctx.db.read() as s:
        row = s.get(HallSettingRow, (hall.id, NAME))
    if row is None:
        return {"text": "", "updated_at": None}
    return {"text": row.value, "updated_at": iso(hall, row.updated_at)}


def set_notice(ctx: Context, hall_id: str, text: str, who: str | None) -> dict[str, Any]:
    """Replace the notice line; the ledger records who set it."""
    hall = ctx.hall(hall_id)
    now: datetime = ctx.clock.now()
    text = " ".join(text.split())  # one line on the display
    with ctx.db.write() as s:
        row = s.get(HallSettingRow, (hall.id, NAME))
        if row is None:
            row = HallSettingRow(hall_id=hall.id, name=NAME, value=text, updated_at=now, updated_by=who)
            s.add(row)
        row.value, row.updated_at, row.updated_by = text, now, who
        ledger.append(s, hall.id, "admin_notice", now, clerk=who, text=text)
    return {"text": text, "updated_at": iso(hall, now)}
