"""A lasting cache of python-escpos's printer profiles, so that importing escpos takes milliseconds, not seconds.

At import, escpos.capabilities reads its ~100 KB capabilities.json with PyYAML's pure-Python parser (a third of
a second on an idle machine, seconds on a busy one, blocking an eventlet server's hub meanwhile), and caches
the result as a pickle in ESCPOS_CAPABILITIES_PICKLE_DIR, by default a new temporary folder per process, so
the cache never serves and every process leaves a folder behind. Here the folder is a lasting one and the
pickle is written before escpos looks for it: parsed with json (the file is JSON, and the result is the same)
and put in place atomically, so processes starting together never read a half-written cache.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import tempfile
from importlib.util import find_spec
from pathlib import Path

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def cache_dir() -> Path | None:
    """A writable folder of this user for the cache, or None (escpos then does as it always does)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "hallq" / "escpos"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def prepare() -> None:
    """Point escpos at the lasting cache and fill it if escpos's profiles are newer; never raises."""
    if ENV in os.environ:
        return  # the operator chose a folder
    try:
        spec = find_spec("escpos")
    except (ImportError, ValueError):
        return
    if spec is None or spec.origin is None:
        return
    source = Path(spec.origin).parent / "capabilities.json"
    folder = cache_dir()
    if folder is None or not source.is_file():
        return
    try:
        _fill(source, folder / f"{platform.python_version()}.capabilities.pickle")
    except (OSError, ValueError, pickle.PickleError):
        return  # escpos parses the file itself, as slowly as before
    os.environ[ENV] = str(folder)


def _fill(source: Path, target: Path) -> None:
    """Write the pickle escpos.capabilities would write, unless a current one is there."""
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    profiles = json.loads(source.read_text(encoding="utf-8"))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".capabilities-")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(profiles, f, protocol=2)  # escpos's own protocol
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
