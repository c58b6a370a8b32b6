"""The real app in the test's own process: create_app on the test hall's config, Flask's and Socket.IO's test clients.

For the contract (status codes, bodies, auth, counters, tickets, reports, Socket.IO messages) a real process
proves nothing more than the app itself, and answers in a millisecond instead of a round trip through a busy
server. `AppHall` speaks like support.server.Server (get, post, act, issue, tokens), so a test reads the same
on either tier; what needs a real process (eventlet, races, kill -9, two processes, the CLI, printers) keeps
using Server.

Differences a test may see: answers are `Reply` objects (requests-like: status_code, headers, text, content,
ok, json()); tokens are made in-process (test_cli covers the `hallq token` command); Socket.IO events arrive
off the request path as in a real server (a call at once, the rest from the publisher's background thread), so
read them with `SocketClient.wait_for`, which waits for them with a deadline.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIO

from support.server import HALL_TOML, HallCalls, write_config

APP_PORT = 5999  # only written into public_url (the base of track URLs); nothing listens there


def csrf_of(html: str) -> str:
    """The session's CSRF token as a page carries it: a form's hidden field or the meta tag."""
    found = re.search(r'name="csrf(?:-token)?" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token on the page: " + html[:300]
    return found.group(1)


class TestClock:
    """The system clock, moved forward on demand: a test that needs time to pass does not sleep."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Reply:
    """A test-client answer with the parts of requests.Response the tests use."""

    def __init__(self, response: Any) -> None:
        self.raw = response
        self.status_code: int = response.status_code
        self.headers = response.headers
        self.content: bytes = response.get_data()
        response.close()  # a file answer (send_file) holds its file open until closed

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Reply {self.status_code} {self.content[:200]!r}>"


class Browser:
    """One visitor with their own cookies (a requests.Session on the real tier)."""

    def __init__(self, hall: AppHall) -> None:
        self.hall = hall
        self.client: FlaskClient = hall.app.test_client()

    def request(self, method: str, path: str, **kw: Any) -> Reply:
        follow = kw.pop("allow_redirects", True)  # as requests does
        kw.pop("timeout", None)
        if "params" in kw:
            kw["query_string"] = kw.pop("params")
        return Reply(self.client.open(self.hall.path(path), method=method.upper(), follow_redirects=follow, **kw))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def cookie(self, name: str) -> str | None:
        found = self.client.get_cookie(name)
        return found.value if found is not None else None


class SocketClient:
    """A Socket.IO test client on one namespace that keeps every event it gets, in order (like sockets.Listener)."""

    def __init__(
        self, hall: AppHall, namespace: str, query: str = "", auth: Any = None, browser: Browser | None = None
    ) -> None:
        self.namespace = namespace
        self._events: dict[str, list[Any]] = defaultdict(list)
        self.client = hall.socketio.test_client(
            hall.app,
            namespace=namespace,
            query_string=query or None,
            auth=auth,
            flask_test_client=browser.client if browser else None,
        )
        hall.sockets.append(self)

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected(self.namespace))

    @property
    def events(self) -> dict[str, list[Any]]:
        """Every event so far by name, in order."""
        self._drain()
        return self._events

    def _drain(self) -> None:
        if not self.client.is_connected(self.namespace):
            return
        for item in self.client.get_received(self.namespace):
            args = item["args"]
            self._events[item["name"]].append(args[0] if len(args) == 1 else (args or None))

    def wait_for(self, event: str, predicate: Any = None, timeout: float = 20) -> Any:
        """The first `event` payload (after any already seen) matching `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.events[event]:
                if predicate is None or predicate(item):
                    return item
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {event!r} on {self.namespace} within {timeout}s: {dict(self.events)}")
            time.sleep(0.01)

    def clear(self) -> None:
        self.events.clear()

    def emit(self, event: str, *args: Any) -> Any:
        """Send an event; returns the server's acknowledgement."""
        return self.client.emit(event, *args, namespace=self.namespace, callback=True)

    def close(self) -> None:
        if self.client.is_connected(self.namespace):
            self.client.disconnect(self.namespace)


@dataclasses.dataclass(eq=False)
class AppHall(HallCalls):
    """The app on its own data folder and database; see the module docstring."""

    config: Path
    database: str
    app: Flask
    socketio: SocketIO
    clock: Any
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    sockets: list[SocketClient] = dataclasses.field(default_factory=list)

    url = f"http://127.0.0.1:{APP_PORT}"

    @classmethod
    def create(
        cls,
        folder: Path,
        database: str,
        *,
        extra_server: str = "",
        limits: str | None = None,
        hall_toml: Path = HALL_TOML,
        edit: Callable[[str], str] | None = None,
        clock: Any = None,
        shared: bool = False,
    ) -> AppHall:
        """Build the app (migrating the database) from a config file written like a real server's.

        `edit(text) -> text` changes the file before it is read; `clock` defaults to a TestClock. `shared`: keep
        the file's message queue (one of several processes; else none, whatever the file says).
        """
        from server.app import create_app
        from server.config import load_config

        path = write_config(folder, database, port=APP_PORT, extra_server=extra_server, hall_toml=hall_toml,
                            limits=limits)  # fmt: skip
        if edit is not None:
            path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        config = load_config(path)
        # The file decides everything but what this process must be: threaded, on exactly this database.
        queue = config.settings.message_queue if shared else None
        settings = dataclasses.replace(config.settings, async_mode="threading", database=database, message_queue=queue)
        clock = clock or TestClock()
        app, socketio = create_app(dataclasses.replace(config, settings=settings), clock)
        app.testing = True
        # The forecast refresher pauses between two runs to bound its CPU share on a busy server (at least
        # REFRESH_PAUSE_S, and 19 times the run's own time); here the pause would only make every settle()
        # (after each test) wait for it: 90 ms a test. The same for the gap between two delivered batches.
        publisher = app.extensions["hallq"].publisher
        publisher.refresh_pause_s = 0.0
        publisher.refresh_share = 0
        publisher.batch_gap_s = 0.0
        return cls(path, database, app, socketio, clock)

    @property
    def hallq(self) -> Any:
        return self.app.extensions["hallq"]

    @property
    def ctx(self) -> Any:
        return self.hallq.ctx

    def settle(self) -> None:
        """Wait until the app's background publishing is done (events are published off the request path)."""
        assert self.hallq.publisher.flush(), "the publisher did not finish its work in time"

    def close(self) -> None:
        """Disconnect every socket and release the database; the app is not used again."""
        self.close_sockets()
        self.settle()
        self.hallq.printing.stop()
        self.hallq.sender.stop()
        self.hallq.live.stop()  # its credential sweep would read a database dropped after this
        self.ctx.db.dispose()

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the app's clock (a TestClock), at once."""
        self.clock.advance(seconds)

    def close_sockets(self) -> None:
        for s in self.sockets:
            s.close()
        self.sockets.clear()

    # --- requests, as support.server.Server makes them

    def path(self, path: str) -> str:
        """A path (or a full URL on this hall, such as a track_url) as the test client takes it."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return path

    def browser(self) -> Browser:
        return Browser(self)

    def log_in(self, username: str, password: str = "correct-horse", next_path: str | None = None) -> Browser:
        """A browser that logged in through the form at /login, as a person does."""
        browser = self.browser()
        form = {"csrf": csrf_of(browser.get("/login").text), "username": username, "password": password}
        if next_path is not None:
            form["next"] = next_path
        r = browser.post("/login", data=form, allow_redirects=False)
        assert r.status_code == 302, r.text[:300]
        return browser

    def get(self, path: str, token: str | None = None, **kw: Any) -> Reply:
        headers = {**_auth(token), **kw.pop("headers", {})}
        return Browser(self).get(path, headers=headers, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Reply:
        if body is not None:
            kw["json"] = body
        headers = {**_auth(token), **kw.pop("headers", {})}
        return Browser(self).post(path, headers=headers, **kw)

    def send(self, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        """One request with exactly these bytes as the body (no JSON encoding)."""
        return Browser(self).request(method, target, data=body, headers=headers or {})

    def listen(self, namespace: str, query: str = "", auth: Any = None, browser: Browser | None = None) -> SocketClient:
        """A Socket.IO client on `namespace`; it is disconnected when the test ends."""
        return SocketClient(self, namespace, query, auth, browser)

    def refused(self, namespace: str, query: str = "", auth: Any = None) -> bool:
        """Whether the server refuses this Socket.IO connection."""
        client = SocketClient(self, namespace, query, auth)
        refused = not client.connected
        client.close()
        return refused

    # --- credentials, made in-process

    def counter_token(self, counter: str) -> str:
        return self._token("counter", counter=counter)

    def admin_token(self) -> str:
        return self._token("admin")

    def kiosk_token(self, kiosk: str = "k1") -> str:
        """The kiosk's own token: only with it (or an enrolled page) does a ticket name the kiosk."""
        return self._token("kiosk", kiosk=kiosk)

    def token(self, *args: str) -> str:
        """A token as `hallq token create ARGS` would make it: token("--role", "supervisor", "--hall", "east")."""
        given = dict(zip(args[::2], args[1::2], strict=True))
        if "--counter" in given:
            return self._token("counter", counter=given["--counter"])
        if "--kiosk" in given:
            return self._token("kiosk", kiosk=given["--kiosk"])
        return self._token(given["--role"], hall=given.get("--hall"))

    def _token(self, role: str, counter: str | None = None, hall: str | None = None, kiosk: str | None = None) -> str:
        from server.auth import create_token

        key = f"{role} {counter} {hall} {kiosk}"
        if key not in self.tokens:
            kw = {"kiosk": kiosk} if kiosk is not None else {}  # only where the server knows kiosk tokens
            self.tokens[key] = create_token(self.ctx, role, counter=counter, hall=hall, **kw)
        return self.tokens[key]

    def add_user(self, username: str, role: str, password: str = "correct-horse", hall: str | None = None) -> None:
        from server.auth import add_user

        add_user(self.ctx, username, password, role, hall, self.ctx.clock.now())


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
