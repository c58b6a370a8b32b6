"""The message queue between server processes (Redis), and what each process does when it comes back.

Socket.IO events cross processes through Redis pub/sub. While Redis is away every event published is lost,
even to a process's own clients (python-socketio sends them through Redis too): after a 10 s outage the
displays missed every call of it and stayed wrong. So when a process's subscription is restored, the
process sends each of its own clients a fresh state (the same messages as on connect: a display's snapshot,
a kiosk's services, a counter's state, a resident's ticket, a manager's figures), locally, not through Redis:
a screen is wrong for at most the outage and a second. The listener also retries every second (python-
socketio's own doubles its wait up to a minute).
"""

from __future__ import annotations

import logging
import math
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

import socketio  # type: ignore[import-untyped]

from server import realtime
from server.services import alerts, halls, notice_line, queue, tickets
from server.services.context import Context
from server.store.models import TicketRow

log = logging.getLogger("hallq")
RETRY_S = 1.0
ORDERED_TIMEOUT_S = 2.0  # the ordered sends' Redis client waits at most this (a request waits on it) ...
ORDERED_BACKOFF_S = 5.0  # ... and after a failure is not used for this long: the process sends on its own
# The host id of messages that every process handles from the queue, the sender's own included (python-socketio
# skips a message whose host id is its own): every screen then gets them in the one order Redis published them.
EVERYONE = "hallq-everyone"
# A read's number: the shared counter of `key`, and the numbering's epoch (made when the counter is, so that a
# counter lost with Redis's data starts a new epoch: a number of the old one never outranks the new ones).
_NUMBER = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
return {epoch, redis.call('HINCRBY', KEYS[1], 'next', 1)}
"""
# Publish the calls (ARGV[4 .. 3+ARGV[3]]) and then, unless a later read of the same key was sent already, the
# counts of read ARGV[2] of epoch ARGV[1] (the rest). One step: the screens get a later read's counts after an
# earlier one's whatever process sent either, and a call's counts right behind it. 1: all sent; 0: the counts
# were older than the last sent; -1: their numbering is gone (Redis lost its data): the caller counts again.
_SEND = """
local calls = tonumber(ARGV[3])
for i = 4, 3 + calls do redis.call('PUBLISH', KEYS[2], ARGV[i]) end
if #ARGV == 3 + calls then return 1 end
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return -1 end
if tonumber(redis.call('HGET', KEYS[1], 'sent') or '0') >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'sent', ARGV[2])
for i = 4 + calls, #ARGV do redis.call('PUBLISH', KEYS[2], ARGV[i]) end
return 1
"""


class ResyncingRedisManager(socketio.RedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager that calls `on_reconnect` (in a background task) when its subscription
    is restored after a failure, and retries every RETRY_S."""

    def __init__(self, url: str, channel: str) -> None:
        # A connect that hangs (an unreachable host) is bounded; a read is not: the subscription waits for messages.
        # Keepalive probes find a subscription whose peer is gone (a NAT's idle timeout, a failover) within about
        # a minute: it is made again and this process's clients resync, rather than hearing nothing for good.
        options: dict[str, Any] = {"socket_connect_timeout": ORDERED_TIMEOUT_S, "socket_keepalive": True}
        if hasattr(socket, "TCP_KEEPIDLE"):
            options["socket_keepalive_options"] = {socket.TCP_KEEPIDLE: 30, socket.TCP_KEEPINTVL: 10,
                                                   socket.TCP_KEEPCNT: 3}  # fmt: skip
        super().__init__(url, channel=channel, write_only=False, redis_options=options)
        self._subscriber: Any = None  # the subscription's client (_redis_connect)
        self.on_reconnect: Callable[[], None] | None = None
        self._ordered: Any = None  # the ordered sends' own client (bounded waits, and a back-off of its own)
        self._ordered_down_until = 0.0
        self._scripts: dict[str, Any] = {}

    def _redis_connect(self) -> None:
        """python-socketio's connect, and then its publishing client replaced by one whose waits are bounded: a
        Redis that stops answering delays a clerk's request at most ORDERED_TIMEOUT_S a try (python-socketio
        tries twice), never forever. The subscription keeps the first client: it waits for messages unbounded."""
        super()._redis_connect()
        self._subscriber = getattr(self, "redis", None)  # kept alive: dropping it would close the pubsub's pool
        self.redis = self._timed_client()

    def _timed_client(self) -> Any:
        return self._get_redis_module().Redis.from_url(
            self.redis_url, socket_timeout=ORDERED_TIMEOUT_S, socket_connect_timeout=ORDERED_TIMEOUT_S
        )

    def number(self, key: str) -> tuple[str, int]:
        """The next number of `key`'s reads and its epoch, shared by every process on this channel."""
        epoch, n = self._call(_NUMBER, [self._key(key)], [secrets.token_hex(8)])
        return (epoch.decode() if isinstance(epoch, bytes) else str(epoch)), int(n)

    def send(
        self,
        calls: list[realtime.Message],
        key: str = "",
        counts: tuple[str, int, list[realtime.Message]] | None = None,
    ) -> int:
        """Publish `calls`, then `counts` (the epoch and number of their read, and their messages) unless a read
        of `key` numbered later went out already, for every process to send its clients, this one's too, in
        Redis's one order (realtime.OrderedQueue). 1: all sent; 0: the counts were older; -1: their numbering
        is gone. Raises while Redis is away, and for ORDERED_BACKOFF_S after a failure."""
        args = ["", 0] if counts is None else [counts[0], counts[1]]
        payloads = [self._payload(m) for m in calls] + [self._payload(m) for m in (counts[2] if counts else [])]
        return int(self._call(_SEND, [self._key(key or "calls"), self.channel], [*args, len(calls), *payloads]))

    def retry_in(self) -> float:
        """Seconds until the ordered sends are tried again after a failure (0: now)."""
        return max(0.0, self._ordered_down_until - time.monotonic())

    def _key(self, key: str) -> str:
        return f"{self.channel}:{key}"

    def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run one script on the ordered sends' client (EVALSHA, loaded once); raises while Redis is away (and for
        ORDERED_BACKOFF_S after a failure: a request is kept waiting at most ORDERED_TIMEOUT_S once per back-off)."""
        if time.monotonic() < self._ordered_down_until:
            raise ConnectionError("the message queue failed less than 5 s ago")
        if self._ordered is None:
            self._ordered = self._timed_client()
        if script not in self._scripts:
            self._scripts[script] = self._ordered.register_script(script)
        try:
            return self._scripts[script](keys=keys, args=args)
        except Exception as e:
            if _refused(self._get_redis_module(), e):
                # Redis refuses the scripts (an ACL without scripting, EVAL disabled): no outage, and it lasts.
                # The process sends as before ordered counts (retry_in is infinite: realtime stops asking).
                log.error("the message queue refuses Lua scripts (%s): counts are sent unordered across processes", e)
                self._ordered_down_until = math.inf
                raise
            self._ordered_down_until = time.monotonic() + ORDERED_BACKOFF_S
            raise

    def _payload(self, message: realtime.Message) -> str:
        """What python-socketio's PubSubManager.emit publishes for a plain (not binary, no callback) event."""
        event, data, namespace, room = message
        return str(
            self.json.dumps(
                {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": namespace,
                 "room": room, "skip_sid": None, "callback": None, "host_id": EVERYONE}
            )
        )  # fmt: skip

    def _redis_listen_with_retries(self) -> Any:  # python-socketio's loop, with the hook and a short retry
        lost = False
        while True:
            try:
                self._redis_connect()
                pubsub = self.pubsub  # its own: a failed publish makes self.pubsub anew, not this subscription
                pubsub.subscribe(self.channel)
                if lost:
                    lost = False
                    log.warning("message queue reachable again: sending every client of this process a fresh state")
                    if self.on_reconnect is not None:
                        self.server.start_background_task(self.on_reconnect)
                yield from pubsub.listen()
            except Exception as exc:  # noqa: BLE001 - any failure of the connection: retry
                if not lost:
                    log.error("message queue unreachable (%s): events to pages are lost until it is back", exc)
                lost = True
                time.sleep(RETRY_S)  # green under eventlet or gevent (monkey-patched)


def _refused(module: Any, e: Exception) -> bool:
    """Whether Redis refused the command itself (no permission, or no such command), not failed to run it."""
    exceptions = module.exceptions
    if isinstance(e, exceptions.NoPermissionError):
        return True
    return isinstance(e, exceptions.ResponseError) and str(e).lower().startswith(("unknown command", "unknown or"))


def socketio_options(message_queue: str | None, channel: str) -> dict[str, Any]:
    """SocketIO's message-queue arguments: our manager for Redis, else Flask-SocketIO's choice (or none)."""
    if message_queue and message_queue.startswith(("redis://", "rediss://")):
        return {"client_manager": ResyncingRedisManager(message_queue, channel)}
    return {"message_queue": message_queue, "channel": channel}


def install(sio: Any, ctx: Context, printer_state: Callable[[Any], str] | None = None) -> None:
    """Resync this process's clients whenever its Redis subscription comes back."""
    manager = sio.server.manager
    if isinstance(manager, ResyncingRedisManager):

        def hook() -> None:
            resync(sio, ctx, printer_state)

        manager.on_reconnect = hook


def resync(sio: Any, ctx: Context, printer_state: Callable[[Any], str] | None = None) -> int:
    """Send every client connected to this process the state its namespace sends on connect; the messages sent."""
    server = sio.server
    sent = 0

    def local(event: str, data: Any, namespace: str, room: str) -> None:
        nonlocal sent
        server.emit(event, data, namespace=namespace, to=room, ignore_queue=True)
        sent += 1

    rooms: dict[str, dict[Any, Any]] = server.manager.rooms
    for namespace, by_room in list(rooms.items()):
        for room in [r for r, members in list(by_room.items()) if isinstance(r, str) and members]:
            kind, _, key = room.partition(":")
            try:
                _resync_room(local, ctx, namespace, kind, key, printer_state)
            except Exception:  # noqa: BLE001 - one room failing (a ticket gone) must not stop the others
                log.exception("resync of %s %s failed", namespace, room)
    return sent


def _resync_room(
    local: Callable[[str, Any, str, str], None],
    ctx: Context,
    namespace: str,
    kind: str,
    key: str,
    printer_state: Callable[[Any], str] | None,
) -> None:
    room = f"{kind}:{key}"
    if kind == "hall" and ctx.config.hall(key) is not None:
        if namespace == "/display":
            local("snapshot", halls.display_snapshot(ctx, key), namespace, room)
            local("notice", notice_line.current(ctx, key), namespace, room)
        elif namespace == "/kiosk":
            local("services", halls.services(ctx, key), namespace, room)
        elif namespace in ("/counter", "/admin"):
            with ctx.db.read() as s:
                local("waiting", queue.waiting_counts(s, ctx.hall(key)), namespace, room)
            if namespace == "/admin":
                local("counters", halls.counters(ctx, key), namespace, room)
                local("alerts", alerts.active(ctx, key), namespace, room)
                local("notice", notice_line.current(ctx, key), namespace, room)
    elif kind == "counter" and namespace == "/counter" and ctx.config.find_counter(key) is not None:
        local("counter", realtime.counter_message(ctx, key), namespace, room)
    elif kind == "kiosk" and namespace == "/kiosk" and printer_state is not None:
        found = ctx.config.find_kiosk(key)
        if found is not None:
            local("printer", {"kiosk": key, "state": printer_state(found[1])}, namespace, room)
    elif kind == "ticket" and namespace == "/track":
        with ctx.db.read() as s:
            row = s.get(TicketRow, key)
            body = tickets.track_body(ctx, s, row) if row is not None else None
        if body is not None:
            local("ticket", body, namespace, room)
