"""The ledger's figures as plain arithmetic: percentiles, the by-service balance, window scores.

Uncovered time (不得空岗) is `engine.cover.uncovered`.

Every function takes plain values (ledger facts, ticket summaries) and returns plain values, so a day
computed by hand can be checked against them without a database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Outcome

# Ticket statuses that are still in the hall (not yet an outcome).
OPEN_STATUSES = ("waiting", "called", "serving", "parked")


def percentile(values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def mean(values: Sequence[int]) -> int:
    """The rounded mean; 0 for no values."""
    return round(sum(values) / len(values)) if values else 0


def share(part: int, whole: int) -> float | None:
    """part / whole to 4 places, or None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


# -- by service: one definition per column ------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What the by-service table needs of one ticket."""

    issued_service: str  # the service its number was taken for
    service: str  # the service it is in now (or ended in)
    status: str
    outcome: str | None = None  # a served (done) ticket's outcome


# Outcomes of a served ticket, each its own column: 办结 is `completed` only (model.Outcome's values).
OUTCOMES = tuple(o.value for o in Outcome)


@dataclass(frozen=True)
class Move:
    """A transfer from one service's queue to another's (a transfer to a named counter keeps its service)."""

    from_service: str
    to_service: str


def by_service(tickets: Iterable[TicketFacts], moves: Iterable[Move]) -> list[dict[str, int | str]]:
    """Per service: issued + transferred_in = served + no_show + closed_out + cancelled + transferred_out + in_hall.

    issued counts numbers taken for the service; transferred_in/out count moves between services;
    served, no_show and closed_out count tickets by the service they ended in; in_hall those still
    waiting, called or being served there. Every row balances, and so do the totals. `served` splits
    further by outcome (`completed` + `incomplete` + `rejected` + `consulted` = `served`).
    """
    rows: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "issued",
                "transferred_in",
                "transferred_out",
                "served",
                "no_show",
                "closed_out",
                "in_hall",
                "cancelled",
                *OUTCOMES,
            ),
            0,
        )
    )
    for t in tickets:
        rows[t.issued_service]["issued"] += 1
        column = {"done": "served", "no_show": "no_show", "closed_out": "closed_out", "cancelled": "cancelled"}.get(
            t.status, "in_hall"
        )
        rows[t.service][column] += 1
        if column == "served" and t.outcome in OUTCOMES:
            rows[t.service][t.outcome] += 1
    for m in moves:
        if m.from_service != m.to_service:
            rows[m.from_service]["transferred_out"] += 1
            rows[m.to_service]["transferred_in"] += 1
    return [{"service": sid, **rows[sid]} for sid in sorted(rows)]


# -- window scores (考核) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRules:
    """Points off per lapse and the grade thresholds (HALL_RULES 12); defaults in docs/api.md."""

    uncovered_absence: int = 2
    overdue_matter: int = 2
    justified_complaint: int = 5
    excellent: int = 95
    passing: int = 90


@dataclass(frozen=True)
class Lapse:
    """One lapse of one window, with the ledger lines that show it."""

    counter: str
    kind: str  # uncovered_absence | overdue_matter | justified_complaint
    events: tuple[int, ...]


REASONS = {
    "uncovered_absence": "离岗无人顶岗 (away, queue uncovered)",
    "overdue_matter": "事项超时未办结 (matter not finished in time)",
    "justified_complaint": "有效投诉 (justified complaint)",
}


def grade(score: int, rules: ScoreRules) -> str:
    """95+ 优秀, 90–94 合格, else 不合格 (with the configured thresholds)."""
    if score >= rules.excellent:
        return "优秀"
    if score >= rules.passing:
        return "合格"
    return "不合格"


UNSCORED = "未参与考核"  # a window with no service in the period: no score, no grade


def window_scores(
    counters: Sequence[str],
    served: dict[str, int],
    lapses: Iterable[Lapse],
    rules: ScoreRules,
    handled: dict[str, int] | None = None,
) -> list[dict[str, object]]:
    """100 points per window, minus the points of each lapse; each deduction lists its ledger events.

    A window that served nobody, had no no-show and no lapse in the period (`handled`: tickets it
    finished or marked no-show; default `served`) took no part in it: `scored` false, `score` and
    `grade` null (未参与考核), not 100 优秀."""
    found: dict[str, list[Lapse]] = defaultdict(list)
    for lapse in lapses:
        found[lapse.counter].append(lapse)
    out: list[dict[str, object]] = []
    for cid in counters:
        mine = sorted(found.get(cid, []), key=lambda x: (x.events[:1], x.kind))
        points = [int(getattr(rules, lapse.kind)) for lapse in mine]
        deductions = [
            {"points": pts, "kind": lapse.kind, "reason": REASONS[lapse.kind], "events": list(lapse.events)}
            for pts, lapse in zip(points, mine, strict=True)
        ]
        took_part = bool(mine) or (handled if handled is not None else served).get(cid, 0) > 0
        score = max(0, 100 - sum(points)) if took_part else None
        out.append(
            {
                "counter": cid,
                "served": served.get(cid, 0),
                "score": score,
                "grade": grade(score, rules) if score is not None else None,
                "deductions": deductions,
                "scored": took_part,
            }
        )
    return out
