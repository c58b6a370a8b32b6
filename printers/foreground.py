"""Commands that run in the foreground until stopped: `hallq printer-emulator` and `hallq kiosk-agent`."""

from __future__ import annotations

import signal
from typing import Any


def stop_on_interrupt_or_term() -> None:
    """Ctrl-C and SIGTERM stop the command cleanly (as KeyboardInterrupt), even when the shell that started
    it in the background left SIGINT ignored (a script's `cmd &` does, and its children inherit that)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
