"""Scheduled jobs: two server processes on one database run each job exactly once; the CLI closes a day;
a backup restores the whole ledger; alerts reach the admin list."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from support.databases import database
from support.inproc import hall_app
from support.server import Server, free_port, hallq, write_config

ZONE = ZoneInfo("Asia/Shanghai")


def seed_yesterday(folder: Path, url: str) -> tuple[str, list[str]]:
    """Three tickets issued yesterday and never finished: one held at w1, two waiting."""
    yesterday = (datetime.now(ZONE) - timedelta(days=1)).date().isoformat()
    seed = folder / "seed"
    seed.mkdir()
    with hall_app(seed, f"{yesterday} 10:00", kind="url:" + url) as h:
        ids = [h.issue(s)["id"] for s in ("id-card", "id-card", "water")]
        h.act("w1", "open")
        h.act("w1", "call-next", f"{yesterday} 10:05")
    return yesterday, ids


def lines(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.mark.async_modes  # the scheduler, in eventlet and gevent
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_processes_run_each_job_exactly_once(kind: str, async_mode: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        yesterday, ids = seed_yesterday(tmp_path, url)
        servers: list[Server] = []
        try:
            for _ in range(2):
                port = free_port()
                folder = tmp_path / f"p{port}"
                folder.mkdir()
                jobs = f'async_mode = "{async_mode}"\n[jobs]\ntick_s = 1\nbackup_keep_days = 0\n'
                servers.append(Server(write_config(folder, url, port=port, extra_server=jobs), port, url))
                servers[-1].start()
            deadline = time.monotonic() + 90
            closed: list[tuple] = []
            while time.monotonic() < deadline:
                closed = lines(url, "SELECT ticket_id FROM ledger WHERE kind = 'closed_out' AND hall_id = 'town'")
                done = lines(url, "SELECT done_key FROM job_leases WHERE name IN ('monthly:town', 'weekly:town')")
                days = lines(url, "SELECT done_key FROM job_leases WHERE name IN ('close-day:town', 'close-day:east')")
                if len(closed) >= 3 and len([d for d in done if d[0]]) == 2 and [d for (d,) in days] == [yesterday] * 2:
                    break
                time.sleep(0.5)
            time.sleep(4)  # several more ticks of both processes
            runs = lines(url, "SELECT detail FROM ledger WHERE kind = 'job'")
        finally:
            for server in servers:
                server.stop()
    assert sorted(t for (t,) in closed) == sorted(ids)  # each ticket closed out once
    import json

    details = [json.loads(d) if isinstance(d, str) else d for (d,) in runs]
    counts = Counter((d["job"], d["key"]) for d in details)
    assert counts[("close-day:town", yesterday)] == 1
    assert counts[("close-day:east", yesterday)] == 1
    assert sum(1 for (job, _) in counts if job.startswith("weekly:town")) == 1
    assert sum(1 for (job, _) in counts if job.startswith("monthly:town")) == 1
    assert set(counts.values()) == {1}, counts


def test_close_day_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hallq.db'}"
    yesterday, _ = seed_yesterday(tmp_path, url)
    config = write_config(tmp_path, url, port=free_port())
    done = hallq("close-day", "--hall", "town", "--date", yesterday, "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"town {yesterday}: closed out 3 ticket(s)" in done.stdout
    again = hallq("close-day", "--hall", "town", "--date", yesterday, "--config", str(config))
    assert "closed out 0 ticket(s)" in again.stdout
    assert lines(url, "SELECT count(*) FROM ledger WHERE kind = 'closed_out'") == [(3,)]
    assert lines(url, "SELECT status FROM tickets WHERE status <> 'closed_out'") == []
    assert lines(url, "SELECT held_ticket FROM counters WHERE id = 'w1'") == [(None,)]
    bad = hallq("close-day", "--hall", "nowhere", "--config", str(config))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nowhere" in bad.stderr
    bad = hallq("close-day", "--hall", "town", "--date", "2026-02-30", "--config", str(config))
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_backup_restores_the_whole_ledger(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        seed_yesterday(tmp_path, url)
        config = write_config(tmp_path, url, port=free_port())
        before = lines(url, "SELECT id, kind, ticket_id FROM ledger ORDER BY id")
        made = hallq("backup", "--config", str(config))
        assert made.returncode == 0, made.stderr
        backup = Path(made.stdout.strip().splitlines()[-1])
        assert backup.is_file() and backup.parent == tmp_path / "backups"
        done = hallq("close-day", "--hall", "town", "--config", str(config), "--date", "2020-01-01")
        assert done.returncode == 0, done.stderr
        lines(url, "SELECT 1")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger"))
        engine.dispose()
        assert lines(url, "SELECT count(*) FROM ledger") == [(0,)]
        restored = hallq("restore", str(backup), "--config", str(config))
        assert restored.returncode == 0, restored.stderr
        assert lines(url, "SELECT id, kind, ticket_id FROM ledger ORDER BY id") == before
        missing = hallq("restore", str(tmp_path / "nope.db"), "--config", str(config))
        assert missing.returncode == 2 and "no backup file" in missing.stderr


def test_alerts_for_a_long_wait_and_a_queue_nobody_serves(tmp_path: Path) -> None:
    with hall_app(tmp_path, "2026-03-02 09:00") as h:
        h.issue("water")
        from server.services import alerts

        printer = h.app.extensions["hallq"].printer_state
        raised = alerts.scan(h.ctx, "town", printer)
        assert [a["kind"] for a in raised] == ["uncovered"]
        h.at("2026-03-02 09:31")
        raised = alerts.scan(h.ctx, "town", printer)
        assert [(a["kind"], a["detail"]["number"]) for a in raised] == [("long_wait", "C001")]
        listed = h.json("/api/v1/halls/town/alerts")
        assert [a["kind"] for a in listed] == ["uncovered", "long_wait"]
        h.act("w4", "open")
        cleared = alerts.scan(h.ctx, "town", printer)
        assert [a["kind"] for a in cleared] == ["uncovered"] and cleared[0]["cleared_at"]
        assert [a["kind"] for a in h.json("/api/v1/halls/town/alerts")] == ["long_wait"]
        assert h.get("/api/v1/halls/town/alerts", auth=False).status_code == 401


def test_alerts_reach_the_admin_namespace_live(tmp_path: Path) -> None:
    from support.sockets import Listener

    url = f"sqlite:///{tmp_path / 'hallq.db'}"
    port = free_port()
    config = write_config(tmp_path, url, port=port, extra_server="[jobs]\ntick_s = 1\nbackup_keep_days = 0\n")
    server = Server(config, port, url)
    try:
        server.start()
        admin = Listener(server.url, "/admin", "hall=town", auth={"token": server.admin_token()})
        try:
            server.issue("water")
            alert = admin.wait_for("alert", lambda a: a["kind"] == "uncovered", timeout=30)
            assert alert["detail"] == {"service": "water", "counters": ["w2", "w4"]} and alert["cleared_at"] is None
            listed = server.get("/api/v1/halls/town/alerts", server.admin_token()).json()
            assert [a["id"] for a in listed if a["kind"] == "uncovered"] == [alert["id"]]
            server.act("w4", "open")
            gone = admin.wait_for("alert", lambda a: a["id"] == alert["id"] and a["cleared_at"], timeout=30)
            assert gone["kind"] == "uncovered"
        finally:
            admin.close()
    finally:
        server.stop()
