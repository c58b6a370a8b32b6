"""Socket.IO: a bounded number of events per connection, and only real events answered.

A client sending events without limit (10,000 junk events slowed every screen for seconds) is disconnected
once it outruns its token bucket (`[server.limits] socket_events_per_minute`, bursting to a tenth of it);
the pages send a handful of events a minute and reconnect by themselves. An event named like a reserved one
(`connect`, `disconnect`, ...) is not handed to the handler of that name (sending `connect` re-ran the
connect handler: a second snapshot, rooms joined again): it gets an `unknown_event` error ack. A second
CONNECT packet for a namespace the connection is already in is ignored.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from socketio import packet  # type: ignore[import-untyped]

log = logging.getLogger("hallq")
RESERVED = frozenset({"connect", "disconnect", "connect_error", "error"})


def _refusal(name: Any) -> dict[str, Any]:
    shown = str(name)[:40] if isinstance(name, str) else type(name).__name__
    return {"error": {"code": "unknown_event", "message": f"no event {shown!r} on this namespace"}}


def install(server: Any, per_minute: int) -> None:
    """Wrap a python-socketio Server's packet handling (Flask-SocketIO builds the Server itself)."""
    rate = per_minute / 60.0
    burst = float(max(10, per_minute // 10))
    buckets: dict[str, tuple[float, float]] = {}
    cut: set[str] = set()
    eio = server.eio
    on_message = eio.handlers["message"]
    on_disconnect = eio.handlers["disconnect"]

    def message(eio_sid: str, data: Any) -> Any:
        if eio_sid in cut:
            return None
        now = time.monotonic()
        tokens, last = buckets.get(eio_sid, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            cut.add(eio_sid)
            buckets.pop(eio_sid, None)
            log.warning("socket %s sent events faster than %d a minute: disconnected", eio_sid[:8], per_minute)
            server.start_background_task(eio.disconnect, eio_sid)
            return None
        buckets[eio_sid] = (tokens - 1.0, now)
        return on_message(eio_sid, data)

    def disconnect(eio_sid: str, *args: Any) -> Any:
        buckets.pop(eio_sid, None)
        cut.discard(eio_sid)
        return on_disconnect(eio_sid, *args)

    eio.on("message", message)
    eio.on("disconnect", disconnect)

    handle_event = server._handle_event
    handle_connect = server._handle_connect

    def event(eio_sid: str, namespace: str | None, ack_id: Any, data: Any) -> Any:
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or name in RESERVED:
            if ack_id is not None:
                ack = server.packet_class(packet.ACK, namespace=namespace or "/", id=ack_id, data=[_refusal(name)])
                server._send_packet(eio_sid, ack)
            return None
        return handle_event(eio_sid, namespace, ack_id, data)

    def connect(eio_sid: str, namespace: str | None, data: Any) -> Any:
        if server.manager.sid_from_eio_sid(eio_sid, namespace or "/") is not None:
            return None  # already connected there: its connect handler does not run twice
        return handle_connect(eio_sid, namespace, data)

    server._handle_event = event
    server._handle_connect = connect
