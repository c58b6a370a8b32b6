"""SQL expressions the two databases spell differently, each defined once for both.

`seconds_between(start, end)`: whole seconds from `start` to `end`, never negative, NULL when `start` is
NULL: exactly `engine.timing._seconds` (max(0, int(total seconds))), so a total the database adds up in a
statement equals the one the ledger's Clock folds in Python. PostgreSQL computes it from the interval;
SQLite (which keeps times as text) through `hq_seconds`, a function each connection registers
(store/db.py) that runs the same Python.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[int]):  # noqa: N801 - reads as the SQL function it renders
    type = Integer()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(GREATEST(0, FLOOR(EXTRACT(EPOCH FROM ({end} - {start})))) AS INTEGER)"


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"hq_seconds({start}, {end})"


def sqlite_seconds(start: str | None, end: str | None) -> int | None:
    """`hq_seconds` for SQLite: the stored text of two naive UTC times (SQLAlchemy's DateTime format)."""
    if start is None or end is None:
        return None
    return max(0, int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()))
