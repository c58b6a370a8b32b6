"""Leases for scheduled jobs: with several server processes, each occurrence of a job runs once.

A job is a row; a process takes it with one guarded UPDATE … RETURNING (the lease has expired and the
occurrence asked for is not the one last finished), runs it, then records the occurrence as done.
A process that dies mid-run leaves a lease that expires, and another process runs the job again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite

from .db import Database
from .models import JobLeaseRow

NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def acquire(db: Database, name: str, key: str, holder: str, now: datetime, ttl_s: int) -> bool:
    """Take the lease of `name` for occurrence `key`; False when it is held or `key` is done already."""
    with db.write() as s:
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        s.execute(dialect.insert(JobLeaseRow).values(name=name, until=NEVER).on_conflict_do_nothing())
        taken = s.execute(
            update(JobLeaseRow)
            .where(
                JobLeaseRow.name == name,
                JobLeaseRow.until < now,
                or_(JobLeaseRow.done_key.is_(None), JobLeaseRow.done_key != key),
            )
            .values(holder=holder, until=now + timedelta(seconds=ttl_s))
            .returning(JobLeaseRow.name)
            .execution_options(synchronize_session=False)
        ).first()
    return taken is not None


def finish(db: Database, name: str, key: str, holder: str, now: datetime) -> None:
    """Record `key` as done and free the lease."""
    with db.write() as s:
        s.execute(
            update(JobLeaseRow)
            .where(JobLeaseRow.name == name, JobLeaseRow.holder == holder)
            .values(done_key=key, done_at=now, until=now, holder=None)
            .execution_options(synchronize_session=False)
        )


def release(db: Database, name: str, holder: str, now: datetime) -> None:
    """Free the lease without marking the occurrence done (it failed: the next tick tries again)."""
    with db.write() as s:
        s.execute(
            update(JobLeaseRow)
            .where(JobLeaseRow.name == name, JobLeaseRow.holder == holder)
            .values(until=now, holder=None)
            .execution_options(synchronize_session=False)
        )


def hold(db: Database, name: str, holder: str, now: datetime, ttl_s: int) -> bool:
    """Take or renew a standing lease (a task that runs in one process at a time, such as the outbox's
    sender): True while `holder` has it, until now + `ttl_s`; a holder that stops renewing loses it then."""
    with db.write() as s:
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        s.execute(dialect.insert(JobLeaseRow).values(name=name, until=NEVER).on_conflict_do_nothing())
        taken = s.execute(
            update(JobLeaseRow)
            .where(JobLeaseRow.name == name, or_(JobLeaseRow.until < now, JobLeaseRow.holder == holder))
            .values(holder=holder, until=now + timedelta(seconds=ttl_s))
            .returning(JobLeaseRow.name)
            .execution_options(synchronize_session=False)
        ).first()
    return taken is not None
