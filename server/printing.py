"""Printing slips after commit, on each kiosk's printer: by this server, or by the kiosk's agent.

Jobs are rows (services/print_jobs.py); this module only moves them. Each kiosk has a sender task
that wakes when a job is queued, when its printer becomes ready, and every RETRY_S: it claims the
kiosk's pending jobs and either prints them itself (network, USB, serial, file, the virtual printer)
or hands them to the kiosk agent connected on Socket.IO `/kiosk`. A printer that fails, is out of
paper or says nothing costs one timeout and leaves its jobs pending; tickets are never refused for it.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import SocketIO, join_room
from socketio.exceptions import ConnectionRefusedError  # type: ignore[import-untyped]  # noqa: A004

from server.auth import Principal, authenticate_token
from server.engine.events import Event, PrintQueued
from server.engine.model import Counter, Hall, Kiosk, Printer
from server.i18n import catalogue, minutes_text, minutes_up
from server.services import opening, print_jobs
from server.services.context import Context

if TYPE_CHECKING:
    from printers.virtual import VirtualPrinter

log = logging.getLogger("hallq.printing")

SEND_LEASE_S = 20.0  # a server send (status + write, each with a timeout) ends well within this
AGENT_LEASE_S = 30.0  # an agent prints and acknowledges within this, or the job is handed out again
RETRY_S = 5.0  # a failed job is tried again after this, or as soon as its printer says it is ready
AGENT_NS = "/kiosk"
NOTICE_JOB = "notice-"  # an agent's print of a 一次性告知 notice: no job row behind it (job ids are hex)
MAX_HINTS = 1000


def agent_room(kiosk_id: str) -> str:
    return f"agent:{kiosk_id}"


def kiosk_room(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


class Printing:
    """The per-process side of printing: sender tasks, the agents' Socket.IO events, printer states."""

    def __init__(self, ctx: Context, socketio: SocketIO) -> None:
        self.ctx = ctx
        self.socketio = socketio
        self.virtual: VirtualPrinter | None = None
        self.hints: dict[str, tuple[int, int, bool]] = {}  # job id -> (ahead, est_wait_s, served_now) at issue
        self._wake: dict[str, threading.Event] = {}
        self._agents: dict[str, str] = {}  # Socket.IO sid -> kiosk id, agents connected to this process
        self._stopping = threading.Event()
        self._started = False
        self._tasks: list[Any] = []  # the senders: stop() waits for them before the database goes
        # Told (kiosk, new state) on every change of a kiosk printer's state, whoever noticed it (the poll,
        # a send, an agent): the kiosk page's warning and the managers' alerts hang here.
        self.on_change: list[Callable[[Kiosk, str], None]] = []
        self.on_agent: Callable[[Principal], None] | None = None  # notes an agent's token (server/revocation.py)

    @property
    def printed_dir(self) -> Path:
        return self.ctx.config.settings.data_dir / "printed"

    def kiosks(self) -> Iterable[tuple[Hall, Kiosk]]:
        return ((h, k) for h in self.ctx.config.halls for k in h.kiosks if k.printer.kind != "none")

    def start(self) -> None:
        """Start the virtual printer (if a kiosk uses one) and one sender task per kiosk with a printer."""
        if self._started:
            return
        self._started = True
        counters_virtual = any(c.printer.kind == "virtual" for h in self.ctx.config.halls for c in h.counters)
        if counters_virtual or any(k.printer.kind == "virtual" for _, k in self.kiosks()):
            from printers.virtual import VirtualPrinter  # the printer stack loads only where a kiosk prints

            self.printed_dir.mkdir(parents=True, exist_ok=True)
            self.virtual = VirtualPrinter(self.printed_dir)
            self.virtual.start()
        for hall, kiosk in self.kiosks():
            self._wake[kiosk.id] = threading.Event()
            self._wake[kiosk.id].set()  # on start: jobs left unprinted by a stopped process go out now
            self._tasks.append(self.socketio.start_background_task(self._sender, hall, kiosk))

    def stop(self, timeout: float = 5) -> None:
        """Stop the senders and wait for each to end: one in the middle of a database read when the caller then
        disposed of the database crashed the process (SQLite's connection closed under it)."""
        self._stopping.set()
        for wake in self._wake.values():
            wake.set()
        for task in self._tasks:
            try:
                task.join(timeout)
            except TypeError:  # eventlet's and gevent's tasks join without a timeout
                task.join()
        self._tasks.clear()
        if self.virtual is not None:
            self.virtual.stop()

    # -- after commit --------------------------------------------------------------------------------

    def notify(self, events: list[Event], hint: tuple[int, int, bool] | None = None) -> None:
        """Wake the senders of queued jobs; never raises (the ticket is committed whatever happens here)."""
        try:
            for e in events:
                if isinstance(e, PrintQueued) and e.kiosk in self._wake:
                    if hint is not None:
                        if len(self.hints) > MAX_HINTS:  # jobs another process printed: forget, never grow
                            self.hints.clear()
                        self.hints[e.job] = hint
                    self._wake[e.kiosk].set()
        except Exception:  # printing must never turn a committed ticket into an error
            log.exception("waking the printer senders failed")

    # -- the sender ----------------------------------------------------------------------------------

    def _sender(self, hall: Hall, kiosk: Kiosk) -> None:
        wake = self._wake[kiosk.id]
        while not self._stopping.is_set():
            wake.wait(RETRY_S)
            wake.clear()
            if self._stopping.is_set():
                return
            try:
                if kiosk.printer.by_server:
                    self._print_pending(hall, kiosk)
                else:
                    self._push_to_agent(kiosk)
            except Exception:  # the sender outlives any failing job, printer or database hiccup
                log.exception("printing for kiosk %s failed", kiosk.id)

    def _print_pending(self, hall: Hall, kiosk: Kiosk) -> None:
        from printers import drivers

        claimed = print_jobs.claim(self.ctx, kiosk.id, SEND_LEASE_S)
        for at, job in enumerate(claimed):
            data = self.render(job, kiosk)
            if data is None:
                continue
            kind, where = self._address(kiosk.printer)
            try:
                if not kind:
                    raise drivers.PrinterError("the virtual printer is not running", nothing_printed=True)
                state = drivers.deliver(kind, data, **where)
            except drivers.PrinterError as e:
                state = e.state if isinstance(e, drivers.NotReady) else "offline"
                log.warning("kiosk %s did not print ticket %s: %s", kiosk.id, job.number, e)
                print_jobs.failed(self.ctx, job.job, kiosk.id, str(e), e.nothing_printed, RETRY_S)
                self.set_state(hall.id, kiosk.id, state, wake=False)
                self._job_event(hall.id, job, "failed", str(e))
                # The rest wait for the printer (no timeout per job on a dead one); they never went out.
                print_jobs.unclaim(self.ctx, [j.job for j in claimed[at + 1 :]], RETRY_S)
                return
            print_jobs.printed(self.ctx, job.job, kiosk.id)
            self.set_state(hall.id, kiosk.id, state, wake=False)
            self._job_event(hall.id, job, "printed")

    def render(self, job: print_jobs.Claimed, kiosk: Kiosk) -> bytes | None:
        """The slip's bytes for the kiosk's paper and text mode; None (job dropped) if its ticket is gone."""
        from printers import layout
        from printers.fonts import FontMissing
        from printers.slip import Slip

        hint = self.hints.pop(job.job, None)
        if job.reprint:
            hint = None
        facts = print_jobs.slip_facts(self.ctx, job, with_place=hint is None)
        if facts is None:
            log.warning("print job %s: its ticket %s is gone", job.job, job.ticket)
            return None
        row, hall = facts["ticket"], facts["hall"]
        # The place known at issue saves a forecast on the hot path; a slip printed later says where it is now.
        ahead, est, served_now = hint if hint is not None else facts["place"]
        service = hall.service(row.service_id)
        pickup = getattr(row, "pickup_of", None) is not None
        before = opening.NOT_BEFORE
        if not served_now:  # before the day's first window opens, the slip says when they do
            with self.ctx.db.read() as s:
                before = opening.opening(s, hall, service, self.ctx.clock.now())
        slip = Slip(
            ticket_id=row.id,
            number=row.number,
            hall_name=hall.name,
            service_name=(service.name if service else row.service_id) + _booked(hall, row) + _pickup(row),
            issued_at=hall.local(row.issued_at).strftime("%Y-%m-%d %H:%M"),
            ahead=ahead,
            est_wait_min=minutes_up(est),
            wait_text=minutes_text(est, catalogue("common")["zh-CN"], about=True),  # the slip is in Chinese
            track_url=job.track_url,
            priority=row.priority,
            # a 领取 ticket brings what picking the result up needs, not the application's materials
            materials=(service.pickup if pickup else service.materials) if service else (),
            materials_title="领取时请带上：" if pickup else Slip.materials_title,
            served_now=served_now,
            before_opening=before.before,
            windows_open_at=before.at,
            reprint=job.reprint,
        )
        try:
            return layout.render(slip, kiosk.printer.paper, kiosk.printer.text)
        except FontMissing as e:
            log.error("kiosk %s prints raster slips: %s", kiosk.id, e)
            print_jobs.failed(self.ctx, job.job, kiosk.id, str(e), True, RETRY_S * 12)
            return None

    def submit_counter_notice(self, hall: Hall, counter: Counter, notice: dict[str, Any]) -> None:
        """Print a 一次性告知 notice on the counter's own printer (config `[[hall.counter]] printer`), best effort."""
        data = self._notice_bytes(hall, notice, "")
        self.socketio.start_background_task(self._deliver_notice, f"counter {counter.id}", counter.printer, data)

    def _notice_bytes(self, hall: Hall, notice: dict[str, Any], ticket_id: str) -> bytes:
        from printers.notice import NoticeSlip, render_notice

        slip = NoticeSlip(
            code=notice["code"],
            hall_name=hall.name,
            service_name=notice["service_name"],
            counter_name=notice["counter_name"],
            ticket_number=notice["ticket_number"] or "",
            issued_at=(notice["issued_at"] or "")[:16].replace("T", " "),
            missing=tuple(notice["missing"]),
            note=notice["note"] or "",
            ticket_id=ticket_id,
        )
        return render_notice(slip)

    def submit_notice(self, hall: Hall, kiosk: Kiosk, notice: dict[str, Any], ticket_id: str = "") -> None:
        """Print a 一次性告知 notice (the body of GET /notices/{code}) on a server-printed kiosk's printer.

        Not a print job row: best effort, not sent again (the code is on the counter page). An agent's
        kiosk gets it as a `print` event whose job starts with NOTICE_JOB (its agents print it as a slip).
        """
        if kiosk.printer.kind == "none":
            return
        data = self._notice_bytes(hall, notice, ticket_id)
        if not kiosk.printer.by_server:
            code = notice["code"]
            job = {"job": NOTICE_JOB + secrets.token_hex(8), "ticket": ticket_id, "number": code, "data": data}
            self.socketio.emit("print", job, namespace=AGENT_NS, to=agent_room(kiosk.id))
            return
        self.socketio.start_background_task(self._deliver_notice, f"kiosk {kiosk.id}", kiosk.printer, data)

    def submit_slip(self, printer: Printer, where_label: str, slip: Slip, kiosk: str = "") -> bool:
        """Print a matter's slip (a receipt 受理回执, or a 代理服务委托书) on a counter's or kiosk's printer, in
        its paper and text mode; best effort like a notice (the case number stays on the counter's pages).
        False when it cannot even be drawn (a raster printer without its CJK font)."""
        from printers.fonts import FontMissing

        try:
            data = slip.draw(printer.paper, printer.text)
        except FontMissing as e:
            log.error("%s prints raster slips: %s", where_label, e)
            return False
        if printer.kind == "agent":  # a kiosk agent prints it as it prints a notice: no job row behind it
            job = {"job": NOTICE_JOB + secrets.token_hex(8), "ticket": "", "number": slip.number, "data": data}
            self.socketio.emit("print", job, namespace=AGENT_NS, to=agent_room(kiosk))
            return True
        self.socketio.start_background_task(self._deliver_notice, where_label, printer, data, slip.what)
        return True

    def _deliver_notice(self, where_label: str, printer: Printer, data: bytes, what: str = "a notice") -> None:
        from printers import drivers

        kind, where = self._address(printer)
        try:
            if not kind:
                raise drivers.PrinterError("the virtual printer is not running", nothing_printed=True)
            drivers.deliver(kind, data, **where)
        except drivers.PrinterError as e:
            log.warning("%s did not print %s: %s", where_label, what, e)
        except Exception:  # a notice must never take the server down
            log.exception("printing %s on %s failed", what, where_label)

    def _address(self, p: Printer) -> tuple[str, dict[str, Any]]:
        """The driver kind and keywords for a configured printer; the virtual one is a local network printer."""
        if p.kind == "virtual":
            return ("network", {"host": "127.0.0.1", "port": self.virtual.port}) if self.virtual else ("", {})
        where = {
            "host": p.host,
            "port": p.port,
            "path": p.path,
            "usb_vendor": p.usb_vendor,
            "usb_product": p.usb_product,
            "baudrate": p.baudrate,
        }
        return p.kind, where

    # -- printer states ------------------------------------------------------------------------------

    def state(self, kiosk: Kiosk) -> str:
        return print_jobs.printer_state(self.ctx, kiosk)

    def set_state(self, hall_id: str, kiosk_id: str, state: str, wake: bool = True) -> None:
        """Record a printer's state; on a change tell the pages, and send waiting jobs when it is ready again."""
        before = print_jobs.set_printer_state(self.ctx, hall_id, kiosk_id, state)
        if before is None:
            return
        body = {"kiosk": kiosk_id, "state": state, "at": self.ctx.clock.now().isoformat(timespec="seconds")}
        for namespace in (AGENT_NS, "/admin"):
            self.socketio.emit("printer", body, namespace=namespace, to=f"hall:{hall_id}")
        found = self.ctx.config.find_kiosk(kiosk_id)
        for listener in self.on_change if found is not None else ():
            try:
                listener(found[1], state)  # type: ignore[index]
            except Exception:  # telling the pages or staff must never stop printing
                log.exception("a printer state listener failed for kiosk %s", kiosk_id)
        if state in print_jobs.READY and before not in print_jobs.READY:
            print_jobs.release_all(self.ctx, kiosk_id)
            if wake and kiosk_id in self._wake:
                self._wake[kiosk_id].set()

    def poll(self) -> None:
        """Ask every server-printed kiosk's printer for its state (a scheduled job)."""
        polled = [(h, k) for h, k in self.kiosks() if k.printer.by_server and k.printer.kind != "file"]
        if not polled:
            return  # no printer to ask: the printer stack (python-escpos) is not even imported
        from printers import drivers

        for hall, kiosk in polled:
            kind, where = self._address(kiosk.printer)
            if kind:
                self.set_state(hall.id, kiosk.id, drivers.status(kind, **where))

    def _job_event(self, hall_id: str, job: print_jobs.Claimed, status: str, error: str | None = None) -> None:
        body = {
            "job": job.job,
            "ticket": job.ticket,
            "number": job.number,
            "kiosk": job.kiosk,
            "status": status,
            "reprint": job.reprint,
            "error": error,
        }
        self.socketio.emit("print_job", body, namespace=AGENT_NS, to=kiosk_room(job.kiosk))
        self.socketio.emit("print_job", body, namespace="/admin", to=f"hall:{hall_id}")

    # -- kiosk agents --------------------------------------------------------------------------------

    def _push_to_agent(self, kiosk: Kiosk) -> None:
        """Hand the kiosk's pending jobs to its agent, if one is connected (to any server process)."""
        if not print_jobs.agent_connected(self.ctx, kiosk.id):
            return
        for job in print_jobs.claim(self.ctx, kiosk.id, AGENT_LEASE_S):
            data = self.render(job, kiosk)
            if data is None:
                continue
            body = {"job": job.job, "ticket": job.ticket, "number": job.number, "reprint": job.reprint, "data": data}
            self.socketio.emit("print", body, namespace=AGENT_NS, to=agent_room(kiosk.id))
            hall_id = self.ctx.config.find_kiosk(kiosk.id)[0].id  # type: ignore[index]
            self._job_event(hall_id, job, "sent")

    def agent_connect(self, auth: dict[str, Any]) -> bool:
        """An agent connects with its kiosk's token; refused unless that kiosk is printed by an agent."""
        token = auth.get("token")
        p = authenticate_token(self.ctx, token) if isinstance(token, str) else None
        if p is None or p.role != "kiosk" or p.kiosk is None:
            raise ConnectionRefusedError("unauthorized: a kiosk token (hallq token create --kiosk K) is needed")
        found = self.ctx.config.find_kiosk(p.kiosk)
        if found is None or found[1].printer.kind != "agent":
            raise ConnectionRefusedError(f'kiosk {p.kiosk} is not printed by an agent (printer kind "agent")')
        hall, kiosk = found
        sid = request.sid  # type: ignore[attr-defined]
        if self.on_agent is not None:
            self.on_agent(p)
        self._agents[sid] = kiosk.id
        join_room(agent_room(kiosk.id))
        print_jobs.set_agent(self.ctx, hall.id, kiosk.id, sid)
        # Whatever was handed to an earlier connection and not acknowledged goes out again (补打) as soon
        # as the agent reports a ready printer: its first `printer` event, sent once it is connected.
        print_jobs.release_all(self.ctx, kiosk.id)
        log.info("kiosk agent for %s connected", kiosk.id)
        return True

    def register(self, socketio: SocketIO) -> None:
        """The agents' events on /kiosk (their connect goes through realtime's /kiosk connect)."""

        @socketio.on("disconnect", namespace=AGENT_NS)
        def agent_gone(*_: Any) -> None:
            kiosk_id = self._agents.pop(request.sid, None)  # type: ignore[attr-defined]
            if kiosk_id is None:
                return
            found = self.ctx.config.find_kiosk(kiosk_id)
            if found is not None:
                print_jobs.set_agent(self.ctx, found[0].id, kiosk_id, None, only_if=request.sid)  # type: ignore[attr-defined]
                self.set_state(found[0].id, kiosk_id, "offline")
            log.info("kiosk agent for %s disconnected", kiosk_id)

        @socketio.on("printed", namespace=AGENT_NS)
        def agent_printed(body: Any = None) -> dict[str, Any]:
            kiosk_id = self._agents.get(request.sid)  # type: ignore[attr-defined]
            if kiosk_id is None or not _job_named(body):
                return {"error": {"code": "invalid_body", "message": "printed needs {job} from a kiosk agent"}}
            if body["job"].startswith(NOTICE_JOB):
                log.info("kiosk %s printed a notice", kiosk_id)
                return {"ok": True}
            done = print_jobs.printed(self.ctx, body["job"], kiosk_id)
            if done is None:
                return {"error": {"code": "not_found", "message": "unknown print job"}}
            self._job_event(done[0], done[1], "printed")
            return {"ok": True}

        @socketio.on("failed", namespace=AGENT_NS)
        def agent_failed(body: Any = None) -> dict[str, Any]:
            kiosk_id = self._agents.get(request.sid)  # type: ignore[attr-defined]
            if kiosk_id is None or not _job_named(body):
                return {"error": {"code": "invalid_body", "message": "failed needs {job} from a kiosk agent"}}
            error = str(body.get("error", "printer failed")).replace("\x00", "")[:200]
            if body["job"].startswith(NOTICE_JOB):  # best effort, like a server-printed notice
                log.warning("kiosk %s did not print a notice: %s", kiosk_id, error)
                return {"ok": True}
            print_jobs.failed(self.ctx, body["job"], kiosk_id, error, body.get("nothing_printed") is True, RETRY_S)
            state = body.get("state")
            found = self.ctx.config.find_kiosk(kiosk_id)
            if found is not None and state in print_jobs.STATES:
                self.set_state(found[0].id, kiosk_id, state)
            return {"ok": True}

        @socketio.on("printer", namespace=AGENT_NS)
        def agent_printer(body: Any = None) -> dict[str, Any]:
            kiosk_id = self._agents.get(request.sid)  # type: ignore[attr-defined]
            state = body.get("state") if isinstance(body, dict) else None
            found = self.ctx.config.find_kiosk(kiosk_id) if kiosk_id else None
            if found is None or state not in print_jobs.STATES:
                return {"error": {"code": "invalid_body", "message": "printer needs {state} from a kiosk agent"}}
            self.set_state(found[0].id, kiosk_id, state)  # type: ignore[arg-type]
            if state in print_jobs.READY and kiosk_id in self._wake:
                self._wake[kiosk_id].set()  # (re)connected or ready again: hand over what waits
            return {"ok": True}


_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _job_named(body: Any) -> bool:
    """An agent's `printed`/`failed` names a job as the server made it: short, plain (a NUL would reach
    PostgreSQL and fail there)."""
    return isinstance(body, dict) and isinstance(body.get("job"), str) and _JOB_ID.fullmatch(body["job"]) is not None


class Slip:
    """A matter's slip to print: what it is (for the log), its case number, and its bytes for a paper and mode."""

    def __init__(self, what: str, number: str, draw: Callable[[int, str], bytes]) -> None:
        self.what, self.number, self.draw = what, number, draw


def receipt_slip(facts: dict[str, Any]) -> Slip:
    """The receipt (受理回执) of services.matters.receipt's facts."""
    from printers.receipt import Receipt, render_receipt

    receipt = Receipt(**facts)
    return Slip("a receipt", receipt.number, lambda paper, text: render_receipt(receipt, paper, text))


def commission_slip(facts: dict[str, Any]) -> Slip:
    """The 代理服务委托书 of services.matters.commission's facts."""
    from printers.commission import Commission, render_commission

    commission = Commission(**facts)
    return Slip("a commission", commission.number, lambda paper, text: render_commission(commission, paper, text))


def _pickup(row: Any) -> str:
    """A 领取 ticket (a matter's result to pick up) says so on the slip (PROTOCOL v1.2)."""
    return " 【领取】" if getattr(row, "pickup_of", None) is not None else ""


def _booked(hall: Hall, row: Any) -> str:
    """An appointment's ticket says 预约 and its booked time on the slip (PROTOCOL v1.2)."""
    at = getattr(row, "appointment_at", None)
    return f" 【预约 {hall.local(at):%H:%M}】" if at is not None else ""
