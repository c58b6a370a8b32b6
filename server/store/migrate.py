"""Alembic, driven from code: `upgrade()` brings any database to the current schema.

A server starting on a database that is already current (every start but the first after an upgrade)
learns so from one query and the migration files' own `revision` lines, without importing Alembic
and loading every script: that is most of a second of start-up on a small machine. An empty database
(a new hall, the demo's first start) gets the models' schema in one transaction and the head revision
stamped as Alembic would: the same schema as every migration in turn (a test compares the two), in a
tenth of the time.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_LINE = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)\s*$', re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration, read from the files: the one revision no other names as its parent.

    None when the files do not make one simple chain (a merge, a branch, a form this reader does not
    know): the caller then asks Alembic, which knows every form.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in _LINE.finditer(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue  # __init__.py
        if found["revision"] is None or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration (False when unsure: Alembic then decides)."""
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))] == [head]


def create_fresh(engine: Engine) -> bool:
    """On a database without a single table: create the schema from the models and stamp the head
    revision, in one transaction. False (nothing done) when the database has any table or the head is
    not known from the files; Alembic then decides."""
    from .models import Base

    head = head_revision()
    if head is None:
        return False
    # Alembic's own version table, as `alembic stamp` creates it.
    version = Table(
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    with engine.begin() as conn:
        if inspect(conn).get_table_names():
            return False
        Base.metadata.create_all(conn)
        version.create(conn)
        conn.execute(version.insert().values(version_num=head))
    return True


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "server.store:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision` (idempotent)."""
    if revision == "head" and (is_current(engine) or create_fresh(engine)):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
