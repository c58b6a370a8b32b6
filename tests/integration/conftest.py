"""One real server per database kind for the session; every test starts from an empty day."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.databases import database, reset
from support.server import Server, free_port, write_config


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"hall-{request.param}")
    with database(request.param, folder) as url:
        port = free_port()
        server = Server(write_config(folder, url, port=port), port, url).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def hall(live: Server) -> Server:
    """The live server with an empty queue and every counter closed."""
    reset(live.database)
    return live
