"""Staff alerts about kiosk printers out of paper or offline (a printer low on paper still prints).

A minimal list until the hall-wide alerts of the reports issue land on main (long waits, queues nobody
serves, complaint deadlines, printers), in the same shape as theirs, so /admin reads either:
`{"id", "kind": "printer", "key": "printer:<kiosk>:<state>", "detail": {"kiosk", "state"}, "raised_at",
"cleared_at"}`. Kept in this process, from the printer states it polls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine.model import Hall, Kiosk
from server.services import views

TROUBLE = ("paper_out", "offline")


class PrinterAlerts:
    def __init__(self) -> None:
        self._raised: dict[str, tuple[str, datetime]] = {}  # kiosk id -> (state, raised at)

    def changed(self, hall: Hall, kiosk: Kiosk, state: str, now: datetime) -> list[dict[str, Any]]:
        """Note a printer's new state; the alerts it raised or cleared, for /admin's `alert` event."""
        out: list[dict[str, Any]] = []
        before = self._raised.pop(kiosk.id, None)
        if before is not None:
            out.append(_body(hall, kiosk.id, before[0], before[1], cleared_at=now))
        if state in TROUBLE:
            self._raised[kiosk.id] = (state, now)
            out.append(_body(hall, kiosk.id, state, now))
        return out

    def active(self, hall: Hall) -> list[dict[str, Any]]:
        """The hall's printer alerts not yet cleared, oldest first."""
        raised = [(at, k.id, state) for k in hall.kiosks if k.id in self._raised for state, at in [self._raised[k.id]]]
        return [_body(hall, kiosk, state, at) for at, kiosk, state in sorted(raised)]


def _body(
    hall: Hall, kiosk: str, state: str, raised_at: datetime, cleared_at: datetime | None = None
) -> dict[str, Any]:
    key = f"printer:{kiosk}:{state}"
    return {
        "id": key,
        "kind": "printer",
        "key": key,
        "detail": {"kiosk": kiosk, "state": state},
        "raised_at": views.iso(hall, raised_at),
        "cleared_at": views.iso(hall, cleared_at),
    }
