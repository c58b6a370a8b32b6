"""Printing tickets after commit, off the request path, on each kiosk's printer.

Jobs wait in a queue in this process and a background task sends them; a printer that
fails marks its kiosk `offline` and the ticket is still valid (its number is on screen).
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_socketio import SocketIO

from server.config import Config
from server.engine.model import Hall, Kiosk, Printer

if TYPE_CHECKING:
    from printers.virtual import VirtualPrinter

log = logging.getLogger("hallq.printing")


@dataclass(frozen=True)
class Job:
    kiosk: Kiosk
    data: bytes
    number: str


class Printing:
    def __init__(self, config: Config, socketio: SocketIO) -> None:
        self.config = config
        self.socketio = socketio
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.states: dict[str, str] = {}
        self.virtual: VirtualPrinter | None = None
        self._started = False

    @property
    def printed_dir(self) -> Path:
        return self.config.settings.data_dir / "printed"

    def start(self) -> None:
        """Start the virtual printer (if a kiosk uses one) and the sending task."""
        if self._started:
            return
        self._started = True
        kinds = {k.printer.kind for h in self.config.halls for k in h.kiosks}
        if "virtual" in kinds:
            from printers.virtual import VirtualPrinter  # the printer stack loads only where a kiosk prints

            self.printed_dir.mkdir(parents=True, exist_ok=True)
            self.virtual = VirtualPrinter(self.printed_dir)
            self.virtual.start()
        if kinds - {"none"}:
            self.socketio.start_background_task(self._worker)

    def submit(self, hall: Hall, kiosk: Kiosk, issued: Any, track_url: str) -> None:
        """Queue the ticket for its kiosk's printer."""
        if kiosk.printer.kind == "none":
            return
        from printers import layout
        from printers.slip import Slip

        ticket = issued.ticket
        service = hall.service(ticket.service_id)
        slip = Slip(
            ticket_id=ticket.id,
            number=ticket.number,
            hall_name=hall.name,
            service_name=service.name if service else ticket.service_id,
            issued_at=hall.local(ticket.issued_at).strftime("%Y-%m-%d %H:%M"),
            ahead=issued.ahead,
            est_wait_min=max(1, round(issued.est_wait_s / 60)) if issued.est_wait_s else 0,
            track_url=track_url,
            priority=ticket.priority,
            materials=service.materials if service else (),
            served_now=issued.served_now,
        )
        self.jobs.put(Job(kiosk, layout.render(slip), ticket.number))

    def state(self, kiosk: Kiosk) -> str:
        if kiosk.printer.kind == "none":
            return "none"
        return self.states.get(kiosk.id, "ok")

    def poll(self) -> None:
        """Ask every kiosk's printer for its state (a scheduled job: paper low or out shows on /kiosks)."""
        polled = [k for h in self.config.halls for k in h.kiosks if k.printer.kind not in ("none", "file")]
        if not polled:
            return  # no printer to ask: the printer stack (python-escpos) is not even imported
        from printers import drivers

        for kiosk in polled:
            kind, where = self._address(kiosk.printer)
            if kind:
                self.states[kiosk.id] = drivers.status(kind, **where)

    def _worker(self) -> None:
        from printers import drivers

        while True:
            job = self.jobs.get()
            try:
                self._send(job)
                self.states[job.kiosk.id] = "ok"
            except drivers.PrinterError as e:
                self.states[job.kiosk.id] = "offline"
                log.warning("printer of kiosk %s failed for ticket %s: %s", job.kiosk.id, job.number, e)
            except Exception:  # the sender must outlive any one job
                self.states[job.kiosk.id] = "offline"
                log.exception("printing ticket %s on kiosk %s failed", job.number, job.kiosk.id)

    def _send(self, job: Job) -> None:
        from printers import drivers

        kind, where = self._address(job.kiosk.printer)
        if not kind:
            raise drivers.PrinterError("the virtual printer is not running")
        drivers.send(kind, job.data, **where)

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

    def stop(self) -> None:
        if self.virtual is not None:
            self.virtual.stop()
