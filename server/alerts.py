"""Staff alerts about kiosk printers: out of paper, low on paper, or offline.

A minimal list until the hall-wide alerts of the reports issue land: what is wrong now, from the
printers' current states, with the moment each went wrong as this process saw it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine.model import Hall, Kiosk
from server.services import views

TROUBLE = ("paper_low", "paper_out", "offline")  # "ok" and "none" (no printer) need nobody


class PrinterAlerts:
    def __init__(self) -> None:
        self._since: dict[str, datetime] = {}

    def changed(self, kiosk: Kiosk, state: str, now: datetime) -> None:
        """Note when a printer went wrong (or forget it when it is right again)."""
        if state in TROUBLE:
            self._since[kiosk.id] = now
        else:
            self._since.pop(kiosk.id, None)

    def alert(self, hall: Hall, kiosk: Kiosk, state: str) -> dict[str, Any]:
        """The alert body for one kiosk printer: `active` false once the printer is fine again."""
        since = self._since.get(kiosk.id)
        return {
            "kind": "printer",
            "kiosk": kiosk.id,
            "kiosk_name": kiosk.name,
            "state": state,
            "active": state in TROUBLE,
            "since": views.iso(hall, since) if since is not None and state in TROUBLE else None,
        }

    def active(self, hall: Hall, state_of: Any) -> list[dict[str, Any]]:
        """Every kiosk printer of the hall that needs staff now; `state_of(kiosk)` gives its state."""
        states = [(k, state_of(k)) for k in hall.kiosks]
        return [self.alert(hall, k, state) for k, state in states if state in TROUBLE]
