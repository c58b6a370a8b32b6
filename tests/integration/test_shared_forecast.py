"""One forecast run serves every process of a hall (server/bus.py, realtime.Publisher._forecast).

Two apps on one database and one Redis channel, as two server processes are: the board one of them makes is
stored in Redis, and the other takes it as it is (the same label, the same estimates, the same moment) instead
of running the hall forward again; after the next change whoever refreshes first makes the next one, and the
other takes that. Without Redis each process makes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from support.app import AppHall
from support.env import REDIS_URL
from support.server import random_channel

from server.bus import HallBus
from server.services.board import Board


@pytest.fixture(params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, make_app_hall: Callable[..., AppHall], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppHall, AppHall, str]]:
    a = make_app_hall(request.param)
    b = AppHall.create(tmp_path_factory.mktemp("second"), a.database)
    channel = random_channel()
    for app in (a, b):
        publisher = app.hallq.publisher
        publisher.bus = HallBus(REDIS_URL, channel, publisher._heard)
    try:
        yield a, b, channel
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for app in (a, b):  # the buses' listeners (if a publish started them) end at their next message
            app.hallq.publisher.bus.stopped = True
        client.publish(f"{channel}:halls", "{}")
        b.close()
        key = f"{channel}:halls:board:town"
        client.delete(key, key + ":fresh", key + ":making")


def _refresh(app: AppHall) -> object:
    app.hallq.publisher._board_stale("town")
    app.settle()
    return app.ctx.boards.peek("town")


def test_one_process_makes_the_board_and_the_other_takes_it(pair: tuple[AppHall, AppHall, str]) -> None:
    a, b, channel = pair
    for counter in ("w1", "w2", "w3"):
        assert a.act(counter, "open").status_code == 200
    for i in range(20):  # more than board.SYNC_LIMIT: boards are made off the request path, and shared
        a.issue(("id-card", "social")[i % 2])
    made = _refresh(a)
    assert made is not None and made.waiting == 20 and made.est
    assert redis.Redis.from_url(REDIS_URL).exists(f"{channel}:halls:board:town")
    b.advance(30)  # the other process's clock has moved on: a board it made itself would say so
    taken = _refresh(b)
    assert taken is not None
    assert (taken.version, taken.at, taken.est) == (made.version, made.at, made.est)
    assert taken.others_ahead == made.others_ahead
    assert {k: d.state for k, d in taken.desks.items()} == {k: d.state for k, d in made.desks.items()}
    # The next change, on the other process: it makes the next board, and the first process takes that one.
    ticket = b.issue("id-card")
    remade = _refresh(b)
    assert remade is not None and remade.version != made.version and remade.waiting == 21
    assert (remade.at - made.at).total_seconds() > 20  # made there: by the clock 30 s ahead
    again = _refresh(a)
    assert again is not None and (again.version, again.at, again.est) == (remade.version, remade.at, remade.est)
    token = ticket["track_url"].rsplit("/", 1)[1]  # the same place from either process
    assert a.get(f"/api/v1/track/{token}").json()["ahead"] == b.get(f"/api/v1/track/{token}").json()["ahead"]


def test_without_redis_each_process_makes_its_own(pair: tuple[AppHall, AppHall, str]) -> None:
    a, b, _ = pair
    for app in (a, b):
        app.hallq.publisher.bus = HallBus("redis://127.0.0.1:1/0", "nowhere", app.hallq.publisher._heard)
    assert a.act("w1", "open").status_code == 200
    a.issue("id-card")
    made = _refresh(a)
    b.advance(30)
    own = _refresh(b)
    assert made is not None and own is not None
    assert own.version == made.version and own.at != made.at  # made here, not taken
    assert own.est.keys() == made.est.keys()


def test_a_damaged_or_older_shared_board_is_not_taken(pair: tuple[AppHall, AppHall, str]) -> None:
    """A board this version cannot read (another version's format, damage) is ignored and replaced by one made
    here; and a shared board older than this process's own is never taken over it."""
    a, b, channel = pair
    assert a.act("w1", "open").status_code == 200
    for i in range(18):
        a.issue(("id-card", "social")[i % 2])
    key = f"{channel}:halls:board:town"
    client = redis.Redis.from_url(REDIS_URL)
    client.hset(key, mapping={"board": "{not json", "by": "elsewhere"})
    client.set(key + ":fresh", "1", px=60_000)
    a.issue("id-card")  # a change: the next refresh reads what is shared
    made = _refresh(a)
    assert made is not None and made.waiting == 19  # made here, not stopped by what was shared
    Board.loads(a.ctx.hall("town"), client.hget(key, "board"))  # and what is shared now is readable
    older = client.hget(key, "board")
    b.issue("id-card")
    newer = _refresh(b)  # b makes a board of the newer state...
    assert newer is not None and newer.waiting == 20
    a.issue("social")
    a.settle()  # (the hall moved on again: b's board is stale)
    client.hset(key, mapping={"board": older, "by": "elsewhere"})  # ...and an older one is shared, "fresh"
    client.set(key + ":fresh", "1", px=60_000)
    kept = _refresh(b)
    assert kept is not None and kept.waiting == 21  # made anew here, never back to the older board
