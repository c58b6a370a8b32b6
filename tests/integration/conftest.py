"""One real server per database kind for the session; every test starts from an empty day."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.databases import reset
from support.server import Server, serving


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(request.param, tmp_path_factory.mktemp(f"hall-{request.param}")) as server:
        yield server


@pytest.fixture
def hall(live: Server) -> Server:
    """The live server with an empty queue and every counter closed."""
    reset(live.database)
    return live
