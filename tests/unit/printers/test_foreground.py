"""Ctrl-C and SIGTERM for the foreground commands (`hallq printer-emulator`, `hallq kiosk-agent`)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from printers.foreground import stop_on_interrupt_or_term


@pytest.fixture
def handlers() -> Iterator[None]:
    """The test installs the commands' handlers in this process: put pytest's back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_first_signal_asks_the_command_to_stop_without_raising(handlers: None, stop: int) -> None:
    """A signal that lands in the middle of start-up (the banner's print, say) must not escape as a traceback:
    the first one only sets the event the command's main loop waits on."""
    stopped = stop_on_interrupt_or_term()

    os.kill(os.getpid(), stop)  # the handler runs here, in the main thread, before kill returns

    assert stopped.is_set()


def test_a_second_signal_stops_at_once(handlers: None) -> None:
    stopped = stop_on_interrupt_or_term()
    os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    assert stopped.is_set()


def test_the_agent_s_own_event_is_the_one_set(handlers: None) -> None:
    mine = threading.Event()
    assert stop_on_interrupt_or_term(mine) is mine
    os.kill(os.getpid(), signal.SIGTERM)
    assert mine.is_set()
