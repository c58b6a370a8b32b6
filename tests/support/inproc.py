"""The real app in this process, on a frozen clock, driven over HTTP with Flask's test client.

For figures that depend on exact times (reports, scores, close-day): the clock moves only when the
test says so, and each step is written in the hall's local time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.auth import create_token
from server.clock import FrozenClock
from server.config import load_config
from support.databases import database
from support.server import HALL_TOML


@dataclass
class Hall:
    app: Flask
    client: FlaskClient
    clock: FrozenClock
    zone: ZoneInfo
    admin: dict[str, str]
    hall: str = "town"

    @property
    def ctx(self) -> Any:
        return self.app.extensions["hallq"].ctx

    def at(self, local: str) -> None:
        """Set the clock to a hall-local time, 'YYYY-MM-DD HH:MM[:SS]'."""
        self.clock.set(datetime.fromisoformat(local).replace(tzinfo=self.zone))

    def get(self, path: str, auth: bool = True) -> Any:
        return self.client.get(path, headers=self.admin if auth else {})

    def post(self, path: str, body: Any = None, auth: bool = True) -> Any:
        return self.client.post(path, json=body, headers=self.admin if auth else {})

    def issue(self, service: str, at: str | None = None) -> dict[str, Any]:
        if at:
            self.at(at)
        r = self.post(f"/api/v1/halls/{self.hall}/tickets", {"service": service}, auth=False)
        assert r.status_code == 201, r.get_json()
        return dict(r.get_json())

    def act(self, counter: str, action: str, at: str | None = None, body: Any = None) -> dict[str, Any]:
        if at:
            self.at(at)
        r = self.post(f"/api/v1/counters/{counter}/{action}", body if body is not None else {})
        assert r.status_code == 200, (action, r.get_json())
        return dict(r.get_json())

    def json(self, path: str) -> Any:
        r = self.get(path)
        assert r.status_code == 200, (path, r.get_json())
        return r.get_json()


@contextmanager
def hall_app(
    folder: Path, start: str, kind: str = "sqlite", toml: Path = HALL_TOML, zone: str = "Asia/Shanghai"
) -> Iterator[Hall]:
    """The app on a fresh database of `kind` ("url:<url>": that database), its clock frozen at hall-local `start`."""
    old = {k: os.environ.pop(k, None) for k in ("HALLQ_DATABASE_URL", "HALLQ_ASYNC_MODE")}
    os.environ["HALLQ_ASYNC_MODE"] = "threading"
    tz = ZoneInfo(zone)
    clock = FrozenClock(datetime.fromisoformat(start).replace(tzinfo=tz))
    try:
        with _database(kind, folder) as url:
            os.environ["HALLQ_DATABASE_URL"] = url
            app, _ = create_app(load_config(toml, data_dir=folder), clock=clock)
            # These tests read figures over HTTP; no Socket.IO client listens. Publishing runs in background
            # threads that would outlive the test's database, so it is switched off here.
            hallq = app.extensions["hallq"]
            hallq.publisher.publish = lambda events: None
            hallq.ctx.boards.on_stale = lambda hall_id: None
            try:
                token = create_token(app.extensions["hallq"].ctx, "admin", label="test-admin")
                yield Hall(app, app.test_client(), clock, tz, {"Authorization": f"Bearer {token}"})
            finally:
                app.extensions["hallq"].printing.stop()
                app.extensions["hallq"].ctx.db.dispose()
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind.startswith("url:"):
        yield kind[4:]
    else:
        with database(kind, folder) as url:
            yield url
