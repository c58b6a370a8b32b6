"""A server is ready quickly: nothing heavy it may never need is loaded, or computed, before it listens.

Measured in bench/startup.py; here the order is checked, not the time: after everything `hallq serve` does
before listening (eventlet, create_app, the scheduled jobs' first run), the printer stack (python-escpos,
Pillow, qrcode) is not loaded for a hall whose kiosks print nothing, and no password hash was computed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.env import ROOT
from support.server import HALL_TOML, clean_env, write_config

PROBE = """
import sys, time
import warnings
warnings.simplefilter("ignore")
import eventlet
eventlet.monkey_patch()
from server.app import create_app
from server.config import load_config
from server.jobs import start_jobs
import server.auth

app, socketio = create_app(load_config(sys.argv[1]))
jobs = start_jobs(app.extensions["hallq"])
eventlet.sleep(0.5)  # the jobs' first run (printer status) is due at once
jobs.shutdown(wait=True)
print(sorted(m for m in ("escpos", "PIL", "qrcode", "printers.drivers") if m in sys.modules))
print(server.auth._dummy_hash.cache_info().currsize)
"""


def _probe(config: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_a_hall_without_printers_starts_without_the_printer_stack(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", port=5998, hall_toml=HALL_TOML)
    assert 'printer = { kind = "none" }' in config.read_text(encoding="utf-8")
    assert _probe(config) == ["[]", "0"]


def test_a_hall_with_a_printer_loads_it_for_the_status_poll(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'h.db'}", port=5998, hall_toml=HALL_TOML)
    text = config.read_text(encoding="utf-8").replace(
        'printer = { kind = "none" }', 'printer = { kind = "network", host = "127.0.0.1", port = 9 }'
    )
    config.write_text(text, encoding="utf-8")
    loaded, hashes = _probe(config)
    assert "escpos" in loaded and "printers.drivers" in loaded, "the probe sees what a poll loads"
    assert hashes == "0"
