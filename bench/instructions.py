"""Instructions a request costs, counted by callgrind: for changes of a few per cent, which timings cannot show.

On a shared 2-core machine the ratio to the floor moves by 0.05-0.3 between runs of the same code, more than any
change left on the hot path. Instructions move far less. The app is built in-process by `create_app` on a fresh
database: SQLite, or with `--db postgres` a schema of its own on the test server, dropped after. The async mode
is `threading`, and there is no HTTP server, so eventlet's parsing is not counted. Each request is one WSGI call
as the server makes it:

- `issue`: a kiosk's tap (its bearer token, an Idempotency-Key);
- `cycle`: call-next then finish at one counter. The tickets it calls are issued in the same run, so the figure
  is an issue and a cycle together.

Under `valgrind --tool=callgrind --separate-threads=yes`, the main thread's instructions with N requests less
those with none, over N. The hall's background threads (the forecast's refresh, the publisher) are left out:
their share follows the wall clock, which valgrind slows about 50 times. Runs of one version made side by side
agree within 4%, but the level moves with the machine's load: compare a change with its base in runs made side
by side. On PostgreSQL the count is the client's side only (psycopg2 and above); the server's work is not in it.

    python -m bench.instructions [--what issue|cycle] [--n 300] [--db sqlite|postgres]
                                              (needs valgrind; about 2 minutes a figure)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM = 200  # requests before counting: statements compiled, caches full


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--what", choices=("issue", "cycle"), default="issue")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--inner", type=int, default=None, help=argparse.SUPPRESS)  # the counted run itself
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)  # the counted run's database
    args = parser.parse_args(argv)
    if args.inner is not None:
        _inner(args.what, args.inner, args.url)
        return
    base, counted = _count(args.what, 0, args.db), _count(args.what, args.n, args.db)
    per = (counted - base) / args.n
    label = "an issue" if args.what == "issue" else "an issue and a cycle (the cycle's ticket is issued in the run)"
    print(f"{per / 1000:,.0f}k instructions {label}, main thread, n={args.n}")


def _count(what: str, n: int, db: str) -> int:
    from bench.common import database_url

    with tempfile.TemporaryDirectory(prefix="hallq-instructions-") as tmp, database_url(db, Path(tmp)) as url:
        out = Path(tmp) / "cg.out"
        command = [
            "valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.instructions", "--what", what, "--inner", str(n), "--url", url,
        ]  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        for line in (Path(f"{out}-01")).read_text().splitlines():  # thread 1: the main thread
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no total")


def _inner(what: str, n: int, url: str) -> None:
    os.environ["HALLQ_ASYNC_MODE"] = "threading"
    from bench.hotpath import HALL, SERVICES, admin_token, write_config
    from server.app import create_app
    from server.config import load_config

    folder = Path(tempfile.mkdtemp(prefix="hallq-instructions-"))
    config = write_config(folder, "hallq", 18099, url, HALL)
    kiosk, admin = admin_token(config, "--kiosk", "k1"), admin_token(config)
    app, _ = create_app(load_config(str(config)))

    def call(method: str, path: str, token: str, body: Any = None, **headers: str) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "18099", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "HTTP_HOST": "127.0.0.1:18099",
            "HTTP_USER_AGENT": "python-requests/2.32", "HTTP_ACCEPT": "*/*", "HTTP_CONNECTION": "keep-alive",
            "HTTP_ACCEPT_ENCODING": "gzip, deflate", "HTTP_AUTHORIZATION": f"Bearer {token}", **headers,
        }  # fmt: skip
        if body is not None:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)))
        status: list[str] = []
        answer = app(environ, lambda s, _h, _e=None: status.append(s))
        b"".join(answer)
        answer.close()
        if not status[0].startswith("2"):
            raise RuntimeError(f"{method} {path}: {status[0]}")

    def issue(i: int) -> None:
        body = {"service": SERVICES[i % 2], "priority": False, "kiosk": "k1"}
        call("POST", "/api/v1/halls/town/tickets", kiosk, body, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)

    def cycle() -> None:
        call("POST", "/api/v1/counters/w1/call-next", admin)
        call("POST", "/api/v1/counters/w1/finish", admin, {"outcome": "completed"})

    if what == "issue":
        for i in range(WARM + n):
            issue(i)
    else:
        call("POST", "/api/v1/counters/w1/open", admin)
        for i in range(WARM + n):
            issue(i)
        for _ in range(WARM // 4 + n):
            cycle()
    os._exit(0)  # the hall's threads are not waited for


if __name__ == "__main__":
    main()
