"""Run every scenario in a few minutes and print a summary: `python -m bench`.

`python -m bench hotpath [options]` runs bench/hotpath.py instead: hallq against the floor.
`python -m bench scale [options]` runs bench/scale.py: 1, 2 and 4 processes on PostgreSQL + Redis.

The claims scenario drains only the first 200 of its 2000 tickets here (the rate at a queue 2000 deep);
`python -m bench.claims` drains them all.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import api, claims, estimate, hotpath, outbound, printing, scale
from .common import percentile, table


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hotpath"]:  # `python -m bench hotpath [...]`: hallq against the floor (bench/hotpath.py)
        hotpath.main(argv[1:])
        return
    if argv[:1] == ["outbound"]:  # `python -m bench outbound [...]`: 10,000 events to a local receiver
        outbound.main(argv[1:])
        return
    if argv[:1] == ["scale"]:  # `python -m bench scale [...]`: 1, 2, 4 processes on PostgreSQL + Redis
        scale.main(argv[1:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated scenarios to skip: estimate, claims, api, printing")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    started = time.perf_counter()
    rows: list[list[object]] = []

    if "estimate" not in skip:
        e = estimate.main([])
        s = e.summary
        rows += [
            ["estimate", "tickets in the replayed day", f"{s['tickets']:.0f}"],
            ["estimate", "MAE / bias of est_wait_s (min)", f"{s['mae_min']:.1f} / {s['bias_min']:+.1f}"],
            ["estimate", "within ±5 / ±10 min", f"{s['within5']:.0f}% / {s['within10']:.0f}%"],
            ["estimate", "naive baseline MAE / bias (min)", f"{s['naive_mae_min']:.1f} / {s['naive_bias_min']:+.1f}"],
        ]
        print()

    if "claims" not in skip:
        c = claims.run(n=2000, waiting=1000, drain=200)
        claims.print_report(c)
        for q in c.sequential:
            rows.append([f"claims {q.db}", "issue/s (2000 in a row)", f"{q.issue_per_s:.0f}"])
            rows.append([f"claims {q.db}", "call-next+finish/s (queue 2000 deep)", f"{q.cycle_per_s:.0f}"])
        for r in c.races:
            verdict = "exactly once" if not r.problems else "PROBLEMS"
            rows.append([f"claims {r.db}", "2 processes: claims/s, check", f"{r.claims_per_s:.0f}, {verdict}"])
            if r.locked:
                rows.append([f"claims {r.db}", "'database is locked' (retried)", str(len(r.locked))])
        print()

    if "api" not in skip:
        a = api.run()
        api.print_report(a)
        ms = 1000
        rows += [
            [
                "api",
                "POST tickets req/s, p50/p99 ms",
                f"{len(a.load.posts) / a.load.seconds:.0f}, "
                f"{percentile(a.load.posts, 50) * ms:.0f}/{percentile(a.load.posts, 99) * ms:.0f}",
            ],
            [
                "api",
                "GET services p50/p99 ms",
                f"{percentile(a.load.gets, 50) * ms:.0f}/{percentile(a.load.gets, 99) * ms:.0f}",
            ],
            [
                "api",
                f"call -> {a.fan.clients} displays p50/p99 ms",
                f"{percentile(a.fan.latencies, 50) * ms:.0f}/{percentile(a.fan.latencies, 99) * ms:.0f}",
            ],
            ["api", "RSS idle / after load (MB)", f"{a.rss_idle:.0f} / {a.rss_after:.0f}"],
        ]
        print()

    if "printing" not in skip:
        for m in printing.main(["--n", "200"]):
            fb, wh = m.first_byte, m.whole
            rows.append(
                [
                    "printing",
                    f"{m.name}: tap -> first byte / whole slip p50/p99 ms",
                    f"{percentile(fb, 50) * 1000:.0f}/{percentile(fb, 99) * 1000:.0f}, "
                    f"{percentile(wh, 50) * 1000:.0f}/{percentile(wh, 99) * 1000:.0f}",
                ]
            )
        print()

    print("== summary ==")
    print(table(["scenario", "figure", "value"], rows))
    print(f"  total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
