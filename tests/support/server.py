"""A real hallq server process on 127.0.0.1, driven the way an outside client would.

Built to hold on a busy machine (another copy of the suite, other helpers' runs, two cores):
- readiness is awaited with a deadline, and any request error before it (a refused connection, a slow
  answer, a reset) is simply retried;
- the port comes from the kernel and is re-picked if another process took it first; a server is only
  "up" once the listening socket on its port belongs to its own process (never a stranger's on a reused
  port);
- a start that fails kills what it started; every server ever started is also killed at the end of the
  session (`stop_all`), and the Linux kernel kills a server whose test run died (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from support.databases import database
from support.env import REDIS_URL, ROOT

HALL_TOML = ROOT / "tests" / "data" / "test_hall.toml"
# PostgreSQL connections per test server or app (plus one overflow): the shared server's max_connections is
# split between every process of every run on the machine; a test needing more says so in extra_server.
TEST_POOL = "db_pool_size = 2"
START_TIMEOUT = 90.0  # generous: two suites at once on two cores start servers slowly
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    folder: Path,
    database: str,
    *,
    port: int,
    extra_server: str = "",
    hall_toml: Path = HALL_TOML,
    limits: str | None = None,
) -> Path:
    """A config file: the test hall plus a [server] section for this run."""
    body = hall_toml.read_text(encoding="utf-8")
    if limits is not None:
        body = body.replace("tickets_per_minute = 100000", limits)
    server = (
        "[server]\n"
        f'data_dir = "{folder}"\n'
        f'database = "{database}"\n'
        f'public_url = "http://127.0.0.1:{port}"\n'
        f"port = {port}\n"
        'log_level = "WARNING"\n'
        f"{'' if 'db_pool_size' in extra_server else TEST_POOL}\n"
        f"{extra_server}\n"
    )
    path = folder / "hall.toml"
    path.write_text(server + body, encoding="utf-8")
    return path


def random_channel() -> str:
    """A Redis pub/sub channel of this test alone: Redis is shared by every run on the machine."""
    return "hallq-test-" + secrets.token_hex(8)


def redis_queue(channel: str) -> str:
    """[server] lines for Redis as the message queue, on `channel`."""
    return f'message_queue = "{REDIS_URL}"\nmessage_channel = "{channel}"'


def redis_port() -> int:
    """The port of the machine's Redis (REDIS_URL): where a test's proxy in front of it forwards."""
    return int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])


def two_through(start_server: Any, folder: Path, port: int) -> tuple[Server, Server]:
    """Two processes on one PostgreSQL database and one data folder, whose message queue is the Redis reached
    through 127.0.0.1:`port` (a proxy the test can cut or stall), on a channel of their own."""
    extra = f'message_queue = "redis://127.0.0.1:{port}/0"\nmessage_channel = "{random_channel()}"'
    a = start_server("postgres", extra_server=extra, data_dir=folder)
    return a, start_server("postgres", extra_server=extra, data_dir=folder, database_url=a.database)


def clean_env() -> dict[str, str]:
    """The environment without HALLQ_* overrides: a server reads only its config file."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}


def hallq(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `hallq` command as a user would (subprocess.run kills it on timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=clean_env(),
    )


try:
    _prctl: Any = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGKILL when the test run (the parent) dies."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_setup() -> Any:
    # The signal comes when the thread that forked ends, so only a start from the main thread asks for it;
    # elsewhere (and off Linux) the session's stop_all is the last resort.
    return _die_with_parent if _prctl is not None and threading.current_thread() is threading.main_thread() else None


def listening_pid_owns(pid: int, port: int) -> bool:
    """Whether the socket listening on 127.0.0.1:`port` belongs to process `pid` (Linux /proc; True elsewhere)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return True
    inodes = set()
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{parts[9]}]")
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


_RUNNING: set[Server] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every server still running (the session's last resort; fixtures stop their own)."""
    with _RUNNING_LOCK:
        left = list(_RUNNING)
    for server in left:
        server.stop(kill=True)


class HallCalls:
    """The calls a test makes the same way on either tier, through the tier's own post(), counter_token()
    and admin_token() (Server: a real process; support.app.AppHall: the app in this process)."""

    def act(self, counter: str, action: str, body: Any = None, token: str | None = None) -> Any:
        """A counter action with that counter's own token."""
        return self.post(f"/api/v1/counters/{counter}/{action}", body, token or self.counter_token(counter))

    def issue(self, service: str, priority: bool = False, hall: str = "town") -> dict[str, Any]:
        # A priority ticket is given by a kiosk or staff (docs/api.md): here an admin's token.
        token = self.admin_token() if priority else None
        r = self.post(f"/api/v1/halls/{hall}/tickets", {"service": service, "priority": priority}, token)
        assert r.status_code == 201, r.text
        return dict(r.json())


def end_process(proc: subprocess.Popen[Any], kill: bool = False) -> None:
    """End a process this test started (SIGTERM, or SIGKILL with `kill`; SIGKILL after 15 s) and reap it."""
    if proc.poll() is None:
        if kill:
            proc.kill()
        else:
            proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(eq=False)
class Server(HallCalls):
    config: Path
    port: int
    database: str
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    sockets: list[Any] = field(default_factory=list)
    _log: Any = None
    _offline: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.config.parent / "server.log"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        """Start the process and wait until it answers health; on any failure nothing is left running."""
        assert not self.alive, "this server is already running"
        deadline = time.monotonic() + timeout
        for attempt in range(5):
            if attempt:
                self._move_to(free_port())  # another process took the port: take another
            try:
                if self._start_once(deadline):
                    return self
            except BaseException:
                self.stop(kill=True)
                raise
            self.stop(kill=True)
        raise RuntimeError(f"server never got a free port: {self.log()[-2000:]}")

    def _start_once(self, deadline: float) -> bool:
        """True when up; False when the port was taken (retry); raises on any other failure."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self._log.write(f"--- starting on port {self.port}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(self.config)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            preexec_fn=_child_setup(),
        )
        with _RUNNING_LOCK:
            _RUNNING.add(self)
        while True:
            if self.proc.poll() is not None:
                if "Address already in use" in self.log():
                    return False
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()[-3000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"server did not answer health within the deadline: {self.log()[-3000:]}")
            try:
                r = requests.get(self.url + "/api/v1/health", timeout=min(10.0, max(left, 0.5)))
                if r.status_code == 200 and listening_pid_owns(self.proc.pid, self.port):
                    return True
            except requests.RequestException:
                pass  # not listening yet, or too busy to answer in time: ask again until the deadline
            time.sleep(0.05)

    def _move_to(self, port: int) -> None:
        text = self.config.read_text(encoding="utf-8")
        text = text.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{port}").replace(
            f"\nport = {self.port}\n", f"\nport = {port}\n"
        )
        self.config.write_text(text, encoding="utf-8")
        self.port = port

    def stop(self, kill: bool = False) -> None:
        """Stop the process (SIGTERM, or SIGKILL with `kill`) and wait for it; safe to call again."""
        if self.proc is not None:
            end_process(self.proc, kill)
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        self.close_sockets()
        if self._offline is not None:
            self._offline.db.dispose()
            self._offline = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> Server:
        """Start again on the same config and data after stop() (e.g. after kill -9)."""
        self.stop()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def token(self, *args: str) -> str:
        """A token as `hallq token create ARGS` makes it: token("--role", "supervisor", "--hall", "east").

        Made here by the function the command calls (test_cli.py runs the command itself): a command is a
        second of imports, and the suite asks for hundreds of tokens. Cached per server.
        """
        from server.auth import create_token

        key = " ".join(args)
        if key not in self.tokens:
            given = dict(zip(args[::2], args[1::2], strict=True))
            if "--counter" in given:
                made = create_token(self.offline(), "counter", counter=given["--counter"])
            elif "--kiosk" in given:
                made = create_token(self.offline(), "kiosk", kiosk=given["--kiosk"])
            else:
                made = create_token(self.offline(), given["--role"], hall=given.get("--hall"))
            self.tokens[key] = made
        return self.tokens[key]

    def add_user(self, username: str, role: str, password: str, hall: str | None = None) -> None:
        """A staff login, as `hallq user add` makes it (in this process, as token())."""
        from server.auth import add_user

        ctx = self.offline()
        add_user(ctx, username, password, role, hall, ctx.clock.now())

    def offline(self) -> Any:
        """The server's config and database in this process, as the `hallq` commands use them."""
        if self._offline is None:
            from server.clock import SystemClock
            from server.config import load_config
            from server.services.context import Context
            from server.store.db import Database

            self._offline = Context(load_config(self.config), Database(self.database, pool_size=1), SystemClock())
        return self._offline

    def counter_token(self, counter: str) -> str:
        return self.token("--counter", counter)

    def admin_token(self) -> str:
        return self.token("--role", "admin")

    def kiosk_token(self, kiosk: str = "k1") -> str:
        """The kiosk's own token: only with it (or an enrolled page) does a ticket name the kiosk."""
        return self.token("--kiosk", kiosk)

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {**_auth(token), **kw.pop("headers", {})}
        return requests.get(self.url + path, headers=headers, timeout=30, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> requests.Response:
        if body is not None:
            kw["json"] = body
        headers = {**_auth(token), **kw.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, timeout=30, **kw)

    def listen(self, namespace: str, query: str = "", auth: Any = None) -> Any:
        """A real Socket.IO client (support.sockets.Listener); closed by the fixture that made this server."""
        from support.sockets import Listener

        listener = Listener(self.url, namespace, query, auth)
        self.sockets.append(listener)
        return listener

    def refused(self, namespace: str, query: str = "", auth: Any = None) -> bool:
        from support.sockets import refused

        return refused(self.url, namespace, query, auth)

    def close_sockets(self) -> None:
        for listener in self.sockets:
            listener.close()
        self.sockets.clear()


# What a call screen plays is waited for in real time: a chime and the announcement twice, 13 s a call at
# the default speed. Browser tests' servers speak at espeak-ng's fastest with a short chime of the hall's
# own (a hall's override, docs/display.md): about 4 s a call, the same page and the same checks.
QUICK_VOICE = "[voice]\nspeed = 450"


def write_short_chime(folder: Path) -> None:
    """A hall's own chime in `folder` (a data_dir): the default's two tones, shortened."""
    from display import chime

    (folder / "display").mkdir(parents=True, exist_ok=True)
    chime.write(folder / "display" / "chime.wav", seconds=(0.12, 0.18))


@contextmanager
def serving(kind: str, folder: Path, quick_sound: bool = True) -> Iterator[Server]:
    """A started server on a fresh database of this kind ("sqlite" or "postgres") in folder; stopped after.
    With `quick_sound` (browser tests) its calls are announced quickly (QUICK_VOICE)."""
    if quick_sound:
        write_short_chime(folder)
    with database(kind, folder) as url:
        port = free_port()
        extra = QUICK_VOICE if quick_sound else ""
        server = Server(write_config(folder, url, port=port, extra_server=extra), port, url).start()
        try:
            yield server
        finally:
            server.stop()


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
