"""What hallq writes in its data folder is the service user's alone: files 0600, folders 0700."""

from __future__ import annotations

import configparser
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from support.printing import kiosk_printer, kiosk_ticket, wait_until
from support.server import ROOT, Server, clean_env, hallq


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_backups_the_commands_make_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # a folder made by hand, readable by all: what hallq makes inside it is not
    made = hallq("token", "create", "--counter", "w1", "--data", str(data))
    assert made.returncode == 0, made.stderr
    assert _mode(data / "hallq.db") == 0o600
    backup = hallq("backup", "--data", str(data))
    assert backup.returncode == 0, backup.stderr
    path = Path(backup.stdout.strip().splitlines()[-1])
    assert path.is_file() and _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_a_servers_secret_key_and_printed_slips_are_private(start_server: Callable[..., Server]) -> None:
    server = kiosk_printer(start_server, '{ kind = "virtual" }')
    data = server.config.parent
    kiosk_ticket(server, server.kiosk_token())
    printed = data / "printed"
    slips = wait_until(lambda: list(printed.glob("*.bin")), "the slip printed")
    assert _mode(printed) == 0o700
    assert all(_mode(p) == 0o600 for p in [*slips, *printed.glob("*.png")])
    assert _mode(data / "secret_key") == 0o600


def test_the_systemd_unit_sets_the_same_mask() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "hallq@.service").read_text(encoding="utf-8"))
    assert unit["Service"]["UMask"] == "0077"


def test_hallq_umask_changes_the_mask_and_a_bad_one_is_one_line(tmp_path: Path) -> None:
    def run(mask: str, data: Path) -> subprocess.CompletedProcess[str]:
        env = {**clean_env(), "HALLQ_UMASK": mask}
        args = [sys.executable, "-m", "server.cli", "token", "create", "--counter", "w1", "--data", str(data)]
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    shared = tmp_path / "shared"
    shared.mkdir()
    assert run("027", shared).returncode == 0
    assert _mode(shared / "hallq.db") == 0o640  # a hall that wants a group of readers says so
    for bad in ("abc", "1777", "-1"):
        done = run(bad, tmp_path / "unused")
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "HALLQ_UMASK" in done.stderr
