"""scripts/bootstrap.sh on a machine that has everything: it installs nothing and warns of nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from support.server import ROOT

FC_LIST = f"""#!{sys.executable}
import sys
try:  # a CJK font first, then a long list: grep -q stops reading at once and this write meets a closed pipe
    print("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc: WenQuanYi Zen Hei:style=Medium")
    for i in range(20000):  # about 1.4 MB, twenty times a pipe buffer
        print(f"/usr/share/fonts/truetype/dejavu/DejaVuSans-{{i}}.ttf: DejaVu Sans:style=Book")
except BrokenPipeError:
    sys.exit(141)
"""


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    path.chmod(0o755)


def test_a_present_cjk_font_is_found_under_pipefail_and_apt_get_is_not_run(tmp_path: Path) -> None:
    repo, stubs = tmp_path / "repo", tmp_path / "bin"
    (repo / "scripts").mkdir(parents=True)
    (repo / ".venv" / "bin").mkdir(parents=True)
    stubs.mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", repo / "scripts" / "bootstrap.sh")
    (repo / "pyproject.toml").write_text("", encoding="utf-8")
    old = time.time() - 3600
    os.utime(repo / "pyproject.toml", (old, old))
    _stub(repo / ".venv" / "bin", "python", "#!/bin/sh\nexit 0\n")
    (repo / ".venv" / ".installed").touch()  # the virtualenv is up to date: no pip
    calls = tmp_path / "apt-calls"
    _stub(stubs, "fc-list", FC_LIST)
    _stub(stubs, "apt-get", f'#!/bin/sh\necho "$@" >> "{calls}"\nexit 1\n')  # fails, as without network
    _stub(stubs, "id", "#!/bin/sh\necho 0\n")  # as root: the script would install what is missing
    _stub(stubs, "espeak-ng", "#!/bin/sh\nexit 0\n")
    env = {**os.environ, "PATH": f"{stubs}:/usr/bin:/bin"}
    for _ in range(2):  # it failed on 15 starts in 20
        done = subprocess.run(
            ["bash", str(repo / "scripts" / "bootstrap.sh")], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "warning" not in done.stderr, done.stderr
        assert not calls.exists(), calls.read_text()
