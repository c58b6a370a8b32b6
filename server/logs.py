"""Structured log lines carrying the request id; residents' data is never logged."""

from __future__ import annotations

import logging
import re

from flask import g, has_request_context

from server.engine.privacy import mask_personal

# What opens a resident's page or notice: the ticket's track token (/t/, /track/, the kiosk's QR picture of
# it) and a 一次性告知 notice code (/notices/, notice=).
_OPENING_PATHS = r"/t/|/track/|/kiosk/qr/|/notices/"
_TOKENISH = re.compile(rf"({_OPENING_PATHS}|token=|notice=)[A-Za-z0-9_-]{{8,}}")
_TOKEN_PATH = re.compile(rf"({_OPENING_PATHS})[^/?#]+")
# An appointment's code (PROTOCOL v1.2) is what shows, changes or cancels it: /api/v1/appointments/<code>, and
# the booking page's /book/<hall>/<code> (with .ics and /cancel after it; /book/<hall>/remote is a page).
_CODE_PATH = re.compile(r"(/api/v1/appointments/|/book/[^/?#]+/)(?!remote(?:[/?#]|$))[^/?#.]+")


def mask_path(path: str) -> str:
    """A request path for the access log: a ticket's token, a notice or an appointment's code becomes ***."""
    return mask(_CODE_PATH.sub(r"\1***", _TOKEN_PATH.sub(r"\1***", path)))


def mask(text: str) -> str:
    """Hide ticket tokens, notice codes, mobile numbers and ID card numbers in a log line."""
    return mask_personal(_TOKENISH.sub(lambda m: m.group(1) + "***", text))


# Control characters from a request (a path's %0A) would start a forged line of their own: written as \xNN.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _Masking(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return mask(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """The line itself, one line whatever it quotes (a traceback, added after it, keeps its lines)."""
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", super().formatMessage(record))


def masking_formatter(fmt: str) -> logging.Formatter:
    """A formatter that masks tokens, phones and ID numbers (and fills %(request_id)s)."""
    return _Masking(fmt)


def _not_library_chatter(record: logging.LogRecord) -> bool:
    """python-escpos logs every connection at INFO on the root logger; keep only its warnings."""
    return record.levelno >= logging.WARNING or "escpos" not in record.pathname


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_not_library_chatter)
    handler.setFormatter(_Masking("%(asctime)s %(levelname)s %(name)s rid=%(request_id)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter (every scheduler tick, every migration step) would bury the hall's own lines.
    # gevent-websocket's handler logs every request at INFO (async_mode = "gevent"): hallq.access does that.
    for library in ("alembic", "apscheduler", "geventwebsocket"):
        logging.getLogger(library).setLevel(max(logging.WARNING, root.level))
