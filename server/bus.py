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


# Delete a claim only if it is still this process's (compare and delete, atomically in Redis).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(frozen=True)
class SharedBoard:
    """A board as another process stored it (services.board.Board.dumps)."""

    text: bytes
    by: str
    fresh: bool


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
        self._away = False  # Redis unreachable (said once)
        self._release = self.client.register_script(_RELEASE)

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

    def fetch_board(self, hall_id: str) -> SharedBoard | None:
        """The hall's last board any process stored, by whom, and whether it is fresh (made within the pause:
        a key that Redis expires, so no two machines' clocks are compared)."""
        key = self._board_key(hall_id)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hmget(key, "board", "by")
                pipe.exists(key + ":fresh")
                (text, by), fresh = pipe.execute()
        except Exception as e:  # noqa: BLE001 - Redis away: this process makes its own
            self._redis_away("could not read the shared forecast", e)
            return None
        self._away = False
        if text is None:
            return None
        return SharedBoard(text, (by or b"").decode(errors="replace"), bool(fresh))

    def claim_board(self, hall_id: str, for_s: float) -> bool:
        """Whether this process is to make the hall's board now (no other process is making it)."""
        try:
            making = self._board_key(hall_id) + ":making"
            return bool(self.client.set(making, self.origin, nx=True, px=int(for_s * 1000)))
        except Exception as e:  # noqa: BLE001 - Redis away: make it here
            self._redis_away("could not claim the shared forecast", e)
            return True

    def store_board(self, hall_id: str, text: str, keep_s: float, fresh_s: float) -> None:
        """Share the board just made (fresh for `fresh_s`), and let another process make the next one."""
        key = self._board_key(hall_id)
        try:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping={"board": text, "by": self.origin})
                pipe.pexpire(key, int(keep_s * 1000))
                if fresh_s > 0:
                    pipe.set(key + ":fresh", "1", px=int(fresh_s * 1000))
                pipe.execute()
        except Exception as e:  # noqa: BLE001 - the others make their own until Redis is back
            self._redis_away("could not share the forecast", e)
        self.release_board(hall_id)

    def release_board(self, hall_id: str) -> None:
        """End this process's claim (only its own: a claim that expired may be another process's by now)."""
        try:
            self._release(keys=[self._board_key(hall_id) + ":making"], args=[self.origin])
        except Exception as e:  # noqa: BLE001 - it expires on its own
            self._redis_away("could not hand the forecast on", e)

    def _redis_away(self, what: str, e: Exception) -> None:
        """Say so once per outage, not on every refresh of every hall."""
        if not self._away:
            self._away = True
            log.warning("%s: %s (each process makes its own forecast until Redis is back)", what, e)

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
