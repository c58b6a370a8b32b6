"""Database backups (HALL_RULES 14: 业务数据要时时备份) and restoring one.

SQLite is copied with its online backup API (consistent while the server writes); PostgreSQL with
pg_dump/pg_restore in their custom format, when they are on PATH.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from server.engine.errors import HallError

PREFIX = "hallq-"


def folder(data_dir: Path) -> Path:
    return data_dir / "backups"


def backup(database_url: str, target_dir: Path, now: datetime) -> Path:
    """Write one backup file into `target_dir` and return its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = target_dir / f"{PREFIX}{stamp}.db"
        src = sqlite3.connect(url.database or "")
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        return path
    path = target_dir / f"{PREFIX}{stamp}.dump"
    dsn, schema = _libpq(database_url)
    args = [_tool("pg_dump"), "--format=custom", f"--file={path}", *([f"--schema={schema}"] if schema else []), dsn]
    _run(args)
    return path


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup (stop the servers first)."""
    if not source.is_file():
        raise HallError("not_found", 404, f"no backup file at {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(url.database or "")
        try:
            src.execute("PRAGMA schema_version")  # fails early on a file that is not a database
            with dst:
                src.backup(dst)
        except sqlite3.DatabaseError as e:
            raise HallError("bad_backup", 422, f"not a SQLite backup: {e}") from None
        finally:
            dst.close()
            src.close()
        return
    dsn, _ = _libpq(database_url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", f"--dbname={dsn}", str(source)])


def prune(target_dir: Path, keep_days: int, now: datetime) -> list[Path]:
    """Delete backups older than `keep_days`; returns what was deleted."""
    if not target_dir.is_dir():
        return []
    cutoff = now - timedelta(days=keep_days)
    gone = []
    for path in sorted(target_dir.glob(f"{PREFIX}*")):
        try:
            taken = datetime.strptime(path.stem[len(PREFIX) :], "%Y%m%d-%H%M%S").replace(tzinfo=now.tzinfo)
        except ValueError:
            continue  # not one of ours
        if taken < cutoff:
            path.unlink()
            gone.append(path)
    return gone


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise HallError("backup_unavailable", 409, f"{name} is not on PATH: install the PostgreSQL client tools")
    return found


def _libpq(database_url: str) -> tuple[str, str | None]:
    """A libpq connection string for pg_dump, and the schema named by a search_path option, if any."""
    url = make_url(database_url)
    raw = url.query.get("options", "")
    options = " ".join(raw) if isinstance(raw, tuple) else str(raw)
    schema = None
    if "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0].split(",")[0]
    plain = url.set(drivername="postgresql").set(query={})
    return plain.render_as_string(hide_password=False), schema


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    if done.returncode != 0:
        raise HallError("backup_failed", 500, (done.stderr or done.stdout).strip().splitlines()[-1][:300])
