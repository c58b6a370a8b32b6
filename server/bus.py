"""Telling the other server processes that a hall changed (Redis pub/sub beside the message queue).

With several processes (`[server] message_queue`), Socket.IO messages reach every process's clients
through Redis, but a process only knows its own use cases' events. A resident's page shows a place
and an estimate that move when anyone's process calls or issues; so each delivered batch announces the
halls it changed and the tickets whose body changed, one small message, and each other process sends the
residents' pages connected to IT what concerns them (realtime.Publisher): no process builds a page's body
for a page connected elsewhere, and a process with no page of a hall does nothing for it. Work per
announcement: a few set and dict inserts.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("hallq")

RETRY_S = 1.0  # after Redis went away: listen again this much later


@dataclass
class Heard:
    """One announcement of another process: what its delivered batch changed."""

    halls: list[str]
    tickets: dict[str, str] = field(default_factory=dict)  # ticket id → hall: its `ticket` body changed


class HallBus:
    """Announces changed halls to the other processes and hears theirs (never its own)."""

    def __init__(self, url: str, channel: str, heard: Callable[[Heard], None]) -> None:
        import redis  # a dependency already (Socket.IO's message queue); imported only when used

        self.client: Any = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self.listener: Any = redis.Redis.from_url(url, socket_connect_timeout=5)  # blocks on reads: no timeout
        self.channel = f"{channel}:halls"
        self.origin = secrets.token_hex(8)
        self.heard = heard
        self.stopped = False

    def announce(self, halls: Iterable[str], tickets: Mapping[str, str] | None = None) -> None:
        """Best effort: a page that misses one refresh gets the next, or resyncs on reconnect."""
        names = sorted(halls)
        if not names:
            return
        message: dict[str, Any] = {"o": self.origin, "h": names}
        if tickets:
            message["t"] = dict(tickets)
        try:
            self.client.publish(self.channel, json.dumps(message))
        except Exception as e:  # noqa: BLE001 - Redis away: Socket.IO's own queue says so louder
            log.warning("could not announce a hall change: %s", e)

    def listen(self) -> None:
        """Run for ever (a background task): every other process's announcement calls `heard(hall)`."""
        while not self.stopped:
            try:
                pubsub = self.listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                for message in pubsub.listen():
                    if self.stopped:
                        return
                    self._take(message)
            except Exception as e:  # noqa: BLE001 - Redis restarted: listen again
                log.warning("hall announcements: %s; listening again in %.0f s", e, RETRY_S)
                time.sleep(RETRY_S)

    def _take(self, message: Any) -> None:
        if message.get("type") != "message":
            return
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if not isinstance(data, dict) or data.get("o") == self.origin:
            return
        halls = [h for h in data.get("h", ()) if isinstance(h, str)]
        tickets = data.get("t")
        if not isinstance(tickets, dict):
            tickets = {}
        self.heard(Heard(halls, {t: h for t, h in tickets.items() if isinstance(h, str)}))
