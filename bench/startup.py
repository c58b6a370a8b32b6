"""How soon a started server answers: `python -m bench.startup [--runs 5]`.

Starts `hallq serve` on a fresh SQLite file (a hall whose kiosks print nothing) and `hallq demo` (a virtual
printer, so the printer stack loads), and times spawn -> first 200 from /api/v1/health, polled every 10 ms.
Also prints the server's CPU time at that moment: on a busy machine the wall time says more about the
neighbours than about the server, the CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .common import ROOT

CONFIG = """[server]
data_dir = "{folder}"
port = {port}
log_level = "WARNING"
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one(command: list[str], port: int) -> tuple[float, float]:
    """(seconds until health answered 200, CPU seconds the server had used by then)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}: {' '.join(command)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        ready = time.monotonic() - started
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return ready, cpu
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    hall = (ROOT / "tests" / "data" / "test_hall.toml").read_text(encoding="utf-8")
    results: dict[str, tuple[float, float]] = {}
    for name in ("serve (no printer)", "demo (virtual printer)"):
        walls, cpus = [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                port = free_port()
                if name.startswith("serve"):
                    config = Path(folder) / "hall.toml"
                    config.write_text(CONFIG.format(folder=folder, port=port) + hall, encoding="utf-8")
                    command = [sys.executable, "-m", "server.cli", "serve", "--config", str(config)]
                else:
                    command = [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", folder]
                wall, cpu = one(command, port)
                walls.append(wall)
                cpus.append(cpu)
        results[name] = (statistics.median(walls), statistics.median(cpus))
        print(f"{name:24} ready after {results[name][0]:.2f} s (median of {args.runs}), CPU {results[name][1]:.2f} s")
    return results


if __name__ == "__main__":
    main()
