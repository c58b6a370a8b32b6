"""Server memory (issue 25): RSS after many tickets against idle, and per connected display against the floor.

On PostgreSQL + Redis (bench/scale.py's cluster and floors, one process each):

- a fresh `hallq serve`: VmRSS idle (after one warm-up ticket), then after `--tickets` (10,000) issued by
  8 clients with a staff credential; the ratio is the figure (goal ≤ 1.15×);
- `--displays` (1,000) `/display` clients connected to hallq, then to the floor (bench/floor.py, the same
  stack with one emit route): (RSS with them − RSS before) ÷ displays, each server's own, and the ratio
  (goal ≤ 1.2×).

Prints a table and a JSON line `BENCH_MEMORY {...}`.

    python -m bench.memory [--tickets 10000] [--displays 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .api import Displays
from .common import table
from .cpu import issue_n
from .hotpath import Proc
from .scale import cluster, floors


def per_display(proc: Proc, n: int) -> tuple[float, float, float]:
    """RSS before, with n displays connected (after they settled), and the difference per display in KB."""
    time.sleep(1)
    before = proc.rss_mb()
    shown = Displays(proc.url, n)
    try:
        time.sleep(3)
        during = proc.rss_mb()
    finally:
        shown.close()
    return before, during, (during - before) * 1024 / n


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10000)
    parser.add_argument("--displays", type=int, default=1000)
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"load": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hallq-memory-") as tmp:
        with floors(Path(tmp), "eventlet") as (floor, _):
            out["floor_displays"] = per_display(floor, args.displays)
        with cluster(Path(tmp), 1, "eventlet", 4) as (procs, token, _url):
            hallq = procs[0]
            issue_n([hallq], 8, token)  # tickets first: memory the displays took is not all given back
            time.sleep(2)
            idle = hallq.rss_mb()
            run = issue_n([hallq], args.tickets, token)  # bounded at 300 s (cpu.issue_n)
            time.sleep(2)
            out["tickets"] = {"n": run.n, "idle_mb": idle, "after_mb": hallq.rss_mb(), "errors": dict(run.errors)}
            out["hallq_displays"] = per_display(hallq, args.displays)
    out["load_after"] = os.getloadavg()
    t, fd, hd = out["tickets"], out["floor_displays"], out["hallq_displays"]
    rows = [
        ["RSS idle → after tickets", f"{t['idle_mb']:.1f} → {t['after_mb']:.1f} MB ({t['n']} tickets)",
         f"{t['after_mb'] / t['idle_mb']:.2f}×"],
        [f"per display, {args.displays} connected", f"hallq {hd[2]:.1f} KB ({hd[0]:.0f} → {hd[1]:.0f} MB);"
         f" floor {fd[2]:.1f} KB ({fd[0]:.0f} → {fd[1]:.0f} MB)", f"{hd[2] / fd[2]:.2f}×" if fd[2] > 0 else "n/a"],
    ]  # fmt: skip
    print(table(["what", "figure", "ratio"], rows))
    print(f"  load average before {out['load']}, after {out['load_after']}")
    print("BENCH_MEMORY " + json.dumps(out, default=str))
    return out


if __name__ == "__main__":
    main()
