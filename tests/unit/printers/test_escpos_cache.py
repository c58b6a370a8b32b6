"""python-escpos's printer profiles come from a lasting cache: importing the printer stack costs milliseconds."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from printers.escpos_cache import ENV

PROBE = """
import os, sys, time
import printers.layout, escpos.capabilities as caps
print(caps.full_load, os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"), caps.pickle_path)
"""


def probe(cache_home: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["XDG_CACHE_HOME"] = str(cache_home)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_profiles_are_parsed_once_and_kept_for_every_later_process(tmp_path: Path) -> None:
    first = probe(tmp_path)
    folder = tmp_path / "hallq" / "escpos"
    assert first[:2] == ["False", str(folder)], "escpos found its cache ready on the very first import"
    [cached] = folder.glob("*.capabilities.pickle")
    assert first[2] == str(cached)
    import escpos

    source = Path(escpos.__file__).parent / "capabilities.json"
    with cached.open("rb") as f:
        assert pickle.load(f) == json.loads(source.read_text(encoding="utf-8"))
    made = cached.stat().st_mtime_ns
    assert probe(tmp_path)[:2] == ["False", str(folder)]
    assert cached.stat().st_mtime_ns == made, "a current cache is not written again"


def test_a_cache_older_than_escpos_profiles_is_renewed(tmp_path: Path) -> None:
    probe(tmp_path)
    [cached] = (tmp_path / "hallq" / "escpos").glob("*.capabilities.pickle")
    cached.write_bytes(b"stale")
    os.utime(cached, (0, 0))  # older than capabilities.json
    assert probe(tmp_path)[0] == "False"
    with cached.open("rb") as f:
        assert isinstance(pickle.load(f), dict)


def test_without_a_writable_cache_escpos_does_as_it_always_did(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert probe(blocked)[:2] == ["True", "None"]
