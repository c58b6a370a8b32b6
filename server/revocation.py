"""Live Socket.IO connections end with their credential: a revoked token, an ended session, a disabled user.

Each process notes which of its authenticated connections (counter and admin pages, kiosk agents) came
with which credential. A credential that ends is announced: in this process its connections are
disconnected at once; with a message queue (Redis) the announcement goes out on
`<message_channel>:revoked` and every process, the command line's too, disconnects its own. A sweep every
SWEEP_S checks the noted credentials against the database as well, so a revocation whose announcement was
missed (no Redis, Redis down, a process starting) ends its connections within seconds all the same.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_socketio import SocketIO

from server.auth import Principal, forget_token, live_sessions, live_tokens
from server.config import Settings
from server.services.context import Context

log = logging.getLogger("hallq")
SWEEP_S = 2.0
# A connection is noted inside its connect handler, while Socket.IO still counts it as connecting
# (is_connected is False until the handler returns): a sweep forgets one that is not connected only after this.
CONNECTING_S = 30.0
REDIS_TIMEOUT_S = 2.0


def channel(settings: Settings) -> str:
    return f"{settings.message_channel}:revoked"


@dataclass(frozen=True)
class Held:
    """What a connection was allowed with."""

    token: str | None
    session: str | None
    user: str | None
    at: float = field(default_factory=time.monotonic, compare=False)  # when it was noted


def announce(
    settings: Settings, *, token: str | None = None, session: str | None = None, user: str | None = None
) -> bool:
    """Tell every process sharing the message queue that a credential ended (the CLI's way); False
    without a message queue or when Redis cannot be reached (each process's sweep then finds it)."""
    if not settings.message_queue:
        return False
    import redis

    try:
        client = redis.Redis.from_url(
            settings.message_queue, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        try:
            client.publish(channel(settings), json.dumps({"token": token, "session": session, "user": user}))
        finally:
            client.close()
    except Exception as e:  # noqa: BLE001 - the sweep ends the connections anyway
        log.warning("could not announce a revocation through Redis: %s", e)
        return False
    return True


class LiveCredentials:
    """This process's authenticated Socket.IO connections, by credential."""

    def __init__(self, socketio: SocketIO, ctx: Context) -> None:
        self.socketio = socketio
        self.ctx = ctx
        self._held: dict[tuple[str, str], Held] = {}  # (sid, namespace) → credential
        self._lock = threading.Lock()
        self._sweeping = False
        self._listening = False
        self._stopped = False
        self._sweep_guard = threading.Lock()  # held by a sweep while it reads the database

    def track(self, p: Principal) -> None:
        """Note the connection being accepted now (inside a connect handler)."""
        if p.token_id is None and p.session_id is None:
            return
        key = (request.sid, request.namespace)  # type: ignore[attr-defined]
        with self._lock:
            self._held[key] = Held(p.token_id, p.session_id, p.name if p.session_id else None)
            start = not self._sweeping
            self._sweeping = True
        if start:
            self.socketio.start_background_task(self._sweep_loop)

    def listen(self) -> None:
        """Hear other processes' announcements (with a message queue)."""
        settings = self.ctx.config.settings
        if settings.message_queue and not self._listening:
            self._listening = True
            self.socketio.start_background_task(self._listen, settings)

    def ended(self, *, token: str | None = None, session: str | None = None, user: str | None = None) -> None:
        """A credential ended in this process: its connections here go now, and other processes are told."""
        self.drop(token=token, session=session, user=user)
        announce(self.ctx.config.settings, token=token, session=session, user=user)

    def drop(self, *, token: str | None = None, session: str | None = None, user: str | None = None) -> int:
        """Disconnect this process's connections held with that credential; how many. A token is also no
        longer taken as verified here (auth's per-process cache): its next request reads its row."""
        if token:
            forget_token(token)
        with self._lock:
            gone = [
                key
                for key, held in self._held.items()
                if (token and held.token == token)
                or (session and held.session == session)
                or (user and held.user == user)
            ]
            for key in gone:
                del self._held[key]
        for sid, namespace in gone:
            self._disconnect(sid, namespace)
        return len(gone)

    def _disconnect(self, sid: str, namespace: str) -> None:
        try:
            self.socketio.server.disconnect(sid, namespace=namespace, ignore_queue=True)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - it may have gone by itself meanwhile
            log.debug("disconnecting %s on %s failed", sid, namespace, exc_info=True)

    def sweep(self) -> int:
        """Disconnect connections whose credential ended; forget those that went. How many were cut."""
        manager = self.socketio.server.manager  # type: ignore[attr-defined]
        settled = time.monotonic() - CONNECTING_S
        with self._lock:
            gone = [k for k, h in self._held.items() if h.at < settled and not manager.is_connected(k[0], k[1])]
            for key in gone:
                del self._held[key]
            held = dict(self._held)
        tokens = {h.token for h in held.values() if h.token}
        sessions = {h.session for h in held.values() if h.session}
        good_tokens, good_sessions = live_tokens(self.ctx, tokens), live_sessions(self.ctx, sessions)
        cut = 0
        for key, h in held.items():
            if (h.token and h.token not in good_tokens) or (h.session and h.session not in good_sessions):
                with self._lock:
                    self._held.pop(key, None)
                self._disconnect(*key)
                cut += 1
        return cut

    def stop(self) -> None:
        """No more sweeps (the app is closing: its database goes away); a sweep reading it now ends first."""
        self._stopped = True
        with self._sweep_guard:
            pass

    def _sweep_loop(self) -> None:
        while True:
            self.socketio.sleep(SWEEP_S)  # type: ignore[arg-type]
            with self._lock:
                if not self._held or self._stopped:
                    self._sweeping = False
                    return
            try:
                with self._sweep_guard:
                    if self._stopped:
                        continue  # the check above returns
                    cut = self.sweep()
                if cut:
                    log.info("disconnected %d connection(s) whose credential ended", cut)
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.exception("checking live connections' credentials failed")

    def _listen(self, settings: Settings) -> None:
        import redis

        while True:
            try:
                client = redis.Redis.from_url(settings.message_queue or "", socket_connect_timeout=REDIS_TIMEOUT_S)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel(settings))
                for message in pubsub.listen():  # type: ignore[no-untyped-call]
                    self._heard(message.get("data"))
            except Exception as e:  # noqa: BLE001 - Redis went away: listen again shortly (the sweep covers)
                log.warning("revocation announcements not heard: %s", e)
                self.socketio.sleep(1.0)  # type: ignore[arg-type]

    def _heard(self, data: Any) -> None:
        try:
            body = json.loads(data)
        except (TypeError, ValueError):
            return
        if isinstance(body, dict):
            keys = {k: body.get(k) if isinstance(body.get(k), str) else None for k in ("token", "session", "user")}
            cut = self.drop(**keys)
            if cut:
                log.info("disconnected %d connection(s) of a revoked credential", cut)
