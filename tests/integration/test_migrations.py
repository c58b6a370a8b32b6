"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from support.databases import database

from server.store.db import Database
from server.store.models import Base


def schema(conn: Connection) -> dict[str, Any]:
    """Everything the inspector reports of each table: columns (type, nullability, default), keys,
    indexes, unique and check constraints."""
    found = inspect(conn)
    described: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        described[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                for c in found.get_columns(table)
            ],
            "pk": found.get_pk_constraint(table),
            "fks": sorted(map(repr, found.get_foreign_keys(table))),
            "indexes": sorted(map(_index, found.get_indexes(table))),
            "uniques": sorted(map(repr, found.get_unique_constraints(table))),
            "checks": sorted(map(repr, found.get_check_constraints(table))),
        }
    return described


def _index(index: Any) -> str:
    """An index as text; a partial index's WHERE clause by its SQL (the inspector gives a clause object)."""
    options = {k: str(v) for k, v in index.get("dialect_options", {}).items()}
    return repr({**index, "dialect_options": options})


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrations_match_the_models(kind: str, tmp_path: Path) -> None:
    from alembic import command

    from server.store.migrate import alembic_config

    with database(kind, tmp_path) as url:
        db = Database(url)
        command.upgrade(alembic_config(db.engine), "head")  # every migration in turn, no shortcut
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


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_empty_database_gets_the_same_schema_as_every_migration_gives(kind: str, tmp_path: Path) -> None:
    """The first start's shortcut (the models' schema, stamped at the head) builds exactly what running
    each migration builds, and a later migration then finds the version Alembic itself would leave."""
    from alembic import command

    from server.store.migrate import alembic_config, head_revision, is_current

    (tmp_path / "migrated").mkdir()
    (tmp_path / "fresh").mkdir()
    with database(kind, tmp_path / "migrated") as migrated_url, database(kind, tmp_path / "fresh") as fresh_url:
        migrated, fresh = Database(migrated_url), Database(fresh_url)
        try:
            command.upgrade(alembic_config(migrated.engine), "head")
            fresh.migrate()
            assert is_current(fresh.engine)
            with migrated.engine.connect() as a, fresh.engine.connect() as b:
                assert schema(b) == schema(a)
                assert "tickets" in schema(b)
                versions = "SELECT version_num FROM alembic_version"
                assert b.execute(text(versions)).all() == a.execute(text(versions)).all() == [(head_revision(),)]
            # Alembic reads the stamped database as current: nothing to upgrade, nothing to autogenerate.
            command.upgrade(alembic_config(fresh.engine), "head")
            with fresh.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        finally:
            migrated.dispose()
            fresh.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_id_numbers_an_earlier_version_stored_in_free_text_are_masked_by_the_upgrade(kind: str, tmp_path: Path) -> None:
    """Rows written before the columns masked ID numbers (a reason, a ledger line's detail, an alert's detail)
    are masked by the upgrade, in place, however the number was written; nothing else in them changes."""
    from alembic import command

    from server.store.migrate import alembic_config

    clear, spaced = "11010519491231002X", "110105 19491231 002X"
    with database(kind, tmp_path) as url:
        db = Database(url)
        try:
            config = alembic_config(db.engine)
            command.upgrade(config, "0021_lean_ticket_indexes")
            with db.engine.begin() as conn:  # as an earlier version wrote them: straight to the table
                conn.execute(
                    text(
                        "INSERT INTO counters (id, hall_id, state, priority_streak, away_reason) "
                        "VALUES ('w1', 'town', 'away', 0, :reason)"
                    ),  # fmt: skip
                    {"reason": f"办理人 {spaced} 的材料"},
                )
                conn.execute(
                    text("INSERT INTO ledger (hall_id, at, kind, detail) VALUES ('town', :at, 'finished', :detail)"),
                    {"at": "2026-12-01 02:00:00", "detail": f'{{"note": "身份证{clear}", "missing": ["ID {spaced}"]}}'},
                )
            command.upgrade(config, "head")
            with db.engine.connect() as conn:
                reason = conn.execute(text("SELECT away_reason FROM counters WHERE id = 'w1'")).scalar_one()
                detail = conn.execute(text("SELECT detail FROM ledger")).scalar_one()
        finally:
            db.dispose()
    assert reason == "办理人 110*** ******** 002X 的材料"
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail == {"note": "身份证110***********002X", "missing": ["ID 110*** ******** 002X"]}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_read_if_free_skips_rather_than_waits_for_sqlites_turn(tmp_path: Path, kind: str) -> None:
    """SQLite's transactions take turns in a process: a read that had better be skipped than wait gets None
    while another thread holds the turn, and a session once it is free; PostgreSQL has no turn to wait for."""
    import threading

    with database(kind, tmp_path) as url:
        db = Database(url)
        db.migrate()
        try:
            held, done = threading.Event(), threading.Event()

            def hold() -> None:
                with db.read():
                    held.set()
                    done.wait(10)

            other = threading.Thread(target=hold)
            other.start()
            held.wait(10)
            with db.read_if_free() as busy:
                got = busy.execute(text("SELECT 1")).scalar() if busy is not None else None
            done.set()
            other.join()
            assert got == (None if kind == "sqlite" else 1)
            with db.read_if_free() as free:
                assert free is not None and free.execute(text("SELECT 1")).scalar() == 1
        finally:
            db.dispose()
