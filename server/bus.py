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

    # -- one forecast for every process (services.board): made by one, read by the others ---------------

    def fetch_board(self, hall_id: str) -> tuple[bytes, float, str] | None:
        """The hall's last board any process stored: its JSON, when it was made (epoch seconds), by whom."""
        try:
            found = self.client.hmget(self._board_key(hall_id), "board", "made", "by")
        except Exception as e:  # noqa: BLE001 - Redis away: this process makes its own
            log.warning("could not read the shared forecast: %s", e)
            return None
        if not found or found[0] is None or found[1] is None:
            return None
        return found[0], float(found[1]), (found[2] or b"").decode()

    def claim_board(self, hall_id: str, for_s: float) -> bool:
        """Whether this process is to make the hall's board now (no other process is making it)."""
        try:
            making = self._board_key(hall_id) + ":making"
            return bool(self.client.set(making, self.origin, nx=True, px=int(for_s * 1000)))
        except Exception:  # noqa: BLE001 - Redis away: make it here
            return True

    def store_board(self, hall_id: str, text: str, keep_s: float) -> None:
        """Share the board just made, and let another process make the next one."""
        key = self._board_key(hall_id)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping={"board": text, "made": repr(time.time()), "by": self.origin})
                pipe.pexpire(key, int(keep_s * 1000))
                pipe.delete(key + ":making")
                pipe.execute()
        except Exception as e:  # noqa: BLE001 - the others make their own until Redis is back
            log.warning("could not share the forecast: %s", e)

    def release_board(self, hall_id: str) -> None:
        try:
            self.client.delete(self._board_key(hall_id) + ":making")
        except Exception as e:  # noqa: BLE001 - it expires on its own
            log.warning("could not hand the forecast on: %s", e)

    def _board_key(self, hall_id: str) -> str:
        return f"{self.channel}:board:{hall_id}"

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
