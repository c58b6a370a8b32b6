"""The eventlet HTTP server's limits against one client (`hallq serve`, `hallq demo`).

eventlet's WSGI server serves each connection in a green thread of a pool of 1,024 and, when the pool is
full, stops accepting: 1,024 idle websockets or half-sent requests from one address stopped the hall's
server for everyone. Here:

- the pool holds `[server] max_connections` (default 10,000), and the process's file-descriptor limit is
  raised toward its hard limit to fit (the pool shrinks to what the limit allows, with a warning);
- one address holds at most `max_connections_per_address` open connections; one more is answered 503 at
  once and closed. The reverse proxy's own addresses (`trusted_proxies`, when `proxy_hops` > 0) are exempt:
  behind nginx every connection comes from 127.0.0.1, and nginx's `limit_conn` caps each client there;
- a request's line and headers must all arrive within `header_timeout_s` of its first byte, and its body
  within `body_timeout_s` of its headers: a byte now and then no longer keeps a connection (the idle
  timeout, `idle_timeout_s`, only bounds the silence between requests).
"""

from __future__ import annotations

import json
import logging
import resource
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import eventlet.wsgi
from werkzeug.exceptions import RequestTimeout

from server.config import Settings
from server.proxies import address_of

log = logging.getLogger("hallq")
SPARE_FDS = 256  # files a process needs besides its client connections: database, Redis, logs, printers


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE toward `wanted` (never above the hard limit); the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (OSError, ValueError) as e:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, e)
    return wanted if soft == resource.RLIM_INFINITY else soft


def pool_size(settings: Settings) -> int:
    """The connections this process can hold: max_connections, or fewer when the file limit is lower."""
    wanted = settings.max_connections
    soft = raise_fd_limit(wanted + SPARE_FDS)
    if soft < wanted + SPARE_FDS:
        size = max(16, soft - SPARE_FDS)
        log.warning(
            "open-file limit %d: serving at most %d connections, not max_connections = %d (raise LimitNOFILE)",
            soft, size, wanted,
        )  # fmt: skip
        return size
    return wanted


REFUSED = json.dumps(
    {"error": {"code": "too_many_connections", "message": "too many open connections from this address"}}
).encode()


def _refuse(conn_state: list[Any]) -> None:
    """Answer 503 without reading the request, and let the server close the connection."""
    sock = conn_state[1]
    try:
        sock.settimeout(1)
        sock.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(REFUSED), REFUSED)
        )
    except OSError:
        pass


class AddressCapPool(eventlet.GreenPool):  # type: ignore[misc]
    """The server's pool of connections, with at most `per_address` open from one address (0: no cap)."""

    def __init__(self, size: int, per_address: int, exempt: frozenset[str]) -> None:
        super().__init__(size)
        self.per_address = per_address
        self.exempt = exempt
        self.open: dict[str, int] = {}
        self._warned: dict[str, float] = {}

    def spawn(self, function: Callable[..., Any], conn_state: list[Any], *args: Any, **kw: Any) -> Any:
        """eventlet's accept loop calls spawn(process_request, [address, socket, state]) per connection."""
        address = address_of(conn_state[0])
        if self.per_address and address not in self.exempt and self.open.get(address, 0) >= self.per_address:
            now = time.monotonic()
            if now - self._warned.get(address, float("-inf")) > 60:
                self._warned[address] = now
                if len(self._warned) > 1000:
                    self._warned.clear()
                log.warning("refusing connections from %s: %d open (max_connections_per_address)", address,
                            self.per_address)  # fmt: skip
            return super().spawn(_refuse, conn_state)
        self.open[address] = self.open.get(address, 0) + 1
        green = super().spawn(function, conn_state, *args, **kw)
        green.link(self._closed, address)
        return green

    def _closed(self, _green: Any, address: str) -> None:
        left = self.open.get(address, 1) - 1
        if left > 0:
            self.open[address] = left
        else:
            self.open.pop(address, None)


class HeaderTimeout(socket.timeout):
    """The request line and headers did not arrive in time (eventlet's server closes the connection)."""


class BodyTimeout(RequestTimeout):
    description = "the request body did not arrive in time"


class _DeadlineInput:
    """wsgi.input whose reads all end by one deadline, however slowly the bytes come (408 after it)."""

    def __init__(self, inner: Any, seconds: float, protocol: Any) -> None:
        self._inner = inner
        self._deadline = time.monotonic() + seconds
        self._protocol = protocol

    def _call(self, name: str, *args: Any) -> Any:
        left = self._deadline - time.monotonic()
        timer = eventlet.Timeout(max(left, 0.001), _BodyLate())
        try:
            return getattr(self._inner, name)(*args)
        except _BodyLate:
            self._protocol.close_connection = 1  # the rest of the body is never read: the connection goes
            raise BodyTimeout() from None
        finally:
            timer.cancel()

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)  # type: ignore[no-any-return]

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)  # type: ignore[no-any-return]

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call("readlines", *args)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _BodyLate(BaseException):
    """Raised by the body's timer inside a read (BaseException: no handler on the way swallows it)."""


def protocol(header_timeout_s: float, body_timeout_s: float) -> type[eventlet.wsgi.HttpProtocol]:
    """eventlet's HTTP protocol with the header and body deadlines."""

    class DeadlineProtocol(eventlet.wsgi.HttpProtocol):  # type: ignore[misc]
        _timer: Any = None

        def _read_request_line(self) -> Any:
            # Between requests the connection may be silent up to the idle timeout (the socket's timeout);
            # from a request's first byte on, its line and headers have header_timeout_s in all.
            try:
                if not self.rfile.closed and not self.rfile.peek(1):
                    return b""
            except OSError as e:
                if isinstance(e, socket.timeout):
                    raise
                return b""
            self._timer = eventlet.Timeout(header_timeout_s, HeaderTimeout("request headers too slow"))
            return super()._read_request_line()

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            # Two Content-Length values that differ (RFC 9112 6.3): which body is meant is the smuggler's question
            # (a proxy in front may take the other one); eventlet would take the first. Refused, as eventlet
            # refuses a negative one.
            if len(set(self.headers.get_all("content-length") or [])) > 1:
                self.wfile.write(b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-length: 0\r\n\r\n")
                self.close_connection = 1
                return False
            return True

        def get_environ(self) -> dict[str, Any]:
            self._stop_timer()  # the headers are in: the app's own time starts
            environ: dict[str, Any] = super().get_environ()
            environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], body_timeout_s, self)
            return environ

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            finally:
                self._stop_timer()

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    return DeadlineProtocol


def serve(listener: Any, app: Any, settings: Settings) -> None:
    """eventlet's WSGI server on `listener` with the limits above (blocks until the server stops)."""
    exempt = frozenset(settings.trusted_proxies) if settings.proxy_hops else frozenset()
    pool = AddressCapPool(pool_size(settings), settings.max_connections_per_address, exempt)
    eventlet.wsgi.server(
        listener,
        app,
        log_output=False,
        socket_timeout=settings.idle_timeout_s,
        custom_pool=pool,
        protocol=protocol(settings.header_timeout_s, settings.body_timeout_s),
    )
