"""The fixtures every test folder shares (loaded by tests/conftest.py as a plugin).

Two tiers, each on SQLite and PostgreSQL:

- in-process (fast; for the contract): `app_hall` is the app built by create_app from the test hall's config,
  driven through Flask's test client and Socket.IO's (support.app.AppHall); `make_app_hall(kind, ...)` builds
  one with its own config (limits, proxy_hops, ...) on a fresh data folder and database.
- real processes (for eventlet, races, kill -9, two processes, the CLI, printers, browsers): `hall` is a real
  `hallq serve` (support.server.Server); `start_server(kind, ...)` starts one of its own config.

`app_hall` and `hall` are session-wide servers reset to an empty day before each test; a test must not leave
them broken (stop, kill): one that did gets a fresh server for the next test, never the killed one.
Everything a fixture started is stopped when its test (or the session) ends, whatever happened.

Async modes: real processes run in eventlet (the default) unless a test or module is marked
`@pytest.mark.async_modes` (every mode of ASYNC_MODES) or `@pytest.mark.async_modes("gevent")`: then each of
its tests runs once per mode, and `hall` and every `start_server` server of that run use that mode (one
session-wide `hall` per kind and mode); a test run on both databases has its gevent case on PostgreSQL
only. The in-process tier runs the app in threading mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

import server.auth
from printers.virtual import VirtualPrinter
from support.app import AppHall
from support.databases import database, reset
from support.printing import kiosk_printer
from support.server import HALL_TOML, Server, free_port, stop_all, write_config
from support.sockets import Listener

# Passwords in the test process (the in-process apps, and the logins `Server.add_user` makes for real servers)
# are hashed with argon2 at its lowest cost: the production cost is 0.2 s of CPU per hash or check (server/
# auth.py), and the quick tier logs in hundreds of times, where what is tested is who gets in, not the hash's
# cost. The hash says its own parameters, so a server process (the real cost) checks these as well.
server.auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

KINDS = ["sqlite", "postgres"]
ASYNC_MODES = ["eventlet", "gevent"]  # the server's green modes (server/config.py has threading too)


class _Pool:
    """One session-wide server of each kind, made on first use and replaced if a test broke it."""

    def __init__(self, factory: pytest.TempPathFactory, make: Callable[..., Any]) -> None:
        self.factory = factory
        self.make = make
        self.stack = ExitStack()
        self.items: dict[str, Any] = {}

    def get(self, kind: str, **options: Any) -> Any:
        """The item of this kind (and options, e.g. async_mode="gevent"), made on first use."""
        key = "-".join([kind, *(f"{v}" for _, v in sorted(options.items()))])
        item = self.items.get(key)
        if item is None or not self._usable(item):
            folder = self.factory.mktemp(f"hall-{key}")
            url = self.stack.enter_context(database(kind, folder))
            item = self.stack.enter_context(_closing(self.make(folder, url, **options)))
            self.items[key] = item
        return item

    @staticmethod
    def _usable(item: Any) -> bool:
        return not isinstance(item, Server) or item.alive

    def close(self) -> None:
        self.stack.close()


class _closing:
    """Stop a Server or close an AppHall on exit."""

    def __init__(self, item: Any) -> None:
        self.item = item

    def __enter__(self) -> Any:
        return self.item

    def __exit__(self, *exc: object) -> None:
        if isinstance(self.item, Server):
            self.item.stop()
        else:
            self.item.close()


def _start(folder: Path, url: str, async_mode: str = "eventlet") -> Server:
    port = free_port()
    return Server(write_config(folder, url, port=port, extra_server=_mode_line(async_mode)), port, url).start()


def _mode_line(async_mode: str) -> str:
    return f'async_mode = "{async_mode}"'


# --- real processes ------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "async_modes(*modes): run the test's real servers in each async mode (default: ASYNC_MODES)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test run on both databases runs its gevent case on PostgreSQL only: the database of the
    deployments that choose gevent (several processes behind nginx, docs/scaling.md). What is mode-specific
    (the hub, green sockets, signals, Redis) is the same on either database, and SQLite is still served
    in gevent by the tests that pick one database. The pairs left out are reported as deselected."""
    kept, dropped = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and spec.params.get("async_mode") == "gevent" and "sqlite" in spec.id.split("-"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("async_modes")
    if marker is not None and "async_mode" in metafunc.fixturenames:
        metafunc.parametrize("async_mode", list(marker.args) or ASYNC_MODES, indirect=True, scope="function")


@pytest.fixture
def async_mode(request: pytest.FixtureRequest) -> str:
    """The async mode of this test's real servers: eventlet unless the test is marked async_modes."""
    return str(getattr(request, "param", "eventlet"))


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Pool]:
    pool = _Pool(tmp_path_factory, _start)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=KINDS)
def hall(request: pytest.FixtureRequest, live_servers: _Pool, async_mode: str) -> Iterator[Server]:
    """A real server (session-wide, one per kind and async mode) with an empty queue and every counter closed."""
    # The default mode is the plain server of its kind, the one other users of live_servers.get(kind) share.
    options = {} if async_mode == "eventlet" else {"async_mode": async_mode}
    server: Server = live_servers.get(request.param, **options)
    reset(server.database)
    try:
        yield server
    finally:
        server.close_sockets()


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory, async_mode: str) -> Iterator[Callable[..., Server]]:
    """Start real servers of the test's own config; all are stopped (and their databases dropped) afterwards.

    Each runs in the test's `async_mode` unless `extra_server` sets one.

    start_server(kind="sqlite", *, extra_server="", limits=None, hall_toml=HALL_TOML, edit=None,
                 database_url=None, data_dir=None, start=True) -> Server

    `edit(text) -> text` changes the config file before the start; `database_url` shares a database
    (e.g. with another server); `data_dir` shares a data folder (its secret key); `start=False` only
    prepares the Server.
    """
    stack = ExitStack()

    def start(
        kind: str = "sqlite",
        *,
        extra_server: str = "",
        limits: str | None = None,
        hall_toml: Path = HALL_TOML,
        edit: Callable[[str], str] | None = None,
        database_url: str | None = None,
        data_dir: Path | None = None,
        start: bool = True,
    ) -> Server:
        folder = tmp_path_factory.mktemp(f"server-{kind}")
        url = database_url or stack.enter_context(database(kind, folder))
        port = free_port()
        if "async_mode" not in extra_server:
            # first: extra_server may go on with tables of its own ([voice], [jobs]) after its [server] lines
            extra_server = f"{_mode_line(async_mode)}\n{extra_server}"
        config = write_config(folder, url, port=port, extra_server=extra_server, limits=limits, hall_toml=hall_toml)
        text = config.read_text(encoding="utf-8")
        if data_dir is not None:
            text = text.replace(f'data_dir = "{folder}"', f'data_dir = "{data_dir}"')
        if edit is not None:
            text = edit(text)
        config.write_text(text, encoding="utf-8")
        server = stack.enter_context(_closing(Server(config, port, url)))
        return server.start() if start else server

    try:
        yield start
    finally:
        stack.close()


@pytest.fixture
def listen() -> Iterator[Callable[..., Listener]]:
    """Real Socket.IO clients: listen(base_url, namespace, query="", auth=None); all closed afterwards."""
    made: list[Listener] = []

    def connect(base_url: str, namespace: str, query: str = "", auth: Any = None) -> Listener:
        listener = Listener(base_url, namespace, query, auth)
        made.append(listener)
        return listener

    try:
        yield connect
    finally:
        for listener in made:
            listener.close()


# --- in-process ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app_halls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Pool]:
    pool = _Pool(tmp_path_factory, AppHall.create)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=KINDS)
def app_hall(request: pytest.FixtureRequest, app_halls: _Pool) -> Iterator[AppHall]:
    """The app in this process (session-wide, one per kind) with an empty queue and every counter closed."""
    hall: AppHall = app_halls.get(request.param)
    reset(hall.database)
    hall.clock.offset = timedelta(0)
    try:
        yield hall
    finally:
        hall.close_sockets()
        hall.settle()  # nothing of this test is still being published into the next one


@pytest.fixture
def make_app_hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AppHall]]:
    """Build apps of the test's own config, each on a fresh data folder and database; closed afterwards.

    make_app_hall(kind="sqlite", *, extra_server="", limits=None, hall_toml=HALL_TOML, edit=None, clock=None)
        -> AppHall   (edit(text) -> text changes the config file; clock defaults to a support.app.TestClock)
    """
    stack = ExitStack()

    def make(kind: str = "sqlite", **options: Any) -> AppHall:
        folder = tmp_path_factory.mktemp(f"app-{kind}")
        url = stack.enter_context(database(kind, folder))
        return stack.enter_context(_closing(AppHall.create(folder, url, **options)))  # type: ignore[no-any-return]

    try:
        yield make
    finally:
        stack.close()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A virtual network receipt printer on 127.0.0.1 (printers/virtual.py), its paper in tmp_path/paper."""
    vp = VirtualPrinter(tmp_path / "paper")
    vp.start()
    yield vp
    vp.stop()


@pytest.fixture
def printing_hall(printer: VirtualPrinter, start_server: Callable[..., Server]) -> tuple[Server, VirtualPrinter]:
    """A server whose kiosk prints to a network printer (a virtual one in this test, on 127.0.0.1)."""
    return kiosk_printer(start_server, f'{{ kind = "network", host = "127.0.0.1", port = {printer.port} }}'), printer


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_all()  # a last resort: fixtures stop their own servers
