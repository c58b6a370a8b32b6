"""Helpers shared by the scenarios: databases, contexts, percentiles and tables."""

from __future__ import annotations

import dataclasses
import math
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from server.config import Config
from server.services.context import Clock, Context
from server.services.halls import seed_counters
from server.store.db import Database

PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def pg_schema(prefix: str = "bench") -> Iterator[str]:
    """A URL whose connections use a new, empty schema in the test server; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database of this kind ("sqlite" or "postgres")."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
    else:
        with pg_schema() as url:
            yield url


def with_database(config: Config, url: str) -> Config:
    return dataclasses.replace(config, settings=dataclasses.replace(config.settings, database=url))


def make_context(config: Config, url: str, clock: Clock) -> Context:
    """A migrated database with every counter seeded (closed)."""
    config = with_database(config, url)
    ctx = Context(config, Database(url), clock)
    ctx.db.migrate()
    seed_counters(ctx)
    return ctx


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r, raw in zip(cells, rows, strict=True):
        out.append(
            "  ".join(
                c.rjust(w) if isinstance(v, int | float) else c.ljust(w) for c, w, v in zip(r, widths, raw, strict=True)
            )
        )
    return "\n".join(out)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)
