"""The service layer on a real database, without a server: what the statement-level tests drive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from server.clock import FrozenClock
from server.config import load_config
from server.services import halls
from server.services.context import Context
from server.store.db import Database
from support.databases import database
from support.server import HALL_TOML


@contextmanager
def service_context(
    kind: str, folder: Path, now: datetime, route: Callable[[str], str] = lambda url: url
) -> Iterator[Context]:
    """The test hall on a fresh database of `kind` ("sqlite" or "postgres"; `route` may send its URL through a
    proxy): migrated, counters seeded, the clock frozen at `now`, and no forecast refreshed in the background
    (as the server does after each change; these tests call the services one after another)."""
    with database(kind, folder) as url:
        db = Database(route(url))
        db.migrate()
        context = Context(load_config(HALL_TOML, data_dir=folder), db, FrozenClock(now))
        context.boards.on_stale = lambda hall_id: None
        halls.seed_counters(context)
        try:
            yield context
        finally:
            db.dispose()
