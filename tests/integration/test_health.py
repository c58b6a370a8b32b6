"""Health says `degraded` (503) while the database is unreachable, and the server recovers."""

from __future__ import annotations

import time
from pathlib import Path

from support.databases import pg_schema
from support.proxy import Proxy
from support.server import Server, free_port, write_config


def test_health_is_503_degraded_while_postgres_is_unreachable_and_recovers(tmp_path: Path) -> None:
    proxy = Proxy(5432)
    with pg_schema() as url:
        via_proxy = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        port = free_port()
        server = Server(write_config(tmp_path, via_proxy, port=port), port, via_proxy).start()
        try:
            assert server.issue("id-card")["number"] == "A001"
            proxy.sever()
            r = server.get("/api/v1/health")
            assert r.status_code == 503 and r.json()["status"] == "degraded"
            down = server.post("/api/v1/halls/town/tickets", {"service": "id-card"})
            assert down.status_code == 503 and down.json()["error"]["code"] == "database_unavailable"
            proxy.restore()
            deadline = time.monotonic() + 10
            while server.get("/api/v1/health").status_code != 200:
                assert time.monotonic() < deadline, "the server did not reconnect"
                time.sleep(0.2)
            assert server.issue("id-card")["number"] == "A002", "nothing half-written while it was down"
        finally:
            server.stop()
            proxy.close()
