"""A kiosk's or a script's token revoked by another process is refused by the very next issue (two real servers).

Each process verifies a bearer token once and keeps it; the issue's own number statement reads whether it
was revoked since, so a revocation made elsewhere (here: by this test's process, with no message queue to tell
anyone) refuses the next tap on every process, and nothing is written: no ticket, no number taken, and an
Idempotency-Key answered before the revocation is not answered again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from support.app import AppHall
from support.server import Server

from server.auth import create_token


def _tap(server: Server, token: str, key: str, priority: bool = False, kiosk: str | None = "k1") -> object:
    body = {"service": "id-card", "priority": priority, **({"kiosk": kiosk} if kiosk else {})}
    return server.post("/api/v1/halls/town/tickets", body, token, headers={"Idempotency-Key": key})


def _waiting(server: Server) -> dict[str, int]:
    return {s["id"]: s["waiting"] for s in server.get("/api/v1/halls/town/services").json()}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_revoked_issuing_token_is_refused_by_the_very_next_issue_in_every_process(
    start_server: Callable[..., Server], tmp_path: Path, kind: str
) -> None:
    a = start_server(kind, data_dir=tmp_path / "data")
    b = start_server(kind, database_url=a.database, data_dir=tmp_path / "data")
    kiosk, script = a.kiosk_token(), a.admin_token()
    earlier = uuid.uuid4().hex
    for server in (a, b):  # each process verifies both tokens once, and uses them again since
        for i in range(2):
            key = earlier if server is a and i == 0 else uuid.uuid4().hex
            assert _tap(server, kiosk, key).status_code == 201  # type: ignore[attr-defined]
            assert _tap(server, script, uuid.uuid4().hex, priority=True, kiosk=None).status_code == 201  # type: ignore[attr-defined]
    waiting = _waiting(a)
    from server.auth import revoke_token

    for token in (kiosk, script):
        assert revoke_token(a.offline(), token.split(".")[0].removeprefix("hq_"))
    for server in (b, a):
        # The first use of each token in each process is refused by the issue's own statement (401); the
        # process then forgets it, and every later use is refused up front like any stranger's credential:
        # 403 (neither a kiosk's credential nor staff's for a priority ticket).
        for token, kiosk_id, priority in ((kiosk, "k1", False), (script, None, True)):
            first_key = earlier if token is kiosk and server is a else uuid.uuid4().hex
            first = _tap(server, token, first_key, priority, kiosk_id)
            assert first.status_code == 401, first.text  # type: ignore[attr-defined]
            assert first.json()["error"]["code"] == "unauthorized"  # type: ignore[attr-defined]
            for key in (uuid.uuid4().hex, earlier):  # a key answered before the revocation: no earlier answer
                again = _tap(server, token, key, priority, kiosk_id)
                assert again.status_code == 403, again.text  # type: ignore[attr-defined]
    assert _waiting(a) == waiting  # nothing joined a queue
    after = a.issue("id-card")  # the next number is the one after the last ticket issued: none was taken
    assert after["number"] == "A009"


def _revoke_elsewhere(hall: AppHall, token: str) -> None:
    """As another process revokes it: the row changes, this process's cache of verified tokens does not."""
    token_id = token.split(".")[0].removeprefix("hq_")
    with hall.ctx.db.write() as s:
        s.execute(
            text("UPDATE api_tokens SET revoked_at = :at WHERE id = :id"), {"at": hall.clock.now(), "id": token_id}
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_token_revoked_elsewhere_spends_no_more_of_its_kiosks_limit(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    """The first tap after the revocation is refused in the issue's own statement (401) and the process
    forgets the token: every later tap is refused before the kiosk's rate limit, which the kiosk's new token
    still has."""
    hall = make_app_hall(kind, limits="tickets_per_minute = 5")
    old = hall.kiosk_token()
    body = {"service": "id-card", "kiosk": "k1"}
    assert hall.post("/api/v1/halls/town/tickets", body, old).status_code == 201  # verified once, kept
    _revoke_elsewhere(hall, old)
    codes = [hall.post("/api/v1/halls/town/tickets", body, old).status_code for _ in range(12)]
    assert codes[0] == 401 and set(codes[1:]) == {403}, codes  # then: no kiosk credential, as for any stranger
    new = create_token(hall.ctx, "kiosk", kiosk="k1")
    for _ in range(3):  # 1 + 1 of 5 spent so far
        assert hall.post("/api/v1/halls/town/tickets", body, new).status_code == 201


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_token_revoked_elsewhere_gets_no_earlier_answer_whatever_else_it_sends(
    make_app_hall: Callable[..., AppHall], kind: str
) -> None:
    """An Idempotency-Key answered before the revocation: neither the same request nor one refused before the
    number is taken (an unknown notice code) answers the earlier ticket again."""
    hall = make_app_hall(kind)
    old = hall.kiosk_token()
    key = uuid.uuid4().hex
    body = {"service": "id-card", "priority": True, "kiosk": "k1"}
    assert hall.post("/api/v1/halls/town/tickets", body, old, headers={"Idempotency-Key": key}).status_code == 201
    _revoke_elsewhere(hall, old)
    tricked = {"service": "id-card", "kiosk": "k1", "notice": "ZZZZZZZZ"}
    refused = hall.post("/api/v1/halls/town/tickets", tricked, old, headers={"Idempotency-Key": key})
    assert refused.status_code == 401, refused.text
    assert "track_url" not in refused.text
