"""Outbound events (PROTOCOL v1.2): their names, and which endpoints of a hall want which.

Pure: the use cases ask `Hall.wants(event)` before writing an outbox row, so a hall with no
webhook pays nothing on its hot paths; the sender (server/services/outbox.py) fans each row out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

EVENTS = (
    "ticket.issued",
    "ticket.called",
    "ticket.finished",
    "ticket.no_show",
    "ticket.transferred",
    "ticket.near_front",
    "rating.created",
    "complaint.changed",
    "matter.changed",
    "appointment.booked",
    "appointment.cancelled",
    "appointment.missed",
    "appointment.reminder",
    "counter.changed",
)
"""Every event hallq sends; `[[hall.webhook]] events` picks among them (default: all)."""


@dataclass(frozen=True)
class Webhook:
    """One receiver of a hall's events: POSTed, signed with `secret`, retried for `retry_hours`."""

    url: str
    secret: str
    events: frozenset[str] = frozenset(EVENTS)
    retry_hours: int = 72

    def wants(self, event: str) -> bool:
        return event in self.events


BACKOFF_FIRST_S = 10.0  # the wait after the first failed try; it doubles with each try ...
BACKOFF_MAX_S = 3600.0  # ... up to an hour between tries
ANSWER_TIMEOUT_S = 10.0  # PROTOCOL v1.2: 10 s of silence is a failed try
ANSWER_READ_BYTES = 4096  # what is read of a receiver's answer (the rest is never read)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """X-Hallq-Signature: `sha256=` and the hex HMAC-SHA256 with the secret over "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff_s(tries: int, jitter: float) -> float:
    """Seconds to wait after the `tries`-th failed try; `jitter` in [0, 1) spreads the retries of many
    events (and many halls) over the second half of the interval, so a receiver that comes back is not
    hit by all of them at once."""
    interval = min(BACKOFF_FIRST_S * float(2 ** max(tries - 1, 0)), BACKOFF_MAX_S)
    return interval * (0.5 + jitter / 2)


def envelope(event_id: str, event: str, at: str, hall: str, data: dict[str, Any]) -> bytes:
    """The body POSTed to a webhook: `{"id", "event", "at", "hall", "data"}`, UTF-8 JSON."""
    body = {"id": event_id, "event": event, "at": at, "hall": hall, "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers(event_id: str, event: str, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one try (a retry is signed anew with its own timestamp)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "hallq-webhooks/1",
        "X-Hallq-Event": event,
        "X-Hallq-Delivery": event_id,
        "X-Hallq-Timestamp": str(timestamp),
        "X-Hallq-Signature": signature(secret, timestamp, body),
    }
