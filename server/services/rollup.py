"""Day totals: the additive raw figures of one hall-local day, kept in its stored summary (the rollup).

A period's figures are the merge of its days' totals: closed days read theirs from the daily summary
written at closing (their tickets no longer change), other days are computed from their tickets. Waits
are kept as a histogram to the second, so percentiles over a month or a year stay exact. Ratings and
complaints can still change after a day closes (a resident rates in the evening), so they are not rolled
up: reports read them live.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.engine import figures
from server.engine.figures import Move, TicketFacts
from server.engine.model import Hall, ServiceKind

from .periods import deadline_of

VERSION = 2  # bump when the shape changes: older stored totals are then recomputed from tickets
STATUS_COLUMN = {"done": "served", "no_show": "no_show", "closed_out": "closed_out", "waiting": "waiting"}
OUTCOMES = figures.OUTCOMES  # a served (done) ticket's outcome: 办结 is `completed` only


def day_totals(hall: Hall, tickets: list[Any], moves: list[Move], items: int) -> dict[str, Any]:
    """The totals of one day's tickets (and the transfers made that day)."""
    deadline = deadline_of(hall)
    hour = _local_hour(hall)
    promised = {s.id: s.time_limit_days for s in hall.services if s.kind is ServiceKind.PROMISED}
    t: dict[str, Any] = {
        "version": VERSION,
        "issued": len(tickets),
        **dict.fromkeys(("served", "no_show", "closed_out", "waiting", "priority", "on_behalf"), 0),
        **dict.fromkeys(("called", "wait_sum", "service_sum", "notices"), 0),
        **dict.fromkeys(OUTCOMES, 0),
        "items": items,
        "waits": defaultdict(int),
        "by_counter": defaultdict(
            lambda: dict.fromkeys(("served", "service_sum", "on_behalf", "no_show", *OUTCOMES), 0)
        ),
        "by_hour": defaultdict(lambda: dict.fromkeys(("issued", "served", "called", "wait_sum", "max_wait"), 0)),
        "promised": {"received": 0, "on_time": 0},
        "first_ask": {"received": 0, "accepted": 0, "completed": 0},
        "late": [],
    }
    svc_waits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for x in tickets:
        column = STATUS_COLUMN.get(x.status)
        if column:
            t[column] += 1
        t["priority"] += bool(x.priority)
        t["by_hour"][str(hour(x.issued_at))]["issued"] += 1
        if x.called_at is not None:
            t["called"] += 1
            t["wait_sum"] += x.wait_s
            t["waits"][str(x.wait_s)] += 1
            h = t["by_hour"][str(hour(x.called_at))]
            h["called"] += 1
            h["wait_sum"] += x.wait_s
            h["max_wait"] = max(h["max_wait"], x.wait_s)
            svc_waits[x.service_id][0] += 1
            svc_waits[x.service_id][1] += x.wait_s
        if x.status == "done":
            if x.outcome in OUTCOMES:
                t[x.outcome] += 1
            t["service_sum"] += x.service_s
            t["on_behalf"] += bool(x.on_behalf_of)
            if x.finished_at is not None:
                t["by_hour"][str(hour(x.finished_at))]["served"] += 1
        if x.served_by and x.status in ("done", "no_show"):
            c = t["by_counter"][x.served_by]
            if x.status == "done":
                c["served"] += 1
                if x.outcome in OUTCOMES:
                    c[x.outcome] += 1
                c["service_sum"] += x.service_s
                c["on_behalf"] += bool(x.on_behalf_of)
            else:
                c["no_show"] += 1
        if x.outcome == "incomplete":
            t["notices"] += 1
        if x.service_id in promised and x.called_at is not None and x.status != "no_show":
            t["promised"]["received"] += 1
            due = deadline(x.issued_at, promised[x.service_id])
            if x.status == "done" and x.finished_at is not None:
                if x.outcome == "completed" and x.finished_at <= due:
                    t["promised"]["on_time"] += 1
                if x.finished_at > due and x.served_by:
                    t["late"].append([x.served_by, x.id])
        if x.owner_counter is not None and x.status != "no_show":  # 首问负责
            t["first_ask"]["received"] += 1
            t["first_ask"]["accepted"] += x.status != "closed_out"
            t["first_ask"]["completed"] += x.status == "done" and x.outcome == "completed"
    rows = figures.by_service(
        [TicketFacts(x.issued_service, x.service_id, x.status, x.outcome) for x in tickets], moves
    )
    t["by_service"] = {
        str(r["service"]): {
            **{k: v for k, v in r.items() if k != "service"},
            "called": svc_waits[str(r["service"])][0],
            "wait_sum": svc_waits[str(r["service"])][1],
        }
        for r in rows
    }
    plain: dict[str, Any] = _plain(t)
    return plain


def merge(days: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The totals of several days: counts add up, histograms add up, maxima stay maxima, lists join."""
    out: dict[str, Any] = {}
    for day in days:
        _add(out, day)
    return out


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key == "version":
            into[key] = value
        elif isinstance(value, dict):
            _add(into.setdefault(key, {}), value)
        elif isinstance(value, list):
            into.setdefault(key, []).extend(value)
        elif key.startswith("max_"):
            into[key] = max(into.get(key, 0), value)
        else:
            into[key] = into.get(key, 0) + value


def public(totals: dict[str, Any]) -> dict[str, Any]:
    """The report's figures (docs/api.md, Report figures) from merged totals."""
    waits = sorted((int(w), n) for w, n in totals.get("waits", {}).items())
    called = totals.get("called", 0)
    served = totals.get("served", 0)
    by_service = [
        {
            "service": sid,
            **{k: row.get(k, 0) for k in ("issued", "transferred_in", "transferred_out", "served", "no_show")},
            "closed_out": row.get("closed_out", 0),
            "in_hall": row.get("in_hall", 0),
            "cancelled": row.get("cancelled", 0),
            "avg_wait_s": _avg(row.get("wait_sum", 0), row.get("called", 0)),
            **{k: row.get(k, 0) for k in OUTCOMES},
        }
        for sid, row in sorted(totals.get("by_service", {}).items())
    ]
    by_hour = [
        {
            "hour": int(h),
            "issued": row.get("issued", 0),
            "served": row.get("served", 0),
            "avg_wait_s": _avg(row.get("wait_sum", 0), row.get("called", 0)),
            "max_wait_s": row.get("max_wait", 0),
        }
        for h, row in sorted(totals.get("by_hour", {}).items(), key=lambda kv: int(kv[0]))
    ]
    promised = totals.get("promised", {"received": 0, "on_time": 0})
    ask = totals.get("first_ask", {"received": 0, "accepted": 0, "completed": 0})
    return {
        "issued": totals.get("issued", 0),
        "served": served,
        **{k: totals.get(k, 0) for k in OUTCOMES},
        "no_show": totals.get("no_show", 0),
        "closed_out": totals.get("closed_out", 0),
        "waiting": totals.get("waiting", 0),
        "priority": totals.get("priority", 0),
        "avg_wait_s": _avg(totals.get("wait_sum", 0), called),
        "p50_wait_s": _percentile(waits, called, 50),
        "p90_wait_s": _percentile(waits, called, 90),
        "max_wait_s": waits[-1][0] if waits else 0,
        "avg_service_s": _avg(totals.get("service_sum", 0), served),
        "by_service": by_service,
        "by_hour": by_hour,
        "on_behalf": totals.get("on_behalf", 0),
        "promised": {**promised, "rate": figures.share(promised["on_time"], promised["received"])},
        "first_ask": {
            **ask,
            "acceptance_rate": figures.share(ask["accepted"], ask["received"]),
            "completion_rate": figures.share(ask["completed"], ask["received"]),
        },
    }


def _avg(total: int, count: int) -> int:
    return round(total / count) if count else 0


def _percentile(histogram: list[tuple[int, int]], count: int, p: float) -> int:
    """Nearest rank over a sorted histogram, the same figure as `figures.percentile` over the values."""
    if not count:
        return 0
    rank = max(1, math.ceil(p / 100 * count))
    seen = 0
    for value, n in histogram:
        seen += n
        if seen >= rank:
            return value
    return histogram[-1][0]


def _local_hour(hall: Hall) -> Any:
    """The hall-local hour of a UTC instant, remembered per quarter hour (every zone's offset is a whole
    number of quarter hours, so all instants of one UTC quarter share a local hour)."""
    known: dict[int, int] = {}

    def hour(moment: datetime) -> int:
        key = int(moment.timestamp()) // 900
        if key not in known:
            known[key] = hall.local(moment).hour
        return known[key]

    return hour


def _plain(value: Any) -> Any:
    """defaultdicts to plain dicts, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
