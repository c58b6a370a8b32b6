"""The outbox's sender: posts queued outbound events (PROTOCOL v1.2) to their receivers, in the background.

Every server process runs one; a standing lease (server/store/leases.py, as the scheduled jobs use) lets one
of them send at a time, and its claims (SKIP LOCKED on PostgreSQL, a guarded UPDATE on both databases) keep
a delivery in one sender's hands even while a lease changes hands. At least once: a delivery is recorded as
sent only after the receiver's 2xx, so a process killed between the two sends it again after restart.

Nothing here runs in a request: a hall's requests only write outbox rows (and wake this process's sender).
A receiver that answers slowly or at length costs a sender task at most ANSWER_TIMEOUT_S and
ANSWER_READ_BYTES of its answer; each try is its own task, so one slow receiver does not hold the others.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit

from server.engine.outbound import ANSWER_READ_BYTES, ANSWER_TIMEOUT_S, envelope, headers
from server.services import evaluations, outbox
from server.services.context import Context
from server.services.views import iso
from server.store import leases

log = logging.getLogger("hallq.outbox")
LEASE_NAME = "outbox-sender"
LEASE_S = 15  # a sender that stops renewing (killed) hands over to another process after this
POLL_S = 0.2  # how often the sending process looks for due events (its own events wake it at once)
COALESCE_S = 0.05  # after a wake, what else is committed within this goes out in the same round
STANDBY_S = 5.0  # how often the other processes ask for the lease
BATCH = 200
IN_FLIGHT = 32  # tries under way at once (each its own task)


def post(url: str, body: bytes, head: dict[str, str], timeout: float = ANSWER_TIMEOUT_S) -> tuple[int | None, str]:
    """POST `body`; (status, the start of the answer) or (None, what went wrong). Reads at most
    ANSWER_READ_BYTES of the answer and gives up after `timeout` seconds of silence at any step."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=head)
        response = conn.getresponse()
        answer = response.read1(ANSWER_READ_BYTES) if not response.closed else b""
        return response.status, answer.decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as e:
        return None, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    finally:
        conn.close()


class Sender:
    """One process's sender task; `start` runs it when a hall has a receiver, `wake` after a commit."""

    def __init__(self, ctx: Context, socketio: Any) -> None:
        self.ctx = ctx
        self.socketio = socketio
        port = ctx.config.settings.port
        # Stable per listening address: a process restarted after kill -9 takes its own lease back at once.
        self.holder = f"{socket.gethostname()[:40]}:{port}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._task: Any = None
        self._lease_until = 0.0  # monotonic time until which this process holds the lease
        self._lock = threading.Lock()
        self._done: list[outbox.Try] = []  # tries ended, to record
        self.in_flight = 0

    @property
    def needed(self) -> bool:
        return any(h.webhooks or h.evaluation_push for h in self.ctx.config.halls)

    def start(self) -> None:
        if self._started or not self.needed:
            return
        self._started = True
        self._task = self.socketio.start_background_task(self._loop)

    def stop(self, timeout: float = 5) -> None:
        """Stop sending and wait for the task to end (it no longer touches the database then); tries in
        flight are left to end by themselves, unrecorded: they go out again after the next start."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                self._task.join(timeout)
            except TypeError:  # eventlet's and gevent's tasks join without a timeout
                self._task.join()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                holding = self._hold()
                if holding and self.step():
                    continue  # more may be due at once
            except Exception:  # noqa: BLE001 - the database may be down for a while: keep trying
                log.exception("the outbox sender failed; trying again")
                holding = False
            if self._wake.wait(POLL_S if holding else STANDBY_S) and holding:
                time.sleep(COALESCE_S)  # green under eventlet: events committed meanwhile go in the same round
            self._wake.clear()
        self._record()

    def _hold(self) -> bool:
        """Take or renew the lease when half of it is gone; whether this process sends."""
        if time.monotonic() < self._lease_until - LEASE_S / 2:
            return True
        if leases.hold(self.ctx.db, LEASE_NAME, self.holder, self.ctx.clock.now(), LEASE_S):
            if not self._lease_until:  # newly taken: tries a dead sender had in hand are due again now
                outbox.release_claims(self.ctx.db)
            self._lease_until = time.monotonic() + LEASE_S
            return True
        self._lease_until = 0.0
        return False

    def step(self) -> int:
        """Record the tries that ended and claim what is due (as many as free places in flight), in one
        transaction, and start a task for each; how many were started. A slow try holds its own place only."""
        with self._lock:
            free = IN_FLIGHT - self.in_flight
            done, self._done = self._done, []
        try:
            due = outbox.claim(self.ctx.db, self.ctx.clock.now(), min(free, BATCH), done)
        except Exception:
            with self._lock:
                self._done[:0] = done
            raise
        with self._lock:
            self.in_flight += len(due)
        for d in due:
            self.socketio.start_background_task(self._try, d)
        return len(due)

    def _try(self, due: outbox.Due) -> None:
        result = self.attempt(due)
        with self._lock:
            self._done.append(result)
            self.in_flight -= 1
        self._wake.set()

    def _record(self) -> None:
        """Write the ended tries in one transaction (kept for the next round if the database is away)."""
        with self._lock:
            done, self._done = self._done, []
        try:
            outbox.record(self.ctx.db, done, self.ctx.clock.now())
        except Exception:
            with self._lock:
                self._done[:0] = done
            raise

    def attempt(self, due: outbox.Due) -> outbox.Try:
        """One try of one delivery (never raises)."""
        try:
            hall = self.ctx.config.hall(due.hall_id)
            if hall is not None and due.target == outbox.EVALUATION:
                return self._push(hall, due)
            hook = next((w for w in hall.webhooks if w.url == due.target), None) if hall else None
            if hall is None or hook is None:
                return outbox.Try(due, None, "this receiver is no longer in the config", 0)
            body = envelope(due.event_id, due.event, iso(hall, due.at) or "", hall.id, due.data)
            head = headers(due.event_id, due.event, hook.secret, int(time.time()), body)
            with self._deadline():
                status, answer = post(hook.url, body, head)
            return outbox.Try(due, status, answer, hook.retry_hours)
        except Exception as e:  # noqa: BLE001 - recorded as a failed try, retried
            log.exception("posting event %s failed", due.event_id)
            return outbox.Try(due, None, f"{type(e).__name__}: {e}", 72)

    def _push(self, hall: Any, due: outbox.Due) -> outbox.Try:
        """A rating to the provincial 好差评 platform, as its profile's record (signed when a secret is set)."""
        push = hall.evaluation_push
        if push is None:
            return outbox.Try(due, None, "the hall no longer pushes its ratings", 0)
        body = json.dumps(evaluations.record(hall, due.data, due.at), ensure_ascii=False).encode("utf-8")
        if push.secret:
            head = headers(due.event_id, "evaluation", push.secret, int(time.time()), body)
        else:
            head = {"Content-Type": "application/json; charset=utf-8", "X-Hallq-Delivery": due.event_id}
        with self._deadline():
            status, answer = post(push.url, body, head)
        return outbox.Try(due, status, answer, push.retry_hours)

    def _deadline(self) -> AbstractContextManager[Any]:
        """Under eventlet a whole try (connect, headers, answer) is bounded, not only each silence."""
        if self.ctx.config.settings.async_mode == "eventlet":
            import eventlet

            timeout: AbstractContextManager[Any] = eventlet.Timeout(ANSWER_TIMEOUT_S + 1, TimeoutError("no answer"))
            return timeout
        if self.ctx.config.settings.async_mode == "gevent":
            import gevent

            limit: AbstractContextManager[Any] = gevent.Timeout(ANSWER_TIMEOUT_S + 1, TimeoutError("no answer"))
            return limit
        return nullcontext()
