"""The kiosk agent: prints the slips of one kiosk on the printer at the kiosk PC's side.

It connects to the server over Socket.IO (namespace /kiosk, the kiosk's token in the connect auth),
receives `print` {job, ticket, number, reprint, data}, prints the bytes with python-escpos, and
answers `printed` {job}, or `failed` {job, error, state, nothing_printed} when the printer refused
or broke. It reports `printer` {state} whenever the printer's DLE EOT answers change. The server
keeps the jobs: after any reconnect it sends the unacknowledged ones again (marked 补打).

Blocking sockets and threads only: no eventlet here, so a USB or serial printer is fine.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from pathlib import Path
from typing import Any

import engineio  # type: ignore[import-untyped]
import socketio  # type: ignore[import-untyped]

from . import drivers

log = logging.getLogger("hallq.agent")

NAMESPACE = "/kiosk"
AGENT_VERSION = "hallq-kiosk-agent/1"
POLL_S = 2.0  # how often the printer is asked for its state
BACKOFF_MAX_S = 30.0


class _InOrderEngineIO(engineio.Client):  # type: ignore[misc]
    """Hands each Engine.IO message to Socket.IO in the order it came, on the thread that read it.

    engineio's client hands every message to a new thread, and a binary event is two messages (the
    header, then the bytes): on a loaded machine the bytes overtook their header, and the job was read as
    malformed (a slip came out 30 s late, as 补打). What Socket.IO then runs here is quick: the agent's
    handlers queue a job or set an event.
    """

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class _Client(socketio.Client):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO


class Refused(Exception):
    """The server refused the agent (a wrong token, or a kiosk not printed by an agent)."""


class KioskAgent:
    """One kiosk's printer, fed by the server."""

    def __init__(self, server: str, token: str, printer: str, poll_s: float = POLL_S) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.kind, self.where = drivers.parse_spec(printer)  # ValueError for a bad spec
        self.folder = Path(self.where.get("path", "")) if self.kind == "file" else None
        if self.folder is not None and not self.folder.is_dir():
            self.folder = None  # a device file such as /dev/usb/lp0: python-escpos writes to it
        self.poll_s = poll_s
        self.jobs: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: dict[str, str] = {}  # job id -> "queued" | "printed" (this run)
        self.state: str | None = None  # last state told to the server
        self.stopping = threading.Event()
        self._report = threading.Event()
        self._lock = threading.Lock()
        self.client = _Client(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=1,
            reconnection_delay_max=int(BACKOFF_MAX_S),
            logger=False,
        )
        self.client.on("connect", self._connected, namespace=NAMESPACE)
        self.client.on("disconnect", self._disconnected, namespace=NAMESPACE)
        self.client.on("print", self._on_print, namespace=NAMESPACE)
        self.client.on("connect_error", self._refused, namespace=NAMESPACE)
        self.refusal = ""  # the server's last reason for refusing the connection

    # -- connection ----------------------------------------------------------------------------------

    def connect(self) -> None:
        """Connect, retrying with backoff while the server is unreachable; Refused when it says no."""
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self.client.connect(
                    self.server,
                    namespaces=[NAMESPACE],
                    auth={"token": self.token, "agent": AGENT_VERSION},
                    transports=["websocket"],
                    wait_timeout=10,
                )
                return
            except socketio.exceptions.ConnectionError as e:
                reason, self.refusal = self.refusal or _reason(e), ""
                if "unauthorized" in reason or "not printed by an agent" in reason:
                    raise Refused(reason) from None
                log.warning("cannot reach %s (%s); trying again in %.0f s", self.server, reason, delay)
            self.stopping.wait(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, BACKOFF_MAX_S)

    def run(self) -> None:
        """Connect and print until stop() (the client reconnects by itself after that)."""
        threading.Thread(target=self._print_loop, name="agent-printer", daemon=True).start()
        threading.Thread(target=self._watch_loop, name="agent-status", daemon=True).start()
        self.connect()
        while not self.stopping.wait(1.0):  # a timeout keeps the main thread's signal handlers prompt
            pass

    def stop(self) -> None:
        self.stopping.set()
        self._report.set()
        self.jobs.put({})  # wakes the printer loop
        try:
            self.client.disconnect()
        except Exception as e:  # noqa: BLE001 - already gone is fine
            log.debug("disconnect: %s", e)

    def _connected(self) -> None:
        log.info("connected to %s", self.server)
        self.state = None  # the server forgets: tell it again
        self._report.set()

    def _refused(self, data: Any = None) -> None:
        self.refusal = str(data.get("message", data)) if isinstance(data, dict) else str(data or "")

    def _disconnected(self, *_: Any) -> None:
        log.warning("disconnected from %s; reconnecting", self.server)

    # -- jobs ----------------------------------------------------------------------------------------

    def _on_print(self, body: Any = None) -> None:
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("job"), str)
            or not isinstance(body.get("data"), bytes)
        ):
            log.warning("ignored a malformed print job")
            return
        job = body["job"]
        with self._lock:
            seen = self.seen.get(job)
            if seen is None:
                self.seen[job] = "queued"
        if seen == "printed":  # our acknowledgement was lost: say it again, print nothing
            self._emit("printed", {"job": job})
        elif seen is None:
            self.jobs.put(body)

    def _print_loop(self) -> None:
        while not self.stopping.is_set():
            body = self.jobs.get()
            if not body:
                continue
            self._print(body)

    def _print(self, body: dict[str, Any]) -> None:
        job, number = body["job"], body.get("number", "?")
        mark = " (补打)" if body.get("reprint") else ""
        try:
            state = self._deliver(body["data"])
        except drivers.PrinterError as e:
            state = e.state if isinstance(e, drivers.NotReady) else "offline"
            log.warning("ticket %s not printed: %s", number, e)
            with self._lock:
                self.seen.pop(job, None)  # the server sends it again: take it then
            self._emit(
                "failed", {"job": job, "error": str(e)[:200], "state": state, "nothing_printed": e.nothing_printed}
            )
            self._tell_state(state)
            return
        with self._lock:
            self.seen[job] = "printed"
        what = "notice" if job.startswith("notice-") else "ticket"  # server/printing.py NOTICE_JOB
        log.info("printed %s %s%s", what, number, mark)
        self._emit("printed", {"job": job})
        self._tell_state(state)

    def _deliver(self, data: bytes) -> str:
        if self.folder is not None:
            from .virtual import save_job  # file:DIR keeps each slip as .bin and .png, like the demo

            try:
                save_job(data, self.folder)
            except OSError as e:
                raise drivers.PrinterError(f"cannot write to {self.folder}: {e}", nothing_printed=True) from e
            return "ok"
        return drivers.deliver(self.kind, data, **self.where)

    # -- printer state -------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        while not self.stopping.is_set():
            self._tell_state(self._status())
            self._report.wait(self.poll_s)
            self._report.clear()

    def _status(self) -> str:
        if self.folder is not None:
            return "ok" if self.folder.is_dir() else "offline"
        return drivers.status(self.kind, **self.where)

    def _tell_state(self, state: str) -> None:
        if state == self.state:
            return
        if self._emit("printer", {"state": state}):
            log.info("printer state: %s", state)
            self.state = state

    def _emit(self, event: str, body: dict[str, Any]) -> bool:
        """Send to the server if connected; False when not (the server resends or asks again on reconnect)."""
        try:
            self.client.emit(event, body, namespace=NAMESPACE)
        except Exception as e:  # noqa: BLE001 - disconnected: the server's jobs and our state are resent later
            log.debug("not sent (%s): %s", event, e)
            return False
        return True


def _reason(e: BaseException) -> str:
    """The server's refusal message out of a python-socketio ConnectionError."""
    args = getattr(e, "args", ())
    for a in args:
        if isinstance(a, dict) and "message" in a:
            return str(a["message"])
    return " ".join(str(a) for a in args) or type(e).__name__


def run_agent(server: str, token: str, printer: str, poll_s: float = POLL_S) -> int:
    """The `hallq kiosk-agent` command: 0 on Ctrl-C, 1 when the server refuses the agent."""
    from .foreground import stop_on_interrupt_or_term

    agent = KioskAgent(server, token, printer, poll_s)
    stop_on_interrupt_or_term(agent.stopping)  # run() returns once it is set
    print(f"kiosk agent: server {agent.server}, printer {printer} (Ctrl-C stops)", flush=True)
    try:
        agent.run()
    except Refused as e:
        print(f"hallq: error: the server refused this agent: {e}", flush=True)
        agent.stop()
        return 1
    except KeyboardInterrupt:
        pass
    agent.stop()
    return 0
