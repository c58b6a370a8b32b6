"""Health says `degraded` (503) while the database is unreachable, and the server recovers."""

from __future__ import annotations

import time
from collections.abc import Callable

from support.databases import pg_schema
from support.proxy import Proxy
from support.server import Server


def test_health_is_503_degraded_while_postgres_is_unreachable_and_recovers(start_server: Callable[..., Server]) -> None:
    proxy = Proxy(5432)
    try:
        with pg_schema() as url:
            via_proxy = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            server = start_server("postgres", database_url=via_proxy)
            try:
                assert server.issue("id-card")["number"] == "A001"
                proxy.sever()
                r = server.get("/api/v1/health")
                assert r.status_code == 503 and r.json()["status"] == "degraded"
                down = server.post("/api/v1/halls/town/tickets", {"service": "id-card"})
                assert down.status_code == 503 and down.json()["error"]["code"] == "database_unavailable"
                proxy.restore()
                deadline = time.monotonic() + 30
                while server.get("/api/v1/health").status_code != 200:
                    assert time.monotonic() < deadline, "the server did not reconnect"
                    time.sleep(0.2)
                assert server.issue("id-card")["number"] == "A002", "nothing half-written while it was down"
            finally:
                server.stop()  # before its schema is dropped
    finally:
        proxy.close()
