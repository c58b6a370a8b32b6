"""A webhook receiver on 127.0.0.1 for the outbound-event tests: a real HTTP server in a thread.

It keeps every request (headers and body), checks nothing itself (the tests check signatures with the
same ten lines a hall's integrator would write: `verify`), and answers as the test tells it: a status,
a delay, or a large body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import select

from server.store.models import DeliveryRow


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance_s: int = 300) -> bool:
    """What a receiver does: recompute the HMAC over "<timestamp>.<body>", compare in constant time."""
    timestamp = headers["X-Hallq-Timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    return fresh and hmac.compare_digest("sha256=" + mac, headers["X-Hallq-Signature"])


@dataclass
class Answer:
    status: int = 200
    delay_s: float = 0.0
    body: bytes = b"ok"


@dataclass(eq=False)
class Receiver:
    """`answers[path]` (or `answer`) decides each reply; `failures` > 0 answers 503 that many times first."""

    answer: Answer = field(default_factory=Answer)
    answers: dict[str, Answer] = field(default_factory=dict)
    failures: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner.lock:
                    failing = owner.failures > 0
                    owner.failures -= 1 if failing else 0
                    answer = Answer(503, 0, b"down") if failing else owner.answers.get(self.path, owner.answer)
                    got = Received(self.path, dict(self.headers.items()), body, time.monotonic(), answer.status)
                    owner.received.append(got)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ok(self, path: str | None = None) -> list[Received]:
        """Requests answered 2xx (not the failures), optionally at one path."""
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300 and (path is None or r.path == path)]

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        return [r.json() for r in self.ok(path)]

    def wait_for(self, predicate: Any, timeout: float = 20) -> list[Received]:
        """Wait until `predicate(received so far)` holds; the requests then."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                seen = list(self.received)
            if predicate(seen):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met within {timeout}s; got {len(seen)} request(s)")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- a hall that posts to receivers, and its delivery rows


SECRET = "a-secret-of-twenty-chars"


def hooks(*urls: str, events: str = "") -> Callable[[str], str]:
    """An edit of the test config: the hall "town" posts its events to `urls` (before the hall "east")."""

    def edit(text: str) -> str:
        anchor = '\n[[hall]]\nid = "east"'
        tables = "".join(f'\n[[hall.webhook]]\nurl = "{u}"\nsecret = "{SECRET}"\n{events}' for u in urls)
        return text.replace(anchor, tables + anchor)

    return edit


def deliveries(app: Any) -> list[DeliveryRow]:
    db = app.ctx.db if hasattr(app, "ctx") else app.offline().db
    with db.read() as s:
        return list(s.scalars(select(DeliveryRow).order_by(DeliveryRow.id)))


def recorded(app: Any, done: Callable[[list[DeliveryRow]], bool], timeout: float = 20) -> list[DeliveryRow]:
    """The deliveries once `done(them)` holds (the sender records a try just after its answer)."""
    deadline = time.monotonic() + timeout
    while not done(rows := deliveries(app)):
        assert time.monotonic() < deadline, [(d.target, d.status, d.tries, d.last_answer) for d in rows]
        time.sleep(0.05)
    return rows
