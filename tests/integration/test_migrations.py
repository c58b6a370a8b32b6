"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
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


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_current_database_is_known_without_alembic_and_an_old_one_is_upgraded(kind: str, tmp_path: Path) -> None:
    """The start-up shortcut (server/store/migrate.py) reads the same head as Alembic, and never skips
    a migration a database still lacks."""
    from alembic.script import ScriptDirectory

    from server.store.migrate import alembic_config, head_revision, is_current, upgrade

    with database(kind, tmp_path) as url:
        db = Database(url)
        try:
            assert head_revision() == ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
            assert not is_current(db.engine)  # an empty database
            upgrade(db.engine, "0001")
            assert not is_current(db.engine)  # one migration behind the others
            db.migrate()
            assert is_current(db.engine)
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
                assert "print_jobs" in inspect(conn).get_table_names()  # what 0001 alone lacks
        finally:
            db.dispose()
