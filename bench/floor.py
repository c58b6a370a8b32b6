"""The floor: the least this stack can do for one request, to measure hallq against.

The same server as hallq (Flask + Flask-SocketIO, one process, in the config's async mode (eventlet by
default) prepared as `hallq serve` prepares it, psycopg2 made cooperative, the same config file read by the
same loader, the same `Database` unit of work), with three routes:

- `POST /floor/rows`: insert one row and commit (`db.write()`: SQLite's lock and BEGIN IMMEDIATE, or a
  pooled PostgreSQL connection), answer 201 with its id;
- `POST /floor/emit`: emit one `call` event to the `/display` room of the hall, answer 200; with `"waiting":
  true` in the body also the `waiting` counts event that the contract sends after every call (PROTOCOL.md:
  "whenever waiting counts change"), the contract's own pair; `"hall"` names the room (default `town`, as a
  display's `?hall=` does);
- `GET /floor/health`.

With `--message-queue redis://...` (or the config's `message_queue`) the emit goes through Redis on
`--channel` (default: the config's `message_channel`), as between hallq processes: several floors on one
channel are the bare Flask-SocketIO broadcast through Redis (bench/scale.py emits on one, listens on another).

    python -m bench.floor --config FILE --port N [--message-queue URL] [--channel NAME]
                                             (started by bench.hotpath and bench.scale; binds 127.0.0.1 only)
"""

from __future__ import annotations

import argparse
import signal


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--message-queue", default=None, help="Redis URL (default: the config's message_queue)")
    parser.add_argument("--channel", default=None, help="its pub/sub channel (default: the config's)")
    args = parser.parse_args(argv)

    from server.cli import _async_mode_of, _prepare_async  # the standard library only, until it patches

    _prepare_async(_async_mode_of(args))  # eventlet or gevent, exactly as `hallq serve` does
    serve(args.config, args.port, args.message_queue, args.channel)


def serve(config_path: str, port: int, message_queue: str | None = None, channel: str | None = None) -> None:
    import secrets
    import time
    from datetime import UTC, datetime

    from flask import Flask, jsonify, request
    from flask_socketio import SocketIO, join_room
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert

    from server.config import load_config
    from server.store.db import Database

    config = load_config(config_path)
    settings = config.settings
    db = Database.for_settings(settings)
    meta = MetaData()
    rows = Table(
        "floor_rows",
        meta,
        Column("id", String(32), primary_key=True),
        Column("hall_id", String(40)),
        Column("n", Integer),
        Column("at", DateTime),
    )
    meta.create_all(db.engine)
    statement = insert(rows)

    app = Flask(__name__)
    socketio = SocketIO(
        app,
        async_mode=settings.async_mode,
        message_queue=message_queue or settings.message_queue,
        channel=channel or settings.message_channel,
        json=None,
    )

    @app.post("/floor/rows")
    def add_row() -> object:
        row_id = secrets.token_hex(8)
        with db.write() as s:
            s.execute(statement, {"id": row_id, "hall_id": "town", "n": 1, "at": datetime.now(UTC)})
        return jsonify(id=row_id), 201

    @app.post("/floor/emit")
    def emit_one() -> object:
        body = request.get_json(silent=True) or {}
        room = f"hall:{body.get('hall', 'town')}"
        payload = {"ticket": body.get("ticket", ""), "number": "A001", "counter": "w1", "at": time.time()}
        socketio.emit("call", payload, namespace="/display", to=room)
        if body.get("waiting"):
            socketio.emit("waiting", {"id-card": 12, "social": 7}, namespace="/display", to=room)
        return jsonify(ok=True)

    @app.get("/floor/health")
    def health() -> object:
        return jsonify(status="ok")

    @socketio.on("connect", namespace="/display")
    def connect(auth: object = None) -> bool:
        join_room(f"hall:{request.args.get('hall', 'town')}")
        return True

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"floor on http://127.0.0.1:{port}", flush=True)
    try:
        socketio.run(app, host="127.0.0.1", port=port, log_output=False, allow_unsafe_werkzeug=True)
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
