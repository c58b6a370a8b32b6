"""Scheduled jobs (APScheduler): what the hall does on its own, on a clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler


def start_jobs(hallq: Any) -> BackgroundScheduler:
    """Start the jobs of one server process; the caller shuts the scheduler down on exit."""
    # Coalesce and allow late runs: a process busy for a while runs a missed job once, not a burst of them.
    scheduler = BackgroundScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    scheduler.add_job(
        hallq.printing.poll,
        "interval",
        seconds=hallq.ctx.config.settings.printer_poll_s,
        id="printer-status",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
