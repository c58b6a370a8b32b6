"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from support.databases import database

from server.store.db import Database
from server.store.models import Base


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrations_match_the_models(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        db = Database(url)
        db.migrate()
        db.migrate()  # a second start finds nothing to do
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        db.dispose()
    assert diff == []
    assert tables >= {"tickets", "ledger", "counters", "number_seqs", "api_tokens", "users", "ratings", "complaints"}
