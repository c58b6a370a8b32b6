"""Commands that run in the foreground until stopped: `hallq printer-emulator` and `hallq kiosk-agent`."""

from __future__ import annotations

import signal
import threading
from typing import Any


def stop_on_interrupt_or_term(stopped: threading.Event | None = None) -> threading.Event:
    """Ctrl-C and SIGTERM set `stopped` (returned), even when the shell that started the command in the
    background left SIGINT ignored (a script's `cmd &` does, and its children inherit that).

    The first signal only sets the event, so it cannot land as an exception in the middle of start-up or
    of a print; the command's main loop waits on the event and shuts down in order. A second signal
    raises KeyboardInterrupt: stop now."""
    event = stopped if stopped is not None else threading.Event()

    def interrupt(signum: int, frame: Any) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    return event
