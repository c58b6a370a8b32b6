"""Copies the browser builds from node_modules into server/static/vendor/ with a manifest (run by `make vendor`).

The copies are committed so the demo runs with no Node; tests/unit/test_vendor.py checks them against
package-lock.json and this manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "server" / "static" / "vendor"
# package -> (file inside the package, name in vendor/)
FILES = {
    "socket.io-client": ("dist/socket.io.esm.min.js", "socket.io.esm.min.js"),
    "axe-core": ("axe.min.js", "axe.min.js"),
    "chart.js": ("dist/chart.umd.min.js", "chart.umd.min.js"),
}


def main() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest = []
    for package, (source, name) in FILES.items():
        version = lock[f"node_modules/{package}"]["version"]
        installed = json.loads((ROOT / "node_modules" / package / "package.json").read_text(encoding="utf-8"))
        if installed["version"] != version:
            raise SystemExit(f"node_modules/{package} is {installed['version']}, the lockfile says {version}")
        target = VENDOR / name
        shutil.copyfile(ROOT / "node_modules" / package / source, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        manifest.append({"package": package, "version": version, "file": name, "sha256": digest})
        print(f"{name}: {package}@{version}")
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
