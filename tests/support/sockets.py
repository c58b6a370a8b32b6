"""A real Socket.IO client that records what each namespace receives."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import socketio


class Listener:
    """Connects to one namespace and keeps every event it gets, in order."""

    def __init__(
        self,
        base_url: str,
        namespace: str,
        query: str = "",
        auth: Any = None,
        reconnect: bool = False,
        verify: bool = True,
    ) -> None:
        """`reconnect`: reconnect by itself (backoff) after losing the server, as the pages' hq-socket.js does."""
        self.namespace = namespace
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._cond = threading.Condition()
        self.client = socketio.Client(
            reconnection=reconnect, reconnection_delay=0.2, reconnection_delay_max=1, ssl_verify=verify
        )
        self.client.on("*", self._record, namespace=namespace)
        url = base_url + (f"?{query}" if query else "")
        self.client.connect(url, namespaces=[namespace], transports=["websocket"], auth=auth, wait_timeout=10)

    def _record(self, event: str, data: Any = None) -> None:
        with self._cond:
            self.events[event].append(data)
            self._cond.notify_all()

    def wait_for(self, event: str, predicate: Any = None, timeout: float = 10) -> Any:
        """The first `event` payload (after any already seen) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.events[event]:
                    if predicate is None or predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event!r} on {self.namespace} within {timeout}s: {dict(self.events)}")
                self._cond.wait(left)

    def clear(self) -> None:
        with self._cond:
            self.events.clear()

    def close(self) -> None:
        self.client.disconnect()


def refused(base_url: str, namespace: str, query: str = "", auth: Any = None) -> bool:
    """Whether the server refuses this connection."""
    try:
        Listener(base_url, namespace, query, auth).close()
    except socketio.exceptions.ConnectionError:
        return True
    return False
