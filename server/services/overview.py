"""A city's halls at a glance (PROTOCOL v1.2 "A city's halls"): each hall live, grouped by region, the ones
that need attention first; and a region's monthly report (the halls' reports summed, windows ranked).

`overdue_matters` counts the hall's open matters (办件) past their due time (services/matters.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from server.engine import figures, rules
from server.engine.model import Hall
from server.store.models import ComplaintRow, CounterRow, RatingRow, TicketRow

from . import matters, queue, reports
from .context import Context


def hall_row(ctx: Context, hall: Hall) -> dict[str, Any]:
    """One hall's line: exactly the contract's fields."""
    now = ctx.clock.now()
    today = hall.local(now).date()
    since = now - timedelta(days=30)
    with ctx.db.read() as s:
        counts = queue.waiting_counts(s, hall)
        desks = queue.desks(s, hall)
        oldest = s.scalar(
            select(func.min(TicketRow.waiting_since)).where(TicketRow.hall_id == hall.id, TicketRow.status == "waiting")
        )
        open_counters = s.scalar(select(func.count()).where(CounterRow.hall_id == hall.id, CounterRow.state == "open"))
        served = s.scalar(
            select(func.count()).where(
                TicketRow.hall_id == hall.id, TicketRow.day == today.isoformat(), TicketRow.status == "done"
            )
        )
        levels: dict[int, int] = dict(
            s.execute(
                select(RatingRow.level, func.count())
                .where(RatingRow.hall_id == hall.id, RatingRow.at >= since)
                .group_by(RatingRow.level)
            ).all()
        )
        for (level, _counter), n in matters.result_ratings(s, hall, rated_since=since).items():  # 办件评价
            levels[level] = levels.get(level, 0) + n
        complaints = s.scalar(
            select(func.count()).where(ComplaintRow.hall_id == hall.id, ComplaintRow.status.in_(("open", "verified")))
        )
        overdue = matters.count_overdue(s, hall, now)
    rated = sum(levels.values())
    return {
        "hall": hall.id,
        "name": hall.name,
        "region": hall.region,
        "waiting": sum(counts.values()),
        "longest_wait_s": max(int((now - oldest).total_seconds()), 0) if oldest is not None else 0,
        "open_counters": int(open_counters or 0),
        "uncovered_counters": len(rules.uncovered_counters(list(desks.values()))),
        "served_today": int(served or 0),
        "satisfaction_rate_30d": figures.share(rated - levels.get(1, 0) - levels.get(2, 0), rated),
        "open_complaints": int(complaints or 0),
        "overdue_matters": overdue,
    }


def attention(row: dict[str, Any]) -> tuple[Any, ...]:
    """What needs attention first: uncovered windows, overdue matters, the longest wait, open complaints,
    people waiting with no window open."""
    idle = row["waiting"] > 0 and row["open_counters"] == 0
    return (
        -row["uncovered_counters"],
        -int(idle),
        -row["overdue_matters"],
        -row["longest_wait_s"],
        -row["open_complaints"],
        -row["waiting"],
        row["hall"],
    )


def overview(ctx: Context, halls: Iterable[Hall]) -> list[dict[str, Any]]:
    """Every hall's line, grouped by region (in name order, the halls without one last), each region's halls
    sorted by what needs attention."""
    rows = [hall_row(ctx, h) for h in halls]
    return sorted(rows, key=lambda r: (r["region"] == "", r["region"], attention(r)))


def regions(ctx: Context) -> dict[str, list[Hall]]:
    found: dict[str, list[Hall]] = {}
    for h in ctx.config.halls:
        if h.region:
            found.setdefault(h.region, []).append(h)
    return found


HEADLINE = ("issued", "served", "no_show", "closed_out")


def region_monthly(ctx: Context, region: str, first: date, last: date) -> dict[str, Any]:
    """A region's month: each hall's monthly report in a line and summed (counts; satisfaction over all the
    ratings; complaints), and every window of its halls ranked by its score."""
    halls = regions(ctx).get(region, [])
    lines: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    for h in halls:
        body = reports.monthly(ctx, h.id, first, last, ctx.config.settings.scores)
        levels = {int(k): int(v) for k, v in body["ratings"].items()}
        lines.append(
            {
                "hall": h.id,
                "name": h.name,
                **{k: int(body.get(k, 0)) for k in HEADLINE},
                "avg_wait_s": body.get("avg_wait_s"),
                "rated": sum(levels.values()),
                "satisfied": sum(n for level, n in levels.items() if level >= 3),
                "complaints_opened": int(body["complaints"]["opened"]),
                "complaints_overdue": int(body["complaints"]["overdue"]),
            }
        )
        windows += [
            {
                "hall": h.id,
                "counter": w["counter"],
                "served": w["served"],
                "score": w["score"],
                "grade": w["grade"],
                "deductions": len(w["deductions"]),
            }
            for w in body["windows"]
            if w["score"] is not None
        ]  # fmt: skip  (未参与考核: not ranked)
    windows.sort(key=lambda w: (-w["score"], -w["served"], w["hall"], w["counter"]))
    for rank, w in enumerate(windows, 1):
        w["rank"] = rank
    keys = (*HEADLINE, "rated", "satisfied", "complaints_opened", "complaints_overdue")
    totals: dict[str, Any] = {k: sum(line[k] for line in lines) for k in keys}
    totals["satisfaction_rate"] = figures.share(totals["satisfied"], totals["rated"])
    for line in lines:
        line["satisfaction_rate"] = figures.share(int(line["satisfied"]), int(line["rated"]))
    return {"region": region, "month": first.isoformat()[:7], "halls": lines, "totals": totals, "windows": windows}


def region_csv(report: dict[str, Any]) -> str:
    """The region's report as CSV (UTF-8 with a BOM): its halls and total, then its windows ranked."""
    out = io.StringIO()
    w = csv.writer(out)
    cols = ["hall", "name", *HEADLINE, "rated", "satisfaction_rate", "complaints_opened", "complaints_overdue"]
    w.writerow([f"{report['region']} {report['month']}"])
    w.writerow(cols)
    for line in report["halls"]:
        w.writerow([line.get(c) for c in cols])
    w.writerow(["total", "", *(report["totals"].get(c) for c in cols[2:])])
    w.writerow([])
    wcols = ["rank", "hall", "counter", "served", "score", "grade", "deductions"]
    w.writerow(wcols)
    for row in report["windows"]:
        w.writerow([row[c] for c in wcols])
    return "\ufeff" + out.getvalue()


def region_xlsx(report: dict[str, Any]) -> bytes:
    """The region's report as an XLSX workbook: a sheet of halls, a sheet of windows ranked."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "halls"
    cols = ["hall", "name", *HEADLINE, "rated", "satisfaction_rate", "complaints_opened", "complaints_overdue"]
    sheet.append(cols)
    for line in report["halls"]:
        sheet.append([line.get(c) for c in cols])
    sheet.append(["total", "", *(report["totals"].get(c) for c in cols[2:])])
    ranked = book.create_sheet("windows")
    wcols = ["rank", "hall", "counter", "served", "score", "grade", "deductions"]
    ranked.append(wcols)
    for row in report["windows"]:
        ranked.append([row[c] for c in wcols])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
