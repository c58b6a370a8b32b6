"""The committed browser libraries are exactly the builds package-lock.json names (checked without Node)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "server" / "static" / "vendor"
# The banner each build starts with, so a file copied from another version is caught even if the manifest lies.
BANNERS = {
    "socket.io-client": r"Socket\.IO v(\S+)",
    "axe-core": r"axe v(\S+)",
    "chart.js": r"Chart\.js v(\S+)",
}


def _manifest() -> list[dict[str, str]]:
    return list(json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8")))


def test_every_declared_dependency_is_vendored_at_the_locked_version() -> None:
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    vendored = {m["package"]: m["version"] for m in _manifest()}
    for name, wanted in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), f"{name} must be pinned exactly, not {wanted!r}"
        assert lock[f"node_modules/{name}"]["version"] == wanted
        assert vendored.get(name) == wanted, f"{name}: vendored {vendored.get(name)}, locked {wanted}"


def test_each_vendored_file_matches_its_manifest_hash_and_banner() -> None:
    entries = _manifest()
    assert {e["package"] for e in entries} == set(BANNERS)
    for entry in entries:
        body = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], f"{entry['file']} differs from its manifest"
        found = re.search(BANNERS[entry["package"]], body[:400].decode("utf-8", "replace"))
        assert found is not None and found.group(1) == entry["version"], f"{entry['file']} is not {entry['version']}"


def test_nothing_unlisted_sits_in_vendor() -> None:
    listed = {e["file"] for e in _manifest()} | {"manifest.json"}
    assert {p.name for p in VENDOR.iterdir()} == listed
