"""The hot path's statements come from SQLAlchemy's compiled cache, and there are few of them.

Issue, call-next and finish are run through the service layer on a real database; after a warm-up
round, every statement they send must be served from the compiled cache (a statement rebuilt per call
in a shape the cache cannot key would be compiled again), and each action stays within its budget of
statements (docs/storage.md).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats
from support.databases import database
from support.server import HALL_TOML

from server.auth import create_token
from server.clock import FrozenClock
from server.config import load_config
from server.services import counters, halls, tickets
from server.services.context import Context
from server.store.db import Database

# Statements each, as the driver's cursor sees them (SQLite's BEGIN IMMEDIATE included; PostgreSQL's BEGIN goes
# with the first statement and its COMMIT is sent by the dialect: test_pg_round_trips.py counts those too).
# call-next: lock (with the token's revocation), candidates, the claim, then on SQLite the counter's row and the
# ledger line (PostgreSQL: all in the claim's one statement); finish: lock (the held ticket read with it), then
# the ticket's and counter's rows and the ledger line (PostgreSQL: one). An issue: the number (with the ledger's
# head), the ticket (with the people ahead), its ledger line (PostgreSQL: in the ticket's statement); a kiosk's
# idempotency key adds its own row, written last.
BUDGET = {
    "sqlite": {"issue": 4, "issue with a key": 5, "call-next": 6, "finish": 5},
    "postgresql": {"issue": 2, "issue with a key": 3, "call-next": 3, "finish": 2},
}


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    with database(request.param, tmp_path) as url:
        db = Database(url)
        db.migrate()
        context = Context(
            load_config(HALL_TOML, data_dir=tmp_path), db, FrozenClock(datetime(2026, 3, 2, 1, tzinfo=UTC))
        )
        halls.seed_counters(context)
        try:
            yield context
        finally:
            db.dispose()


class Recorder:
    def __init__(self, db: Database) -> None:
        self.seen: list[tuple[str, Any]] = []
        event.listen(db.engine, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.seen.append((statement, context))

    def take(self) -> list[tuple[str, Any]]:
        seen, self.seen = self.seen, []
        return seen


def _refresh_forecast(ctx: Context) -> None:
    """What the server's publisher does after each change, off the request path."""
    with ctx.db.read() as s:
        ctx.boards.refresh(s, ctx.hall("town"), ctx.clock.now())


def new_key() -> str:
    return "tap-" + secrets.token_hex(8)


def test_hot_statements_are_cached_and_few(ctx: Context) -> None:
    ctx.boards.on_stale = lambda hall_id: None  # as in the server: a stale board is refreshed in the background
    recorder = Recorder(ctx.db)
    counters.open_counter(ctx, "w1", None)
    for _ in range(30):  # a queue with some depth, and the shared forecast worked out once
        tickets.issue_ticket(ctx, "town", "id-card")
    budget_of = BUDGET[ctx.db.engine.dialect.name]
    token = create_token(ctx, "counter", counter="w1").split(".")[0].removeprefix("hq_")
    counts: dict[str, list[int]] = {k: [] for k in budget_of}
    misses: Counter[str] = Counter()
    for round_ in range(4):
        for name, action in (
            ("issue", lambda: tickets.issue_ticket(ctx, "town", "id-card")),
            ("issue with a key", lambda: tickets.issue_ticket(ctx, "town", "id-card", request_key=new_key())),
            ("call-next", lambda: counters.call_next(ctx, "w1", None, token=token)),
            ("finish", lambda: counters.finish(ctx, "w1", None, "completed", None, None, token=token)),
        ):
            recorder.take()
            action()
            seen = recorder.take()
            counts[name].append(len(seen))
            _refresh_forecast(ctx)
            if round_ >= 2:  # warmed up
                for statement, context in seen:
                    compiled = getattr(context, "compiled", None)
                    if compiled is not None and context.cache_hit is not CacheStats.CACHE_HIT:
                        misses[f"{name}: {statement.split(chr(10))[0][:100]}"] += 1
    assert not misses, f"statements compiled again on a warm path: {dict(misses)}"
    for name, budget in budget_of.items():
        assert max(counts[name][2:]) <= budget, f"{name} sent {counts[name]} statements (budget {budget})"
