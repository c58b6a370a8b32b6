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
from support.server import Server


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
        for refused in (
            _tap(server, kiosk, uuid.uuid4().hex),
            _tap(server, kiosk, earlier),  # a key answered before the revocation: no earlier answer either
            _tap(server, script, uuid.uuid4().hex, priority=True, kiosk=None),
        ):
            assert refused.status_code == 401, refused.text  # type: ignore[attr-defined]
            assert refused.json()["error"]["code"] == "unauthorized"  # type: ignore[attr-defined]
    assert _waiting(a) == waiting  # nothing joined a queue
    after = a.issue("id-card")  # the next number is the one after the last ticket issued: none was taken
    assert after["number"] == "A009"
