"""A real hallq server process on 127.0.0.1, driven the way an outside client would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from support.databases import database
from support.env import ROOT

HALL_TOML = ROOT / "tests" / "data" / "test_hall.toml"


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
        f"{extra_server}\n"
    )
    path = folder / "hall.toml"
    path.write_text(server + body, encoding="utf-8")
    return path


def hallq(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `hallq` command as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@dataclass
class Server:
    config: Path
    port: int
    database: str
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Server:
        self._log = open(self.config.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith("HALLQ_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(self.config)],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log()[-2000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return (self.config.parent / f"server-{self.port}.log").read_text(errors="replace")

    def token(self, *args: str) -> str:
        """A token made by `hallq token create ARGS` (cached per server)."""
        key = " ".join(args)
        if key not in self.tokens:
            done = hallq("token", "create", *args, "--config", str(self.config))
            assert done.returncode == 0, done.stderr
            self.tokens[key] = done.stdout.strip().splitlines()[-1]
        return self.tokens[key]

    def counter_token(self, counter: str) -> str:
        return self.token("--counter", counter)

    def admin_token(self) -> str:
        return self.token("--role", "admin")

    def get(self, path: str, token: str | None = None, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, headers=_auth(token), timeout=10, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> requests.Response:
        if body is not None:
            kw["json"] = body
        headers = {**_auth(token), **kw.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, timeout=10, **kw)

    def act(self, counter: str, action: str, body: Any = None, token: str | None = None) -> requests.Response:
        """A counter action with that counter's own token."""
        return self.post(f"/api/v1/counters/{counter}/{action}", body, token or self.counter_token(counter))

    def issue(self, service: str, priority: bool = False, hall: str = "town") -> dict[str, Any]:
        r = self.post(f"/api/v1/halls/{hall}/tickets", {"service": service, "priority": priority})
        assert r.status_code == 201, r.text
        return dict(r.json())


@contextmanager
def serving(kind: str, folder: Path) -> Iterator[Server]:
    """A started server on a fresh database of this kind ("sqlite" or "postgres") in folder; stopped after."""
    with database(kind, folder) as url:
        port = free_port()
        server = Server(write_config(folder, url, port=port), port, url).start()
        try:
            yield server
        finally:
            server.stop()


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
