"""The `hallq` command: demo, serve, token, user.

Bad arguments print one readable line and exit 2; nothing here prints a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import signal
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from server.config import Config, ConfigError, load_config, load_demo_config

DEFAULT_DATA = Path("hallq-data")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hallq", description="Queue and kiosk system for a public service hall.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run a demo hall on 127.0.0.1 (SQLite, virtual printer)")
    demo.add_argument("--port", type=_port, default=5000, help="port to listen on (default 5000)")
    demo.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default ./{DEFAULT_DATA})")

    serve = sub.add_parser("serve", help="run the server for the halls in a config file")
    serve.add_argument("--config", type=Path, required=True, help="the TOML config file")
    serve.add_argument("--host", help="override [server].host")
    serve.add_argument("--port", type=_port, help="override [server].port")

    token = sub.add_parser("token", help="manage API tokens for counters, supervisors and admins")
    tsub = token.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = tsub.add_parser("create", help="print a new token (last line of the output)")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--counter", help="a token for this counter id")
    who.add_argument("--role", choices=["supervisor", "admin"], help="a token for a supervisor or an admin")
    create.add_argument("--hall", help="limit a supervisor or admin token to one hall")
    create.add_argument("--label", help="a name for the ledger and audits")
    _source_args(create)
    revoke = tsub.add_parser("revoke", help="revoke a token by its id (the part after hq_ and before the dot)")
    revoke.add_argument("token_id")
    _source_args(revoke)

    user = sub.add_parser("user", help="manage staff logins")
    usub = user.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = usub.add_parser("add", help="create or update a login; the password is read from standard input")
    add.add_argument("username")
    add.add_argument("--role", choices=["clerk", "supervisor", "admin"], required=True)
    add.add_argument("--hall", help="the hall the user belongs to (clerks: default the only hall)")
    _source_args(add)
    close = sub.add_parser("close-day", help="close out a day's tickets still in the hall and store its summary")
    close.add_argument("--hall", required=True, help="the hall id")
    close.add_argument("--date", type=_day, help="the hall-local day, YYYY-MM-DD (default: today)")
    _source_args(close)

    backup = sub.add_parser("backup", help="write a database backup now (into <data_dir>/backups)")
    _source_args(backup)
    restore = sub.add_parser("restore", help="replace the database with a backup file (stop the servers first)")
    restore.add_argument("file", type=Path, help="a backup written by the scheduler or `hallq backup`")
    _source_args(restore)
    return p


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {value!r}") from None


def _source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", type=Path, help="the server's TOML config file")
    src.add_argument("--data", type=Path, help=f"a demo hall's data folder (default ./{DEFAULT_DATA})")


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"hallq: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _config(args: argparse.Namespace) -> Config:
    if getattr(args, "config", None) is not None:
        return load_config(args.config)
    return load_demo_config(getattr(args, "data", None) or DEFAULT_DATA)


def _prepare_async(mode: str) -> None:
    """Pick the async mode once, before Flask and friends are imported."""
    if mode == "eventlet":
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
        import eventlet

        eventlet.monkey_patch()
        from server.store.db import make_green

        make_green()  # after monkey patching: psycopg2 then waits on PostgreSQL without stopping the hub


def _offline_context(config: Config) -> Any:
    """The database without the web server, for token and user commands."""
    from server.clock import SystemClock
    from server.services.context import Context
    from server.services.halls import seed_counters
    from server.store.db import Database

    ctx = Context(config, Database.for_settings(config.settings), SystemClock())
    ctx.db.migrate()
    seed_counters(ctx)
    return ctx


def cmd_token(args: argparse.Namespace) -> None:
    from server.auth import create_token, revoke_token

    ctx = _offline_context(_config(args))
    if args.action == "revoke":
        if not revoke_token(ctx, args.token_id):
            fail(f"no active token with id {args.token_id!r}", 1)
        print(f"revoked {args.token_id}")
        return
    if args.counter:
        token = create_token(ctx, "counter", counter=args.counter, label=args.label)
        print(f"token for counter {args.counter}:")
    else:
        token = create_token(ctx, args.role, hall=args.hall, label=args.label)
        print(f"token for {args.role}{' of ' + args.hall if args.hall else ''}:")
    print(token)


def cmd_user(args: argparse.Namespace) -> None:
    from server.auth import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    ctx = _offline_context(_config(args))
    add_user(ctx, args.username, password, args.role, args.hall, ctx.clock.now())
    print(f"user {args.username} ({args.role}) saved")


def _demo_logins(config: Config) -> list[tuple[str, str, str]]:
    """Demo logins, made on first start and kept in the data folder so restarts show the same."""
    path = config.settings.data_dir / "demo-logins.txt"
    if path.exists():
        return [tuple(line.split(" ", 2)) for line in path.read_text().splitlines() if line]  # type: ignore[misc]
    from server.auth import add_user

    ctx = _offline_context(config)
    logins = [("clerk", "clerk", secrets.token_urlsafe(9)), ("manager", "supervisor", secrets.token_urlsafe(9))]
    for username, role, password in logins:
        add_user(ctx, username, password, role, None if role != "clerk" else config.halls[0].id, ctx.clock.now())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{u} {r} {pw}\n" for u, r, pw in logins)
    return logins


def cmd_demo(args: argparse.Namespace) -> None:
    data = args.data.resolve()
    config = load_demo_config(data)
    base = f"http://127.0.0.1:{args.port}"
    settings = dataclasses.replace(config.settings, host="127.0.0.1", port=args.port, public_url=base)
    config = dataclasses.replace(config, settings=settings)
    _prepare_async(settings.async_mode)
    logins = _demo_logins(config)
    hall = config.halls[0]
    lines = [f"hallq demo hall: {hall.name}", f"  data folder:  {data}"]
    lines += [f"  kiosk:        {base}/kiosk/{k.id}" for k in hall.kiosks]
    lines += [f"  display:      {base}/display/{hall.id}"]
    lines += [f"  counter:      {base}/login  ->  {base}/counter", f"  admin:        {base}/admin"]
    lines += [f"  login:        {u} / {pw}  ({r})" for u, r, pw in logins]
    lines += [f"  printed tickets: {data / 'printed'}", "Press Ctrl-C to stop."]
    _run(config, lines)


def cmd_serve(args: argparse.Namespace) -> None:
    config = load_config(args.config)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, **overrides))
    _prepare_async(config.settings.async_mode)
    s = config.settings
    _run(config, [f"hallq serving {len(config.halls)} hall(s) on http://{s.host}:{s.port}"])


def _run(config: Config, banner: list[str]) -> None:
    from server import logs
    from server.app import create_app
    from server.jobs import start_jobs

    logs.configure(config.settings.log_level)
    app, socketio = create_app(config)
    jobs = start_jobs(app.extensions["hallq"])
    print("\n".join(banner), flush=True)
    # Ctrl-C and a service manager's SIGTERM both stop cleanly, also when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        socketio.run(
            app, host=config.settings.host, port=config.settings.port, log_output=False, allow_unsafe_werkzeug=True
        )
    except KeyboardInterrupt:
        pass
    finally:
        jobs.shutdown(wait=False)
        app.extensions["hallq"].printing.stop()
        app.extensions["hallq"].ctx.db.dispose()
    print("hallq stopped.", flush=True)


def cmd_close_day(args: argparse.Namespace) -> None:
    from server.services.closing import close_day

    ctx = _offline_context(_config(args))
    hall = ctx.hall(args.hall)
    day = args.date or hall.local(ctx.clock.now()).date()
    result, _ = close_day(ctx, hall.id, day, who="cli")
    # Events reach live pages through the running servers' next refresh; this process has no Socket.IO.
    s = result.summary
    print(
        f"{hall.id} {result.day}: closed out {result.closed_out} ticket(s); issued {s['issued']}, served {s['served']}"
    )


def cmd_backup(args: argparse.Namespace) -> None:
    from server.services import backups

    config = _config(args)
    ctx = _offline_context(config)
    path = backups.backup(config.settings.database, backups.folder(config.settings.data_dir), ctx.clock.now())
    print(path)


def cmd_restore(args: argparse.Namespace) -> None:
    from server.services import backups

    config = _config(args)
    backups.restore(config.settings.database, args.file)
    _offline_context(config)  # brings an older backup's schema up to date
    print(f"restored {args.file}")


COMMANDS = {
    "demo": cmd_demo,
    "serve": cmd_serve,
    "token": cmd_token,
    "user": cmd_user,
    "close-day": cmd_close_day,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ConfigError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{e.strerror or e}{': ' + str(e.filename) if getattr(e, 'filename', None) else ''}", 1)
    except KeyboardInterrupt:
        print("hallq stopped.", flush=True)
    except Exception as e:  # noqa: BLE001 - one readable line, never a traceback
        from server.engine.errors import HallError

        if isinstance(e, HallError):
            fail(e.message)
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(e, SQLAlchemyError):
            fail(f"database error: {str(e).splitlines()[0][:200]}", 1)
        fail(f"unexpected error: {type(e).__name__}: {str(e)[:200]}", 1)


if __name__ == "__main__":
    main()
