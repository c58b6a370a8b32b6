"""Scheduled jobs (APScheduler): what the hall does on its own, on its own clock.

Every server process runs the same scheduler; a lease row per job (server/store/leases.py) makes each
occurrence run in one process only. One `tick` every `[jobs] tick_s` looks at each hall in its own time
zone and runs what is due: closing the day (tickets left are closed out, the daily summary stored), the
weekly check and the monthly report for the period just ended, the alerts scan, and the daily backup.
Due work is found from the database, not remembered, so a process that was down catches up once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from server.engine.figures import OPEN_STATUSES
from server.engine.model import Hall
from server.services import alerts, appointments, backups, closing, halls, ledger, periods, reports
from server.store import leases
from server.store.models import PeriodReportRow, TicketRow

log = logging.getLogger("hallq.jobs")
LEASE_S = 600  # a job still running after this is taken to have died with its process


def start_jobs(hallq: Any) -> BackgroundScheduler:
    """Start the jobs of one server process; the caller shuts the scheduler down on exit."""
    # coalesce: a process busy for a while runs a missed tick once, not a burst of them; the grace time
    # lets a late tick still run (the work it finds due does not depend on when it runs).
    settings = hallq.ctx.config.settings
    scheduler = BackgroundScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    scheduler.add_job(
        hallq.printing.poll,
        "interval",
        seconds=settings.printer_poll_s,
        id="printer-status",
        next_run_time=datetime.now(UTC),
    )
    if settings.jobs.enabled:
        runner = Runner(hallq)
        scheduler.add_job(
            runner.tick,
            "interval",
            seconds=settings.jobs.tick_s,
            id="hall-jobs",
            next_run_time=datetime.now(UTC) + timedelta(seconds=min(settings.jobs.tick_s, 5)),
            misfire_grace_time=settings.jobs.tick_s * 4,
        )
    scheduler.start()
    return scheduler


class Runner:
    """The hall jobs of one process."""

    def __init__(self, hallq: Any) -> None:
        self.hallq = hallq
        self.ctx = hallq.ctx
        self.holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.open_services: dict[str, frozenset[str]] = {}  # per hall, as last announced to kiosks

    def tick(self) -> None:
        for hall in self.ctx.config.halls:
            try:
                self.hall_jobs(hall)
            except Exception:  # noqa: BLE001 - one hall's failure must not stop the others' jobs
                log.exception("scheduled jobs failed for hall %s", hall.id)
        try:
            self.backup()
        except Exception:  # noqa: BLE001
            log.exception("scheduled backup failed")

    def once(self, name: str, key: str, job: Callable[[], Any], record: bool = True) -> bool:
        """Run `job` for occurrence `key` unless another process has it or has done it."""
        now = self.ctx.clock.now()
        if not leases.acquire(self.ctx.db, name, key, self.holder, now, LEASE_S):
            return False
        try:
            job()
        except BaseException:
            leases.release(self.ctx.db, name, self.holder, self.ctx.clock.now())
            raise
        if record:  # the ledger shows every job run, and which process ran it
            with self.ctx.db.write() as s:
                hall = name.split(":", 1)[1] if ":" in name else "-"
                ledger.append(s, hall, "job", self.ctx.clock.now(), job=name, key=key, holder=self.holder)
        leases.finish(self.ctx.db, name, key, self.holder, self.ctx.clock.now())
        return True

    def hall_jobs(self, hall: Hall) -> None:
        now = self.ctx.clock.now()
        for day in due_days(self.ctx, hall, now):
            self.once(f"close-day:{hall.id}", day.isoformat(), partial(self.close, hall, day))
        today = hall.local(now).date()
        first, _, week = periods.week_of(today - timedelta(days=7))
        if not _stored(self.ctx, hall, "weekly", week):
            self.once(f"weekly:{hall.id}", week, lambda: self.store(hall, "weekly", week, first))
        month_end = today.replace(day=1) - timedelta(days=1)
        month = month_end.isoformat()[:7]
        if not _stored(self.ctx, hall, "monthly", month):
            self.once(f"monthly:{hall.id}", month, lambda: self.store(hall, "monthly", month, month_end))
        bucket = str(int(now.timestamp()) // self.ctx.config.settings.jobs.tick_s)
        self.once(f"alerts:{hall.id}", bucket, lambda: self.scan(hall), record=False)
        if hall.remote_tickets or any(s.booking is not None for s in hall.services):
            self.once(f"appointments:{hall.id}", bucket, lambda: self.appointment_jobs(hall), record=False)

    def appointment_jobs(self, hall: Hall) -> None:
        """PROTOCOL v1.2: missed appointments (and the no-show rule), expired remote tickets, the day-before
        reminders, the near-front notices, and the purge of personal data past the hall's retention."""
        missed = appointments.mark_missed(self.ctx, hall.id)
        expired = appointments.expire_remote(self.ctx, hall.id)
        self.hallq.publisher.publish(expired)
        reminded = appointments.remind(self.ctx, hall.id)
        near = appointments.near_front(self.ctx, hall.id)
        purged = appointments.purge(self.ctx, hall.id)
        if missed or expired or reminded or near or purged:
            log.info(
                "%s: %d missed, %d expired, %d reminded, %d near the front, %d purged",
                hall.id, missed, len(expired), reminded, near, purged,
            )  # fmt: skip

    def close(self, hall: Hall, day: date) -> None:
        result, events = closing.close_day(self.ctx, hall.id, day, who="scheduler")
        self.hallq.publisher.publish(events)
        log.info("closed %s %s: %d ticket(s) closed out", hall.id, result.day, result.closed_out)

    def store(self, hall: Hall, kind: str, period: str, day: date) -> None:
        if kind == "weekly":
            body = reports.weekly(self.ctx, hall.id, day)
        else:
            first, last = periods.parse_month(period)
            body = reports.monthly(self.ctx, hall.id, first, last, self.ctx.config.settings.scores)
        with self.ctx.db.write() as s:
            closing.store_report(s, hall.id, kind, period, body, self.ctx.clock.now())

    def scan(self, hall: Hall) -> None:
        """Alerts raised or cleared go to /admin; services that opened or closed by their hours go to kiosks."""
        socketio = self.hallq.publisher.socketio
        for alert in alerts.scan(self.ctx, hall.id, self.hallq.printer_state):
            socketio.emit("alert", alert, namespace="/admin", to=f"hall:{hall.id}")
        now = self.ctx.clock.now()
        now_open = frozenset(s.id for s in hall.services if hall.is_open(s, now))
        if self.open_services.get(hall.id, now_open) != now_open:
            socketio.emit("services", halls.services(self.ctx, hall.id), namespace="/kiosk", to=f"hall:{hall.id}")
        self.open_services[hall.id] = now_open

    def backup(self) -> None:
        settings = self.ctx.config.settings
        if not settings.jobs.backup_keep_days or not self.ctx.config.halls:
            return
        hall = self.ctx.config.halls[0]
        local = hall.local(self.ctx.clock.now())
        if local.hour < settings.jobs.backup_hour:
            return
        target = backups.folder(settings.data_dir)

        def run() -> None:
            path = backups.backup(settings.database, target, self.ctx.clock.now())
            backups.prune(target, settings.jobs.backup_keep_days, self.ctx.clock.now())
            log.info("backup written: %s", path)

        self.once("backup", local.date().isoformat(), run, record=False)


def due_days(ctx: Any, hall: Hall, now: datetime) -> list[date]:
    """Days to close: any earlier day with tickets still open, yesterday and today once past closing (and
    a day `hallq close-day` closed before its closing time: its summary is made again, whole)."""
    today = hall.local(now).date()
    with ctx.db.read() as s:
        open_days = set(
            s.scalars(
                select(TicketRow.day)
                .where(
                    TicketRow.hall_id == hall.id,
                    TicketRow.status.in_(OPEN_STATUSES),
                    TicketRow.day <= today.isoformat(),
                )
                .distinct()
            )
        )
        candidates = {date.fromisoformat(d) for d in open_days} | {today - timedelta(days=1), today}
        rows = s.execute(
            select(PeriodReportRow.period, PeriodReportRow.made_at).where(
                PeriodReportRow.hall_id == hall.id,
                PeriodReportRow.kind == "daily",
                PeriodReportRow.period.in_([d.isoformat() for d in candidates]),
            )
        )
        stored = {period: made_at for period, made_at in rows}
    due = []
    for day in sorted(candidates):
        if now < periods.closing_time(hall, day):
            continue
        made_at = stored.get(day.isoformat())
        if day.isoformat() in open_days or made_at is None or not periods.summary_is_final(hall, day, made_at):
            due.append(day)
    return due


def _stored(ctx: Any, hall: Hall, kind: str, period: str) -> bool:
    with ctx.db.read() as s:
        return s.get(PeriodReportRow, (hall.id, kind, period)) is not None
