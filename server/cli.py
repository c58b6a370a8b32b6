"""The `hallq` command: demo, serve, token, kiosk, user.

Bad arguments print one readable line and exit 2. An unexpected failure prints one readable line
too; its traceback goes to the data folder's `hallq-errors.log` (or to stderr with `--debug`).

Import order matters: `demo` and `serve` monkey-patch (eventlet or gevent) before SQLAlchemy, Flask or any other
library is imported (docs/architecture.md), so this module imports only the standard library at the
top and reads the async mode from the config file with tomllib before loading it properly.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import secrets
import signal
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from server.config import Config

DEFAULT_DATA = Path("hallq-data")
ERROR_LOG = "hallq-errors.log"
log = logging.getLogger("hallq.cli")
_data_dir: Path | None = None  # where the error log goes, once a config is loaded
# Files and folders hallq makes (the database, secret_key, backups, the error log, printed slips) are the
# service user's alone: 0600 and 0700. HALLQ_UMASK (octal, e.g. 027 for a group of readers) changes it.
DEFAULT_UMASK = 0o077


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


def _minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {value!r}") from None
    if not 1 <= minutes <= 43200:
        raise argparse.ArgumentTypeError(f"minutes out of range 1-43200: {minutes}")
    return minutes


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hallq", description="Queue and kiosk system for a public service hall.")
    p.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run a demo hall on 127.0.0.1 (SQLite, virtual printer)")
    demo.add_argument("--port", type=_port, default=5000, help="port to listen on (default 5000)")
    demo.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default ./{DEFAULT_DATA})")
    demo.add_argument("--webhook", metavar="URL", help="also POST every outbound event of its halls to URL")
    demo.add_argument("--webhook-secret", metavar="S", help="the signing secret (16+ characters) for --webhook")

    serve = sub.add_parser("serve", help="run the server for the halls in a config file")
    serve.add_argument("--config", type=Path, required=True, help="the TOML config file")
    serve.add_argument("--host", help="override [server].host")
    serve.add_argument("--port", type=_port, help="override [server].port")

    token = sub.add_parser("token", help="manage API tokens for counters, supervisors and admins")
    tsub = token.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = tsub.add_parser("create", help="print a new token (last line of the output)")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--counter", help="a token for this counter id")
    who.add_argument("--kiosk", help="a token for this kiosk id (its agent or page prints on its printer)")
    who.add_argument("--role", choices=["supervisor", "admin"], help="a token for a supervisor or an admin")
    create.add_argument("--hall", help="limit a supervisor or admin token to one hall")
    create.add_argument("--label", help="a name for the ledger and audits")
    _source_args(create)
    revoke = tsub.add_parser("revoke", help="revoke a token by its id (the part after hq_ and before the dot)")
    revoke.add_argument("token_id")
    _source_args(revoke)
    tlist = tsub.add_parser("list", help="list tokens: id, role, hall, counter or kiosk, label, revoked (no secrets)")
    _source_args(tlist)

    kiosk = sub.add_parser("kiosk", help="enroll kiosk browsers (the device cookie that lets a kiosk page print)")
    ksub = kiosk.add_subparsers(dest="action", required=True, parser_class=_Parser)
    enroll = ksub.add_parser("enroll", help="print a one-time enrollment link for a kiosk (last line of the output)")
    enroll.add_argument("kiosk_id")
    enroll.add_argument(
        "--valid-minutes", type=_minutes, default=24 * 60, help="how long the link may be used (default 1440)"
    )
    _source_args(enroll)
    unenroll = ksub.add_parser("revoke", help="un-enroll every browser of a kiosk")
    unenroll.add_argument("kiosk_id")
    _source_args(unenroll)

    agent = sub.add_parser("kiosk-agent", help="print a kiosk's slips on the printer beside the kiosk PC")
    agent.add_argument("--server", required=True, help="the hallq server's URL, e.g. http://hall.example:5000")
    agent.add_argument("--token", required=True, help="the kiosk's token (hallq token create --kiosk K)")
    agent.add_argument(
        "--printer",
        required=True,
        type=_printer_spec,
        help="usb:VID:PID | serial:/dev/ttyS0 | network:HOST:9100 | file:DIR (slips kept as .bin and .png)",
    )
    agent.add_argument("--poll", type=float, default=2.0, help="seconds between printer status checks (default 2)")

    emulator = sub.add_parser("printer-emulator", help="a virtual network receipt printer, for trying without one")
    emulator.add_argument("--port", type=_port, default=9100, help="TCP port (default 9100)")
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    emulator.add_argument("--out", type=Path, required=True, help="folder for the printed slips (.bin and .png)")
    paper = emulator.add_mutually_exclusive_group()
    paper.add_argument("--paper-out", action="store_true", help="say the paper is out (prints nothing)")
    paper.add_argument("--paper-low", action="store_true", help="say the paper is running low")
    paper.add_argument("--silent", action="store_true", help="take connections but never answer (a hung printer)")

    user = sub.add_parser("user", help="manage staff logins")
    usub = user.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = usub.add_parser("add", help="create or update a login; the password is read from standard input")
    add.add_argument("username")
    add.add_argument("--role", choices=["clerk", "supervisor", "admin"], required=True)
    add.add_argument("--hall", help="the hall the user belongs to (clerks: default the only hall)")
    _source_args(add)
    disable = usub.add_parser("disable", help="disable a login: its sessions and live pages end at once")
    disable.add_argument("username")
    _source_args(disable)
    enable = usub.add_parser("enable", help="enable a disabled login again (it logs in anew)")
    enable.add_argument("username")
    _source_args(enable)
    ulist = usub.add_parser("list", help="list logins: username, role, hall, enabled or disabled, live sessions")
    _source_args(ulist)
    member = usub.add_parser("halls", help="the halls a supervisor belongs to (one or more)")
    member.add_argument("username")
    member.add_argument("halls", nargs="+", metavar="HALL")
    _source_args(member)
    close = sub.add_parser("close-day", help="close out a day's tickets still in the hall and store its summary")
    close.add_argument("--hall", required=True, help="the hall id")
    close.add_argument("--date", type=_day, help="the hall-local day, YYYY-MM-DD (default: today)")
    _source_args(close)

    backup = sub.add_parser("backup", help="write a database backup now (into <data_dir>/backups)")
    _source_args(backup)
    restore = sub.add_parser("restore", help="replace the database with a backup file (stop the servers first)")
    restore.add_argument("file", type=Path, help="a backup written by the scheduler or `hallq backup`")
    _source_args(restore)
    # `hallq serve --debug` as well as `hallq --debug serve`
    for leaf in (demo, serve, create, revoke, add, tlist, disable, enable, ulist):
        leaf.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {value!r}") from None


def _printer_spec(value: str) -> str:
    from printers.drivers import parse_spec

    try:
        parse_spec(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def _source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", type=Path, help="the server's TOML config file")
    src.add_argument("--data", type=Path, help=f"a demo hall's data folder (default ./{DEFAULT_DATA})")


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"hallq: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _loaded(config: Config) -> Config:
    global _data_dir
    _data_dir = config.settings.data_dir
    return config


def _config(args: argparse.Namespace) -> Config:
    from server.config import load_config, load_demo_config

    if getattr(args, "config", None) is not None:
        return _loaded(load_config(args.config))
    data = getattr(args, "data", None)
    if data is not None and args.command not in ("demo", "serve", "restore") and not Path(data).is_dir():
        # A mistyped --data would get a database of its own, and a token or login no server knows.
        fail(f"no data folder {data}: give the folder `hallq demo --data` uses (it makes it on its first start)")
    return _loaded(load_demo_config(data or DEFAULT_DATA))


def _async_mode_of(args: argparse.Namespace) -> str:
    """The async mode the server will run in, read before any library is imported.

    Same precedence as server.config (environment, then the file, then eventlet); a file that cannot
    be read here is reported properly by load_config right after.
    """
    mode = os.environ.get("HALLQ_ASYNC_MODE")
    if mode:
        return mode
    if getattr(args, "config", None) is None:
        return "eventlet"  # the demo hall's file sets none
    try:
        server = tomllib.loads(Path(args.config).read_bytes().decode("utf-8-sig")).get("server", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "eventlet"
    mode = server.get("async_mode", "eventlet") if isinstance(server, dict) else "eventlet"
    return mode if isinstance(mode, str) else "eventlet"


def _prepare_async(mode: str) -> None:
    """Pick the async mode once, before SQLAlchemy, Flask and friends are imported.

    eventlet and gevent both monkey-patch the standard library (sockets, threads, locks, queues, sleep),
    so the server's own threads and locks, the scheduler's thread and the drivers' sockets turn green.
    """
    if mode == "eventlet":
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
        # eventlet's own resolver (dnspython) is a third of a second of imports at every start; the system's
        # resolver, in a worker thread, answers the few names a server looks up (Redis, printers) as well.
        os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
        import eventlet

        eventlet.monkey_patch()
        if os.environ["EVENTLET_NO_GREENDNS"].lower() == "yes":
            _resolve_in_threads()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    else:
        return
    from server.store.db import make_green

    make_green(mode)  # after monkey patching: psycopg2 then waits on PostgreSQL without stopping the hub


def _resolve_in_threads() -> None:
    """Under eventlet without its resolver: a host name is looked up by the system's resolver in one of
    eventlet's worker threads, so a slow DNS server holds that lookup, never the hub (and every request
    with it). Addresses and localhost need no lookup and are answered at once."""
    import ipaddress
    import socket

    from eventlet import patcher, tpool
    from eventlet.green import socket as green_socket

    original = patcher.original("socket")

    def literal(host: Any) -> bool:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if name is None or name == "localhost":
            return True
        try:
            ipaddress.ip_address(name.split("%", 1)[0])  # an IPv6 address may carry a zone
        except (ValueError, AttributeError):
            return False
        return True

    def off_hub(name: str) -> Callable[..., Any]:
        def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
            lookup = getattr(original, name)
            if literal(host):
                return lookup(host, *args, **kwargs)
            return tpool.execute(lookup, host, *args, **kwargs)

        return resolve

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        resolve = off_hub(name)
        setattr(socket, name, resolve)
        setattr(green_socket, name, resolve)  # its create_connection looks getaddrinfo up here


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


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone().isoformat(timespec="minutes")
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> None:
    cells = [header, *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def cmd_token(args: argparse.Namespace) -> None:
    from server.auth import create_token, revoke_token, tokens
    from server.revocation import announce

    config = _config(args)
    ctx = _offline_context(config)
    if args.action == "list":
        found = tokens(ctx)
        _table(
            ["id", "role", "hall", "for", "label", "created", "revoked"],
            [[t["id"], t["role"], t["hall"], t["counter"] or t["kiosk"], t["label"], t["created_at"], t["revoked_at"]]
             for t in found],
        )  # fmt: skip
        return
    if args.action == "revoke":
        if not revoke_token(ctx, args.token_id):
            fail(f"no active token with id {args.token_id!r}")  # a wrong argument: exit 2 (PROTOCOL.md)
        announce(config.settings, token=args.token_id)  # live connections end now (else within seconds)
        print(f"revoked {args.token_id}")
        return
    if args.counter:
        token = create_token(ctx, "counter", counter=args.counter, label=args.label)
        print(f"token for counter {args.counter}:")
    elif args.kiosk:
        token = create_token(ctx, "kiosk", kiosk=args.kiosk, label=args.label)
        print(f"token for kiosk {args.kiosk}:")
    else:
        token = create_token(ctx, args.role, hall=args.hall, label=args.label)
        print(f"token for {args.role}{' of ' + args.hall if args.hall else ''}:")
    print(token)


DEMO_URL_FILE = "demo-url"  # the address the demo last ran on, in its data folder


def _base_url(config: Config) -> str:
    """Where links point: public_url, else (the demo's folder) where the demo last ran, else host:port."""
    s = config.settings
    if s.public_url:
        return s.public_url
    try:
        demo = (s.data_dir / DEMO_URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        demo = ""
    return demo or f"http://{s.host}:{s.port}"


def cmd_kiosk(args: argparse.Namespace) -> None:
    from server.devices import create_enrollment, revoke_devices

    config = _config(args)
    ctx = _offline_context(config)
    if args.action == "revoke":
        if config.find_kiosk(args.kiosk_id) is None:
            fail(f"unknown kiosk: {args.kiosk_id}")
        print(f"revoked {revoke_devices(ctx, args.kiosk_id)} enrolled browser(s) of kiosk {args.kiosk_id}")
        return
    enrollment = create_enrollment(ctx, args.kiosk_id, args.valid_minutes * 60)
    expires = enrollment.expires_at.astimezone().isoformat(timespec="minutes")
    print(f"open this link once on kiosk {args.kiosk_id}'s screen (valid until {expires}):")
    print(_base_url(config) + enrollment.path)


def cmd_user(args: argparse.Namespace) -> None:
    from server.auth import add_user, set_disabled, set_user_halls, users
    from server.revocation import announce

    if args.action == "halls":
        ctx = _offline_context(_config(args))
        set_user_halls(ctx, args.username, args.halls)
        print(f"user {args.username}: halls {', '.join(args.halls)}")
        return
    if args.action == "add":
        password = sys.stdin.readline().rstrip("\r\n")
    config = _config(args)
    ctx = _offline_context(config)
    if args.action == "list":
        _table(
            ["username", "role", "hall", "status", "sessions"],
            [[u["username"], u["role"], u["hall"], "disabled" if u["disabled"] else "enabled", u["sessions"]]
             for u in users(ctx)],
        )  # fmt: skip
        return
    if args.action in ("disable", "enable"):
        if not set_disabled(ctx, args.username, args.action == "disable"):
            fail(f"no user {args.username!r}")
        if args.action == "disable":
            from server.services.desk import sign_out

            sign_out(ctx, args.username)  # 考勤: off every counter (pages see it at their next refresh)
            announce(config.settings, user=args.username)  # its live pages end now (else within seconds)
        print(f"user {args.username} {args.action}d")
        return
    add_user(ctx, args.username, password, args.role, args.hall, ctx.clock.now())
    announce(config.settings, user=args.username)  # a new password ends the old one's sessions and pages
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


DEMO_EMULATOR_PORT = 9101


def _demo_agent_token(config: Config, kiosk_id: str) -> str:
    """The agent kiosk's token, made on first start and kept in the data folder like the logins."""
    path = config.settings.data_dir / f"demo-kiosk-{kiosk_id}.token"
    if path.exists():
        return path.read_text().strip()
    from server.auth import create_token

    token = create_token(_offline_context(config), "kiosk", kiosk=kiosk_id, label=f"demo agent {kiosk_id}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def _free_port_from(port: int) -> int:
    """The first port from `port` on that nothing listens on (the emulator's; 9101 unless taken)."""
    import socket

    for candidate in range(port, min(port + 200, 65536)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    return port


def _demo_agent_lines(config: Config, base: str, data: Path) -> list[str]:
    """How to start a printer emulator and the kiosk agent of each agent-printed kiosk (one in the demo)."""
    lines: list[str] = []
    port = DEMO_EMULATOR_PORT - 1
    for kiosk in (k for k in config.halls[0].kiosks if k.printer.kind == "agent"):
        port = _free_port_from(port + 1)
        token = _demo_agent_token(config, kiosk.id)
        out = data / f"printed-{kiosk.id}"
        lines += [
            f"  kiosk {kiosk.id} is printed by a kiosk agent; in two more terminals run:",
            f"    hallq printer-emulator --port {port} --out {out}",
            f"    hallq kiosk-agent --server {base} --token {token} --printer network:127.0.0.1:{port}",
            f"  then take a ticket at {base}/kiosk/{kiosk.id}: its slip appears in {out}",
        ]
    return lines


def cmd_demo(args: argparse.Namespace) -> None:
    from server.config import load_demo_config

    data = args.data.resolve()
    config = _loaded(load_demo_config(data))
    base = f"http://127.0.0.1:{args.port}"
    settings = dataclasses.replace(config.settings, host="127.0.0.1", port=args.port, public_url=base)
    config = dataclasses.replace(config, settings=settings)
    if args.webhook is not None or args.webhook_secret is not None:
        config = _demo_webhook(config, args.webhook, args.webhook_secret)
    logins = _demo_logins(config)
    (data / DEMO_URL_FILE).write_text(base + "\n", encoding="utf-8")  # `hallq kiosk enroll --data` links here
    hall = config.halls[0]
    lines = [f"hallq demo hall: {hall.name}", f"  data folder:  {data}"]
    lines += [f"  kiosk:        {base}{path}" for path in _demo_kiosk_links(config)]
    lines += [f"  display:      {base}/display/{hall.id}"]
    lines += [f"  counter:      {base}/login  ->  {base}/counter", f"  admin:        {base}/admin"]
    lines += [f"  login:        {u} / {pw}  ({r})" for u, r, pw in logins]
    lines += [f"  printed tickets: {data / 'printed'}"]
    lines += _demo_agent_lines(config, base, data)
    lines += [f"  webhook:      every event to {args.webhook} (signed)"] if args.webhook else []
    lines += ["Press Ctrl-C to stop."]
    _run(config, lines)


def _demo_webhook(config: Config, url: str | None, secret: str | None) -> Config:
    """`--webhook URL --webhook-secret S`: every hall of the demo posts its events there (PROTOCOL v1.2)."""
    from server.config import ConfigError, with_webhook

    if url is None or secret is None:
        fail("--webhook and --webhook-secret go together")
    try:
        return with_webhook(config, url, secret)
    except ConfigError as e:
        fail(str(e))


def _demo_kiosk_links(config: Config) -> list[str]:
    """Each kiosk's page, already enrolled: a fresh one-time link that sets the device cookie and lands on it."""
    from server.devices import create_enrollment

    ctx = _offline_context(config)
    return [create_enrollment(ctx, k.id).path for h in config.halls for k in h.kiosks]


def cmd_serve(args: argparse.Namespace) -> None:
    from server.config import load_config

    config = _loaded(load_config(args.config))
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        config = dataclasses.replace(config, settings=dataclasses.replace(config.settings, **overrides))
    s = config.settings
    _run(config, [f"hallq serving {len(config.halls)} hall(s) on http://{s.host}:{s.port}"])


STOP_GRACE_S = 10  # after SIGTERM, the longest a server waits for its requests before it exits anyway


def _stop_in(main: Any, socketio: Any) -> Callable[[int, Any], None]:
    """A SIGINT/SIGTERM handler that stops the server whichever greenlet the signal interrupts.

    Python runs a handler wherever the main thread is, which under eventlet or gevent may be any
    greenlet: a KeyboardInterrupt raised there ended only that greenlet (a scheduled job caught it as its
    own failure and the server went on serving). And a greenlet the handler started would wait for the
    hub's next timer (seconds, on a quiet server): the hub's poll resumes after the handler. So the
    signal is only written, by Python's C-level handler (`signal.set_wakeup_fd`), to a socket pair, which
    wakes the poll at once; a greenlet waiting on the other end then interrupts the main greenlet, where
    the WSGI server stops accepting and lets the requests in flight finish, and then disconnects every
    Socket.IO client (their pages reconnect to another process; an open websocket would otherwise keep
    the WSGI server waiting for ever). If that takes over STOP_GRACE_S, the process exits.
    """
    if socketio.async_mode == "threading":  # handlers run in the main thread, which serves

        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        return interrupt

    import socket

    waiting, waking = socket.socketpair()  # green sockets: the process is monkey-patched

    def deadline() -> None:
        socketio.sleep(STOP_GRACE_S)
        logging.getLogger("hallq").warning("requests still running %d s after the stop signal: exiting", STOP_GRACE_S)
        os._exit(1)

    def disconnect_everyone() -> None:
        socketio.sleep(0.05)  # the WSGI server is no longer accepting: nobody reconnects to this process
        try:
            socketio.server.eio.disconnect()  # every client, every namespace
        except Exception:  # noqa: BLE001 - stopping must go on whatever a client's socket does
            logging.getLogger("hallq").exception("disconnecting clients at stop failed")

    def stopper() -> None:
        while waiting.recv(1)[0] not in (signal.SIGINT, signal.SIGTERM):
            pass  # another signal a library handles
        socketio.start_background_task(deadline)
        # Runs once the main greenlet, interrupted now, has left its accept loop and waits for the requests
        # in flight: a page told to go must not reconnect to this process, see "online" and miss calls.
        socketio.start_background_task(disconnect_everyone)
        main.throw(KeyboardInterrupt)

    def stop(signum: int, frame: Any, _wakeup: socket.socket = waking) -> None:
        """Nothing: the byte on the wakeup socket does the work. Installed to replace the default action,
        and holding the socket, which would be closed if collected."""

    waking.setblocking(False)
    signal.set_wakeup_fd(waking.fileno())
    socketio.start_background_task(stopper)
    return stop


def _serve_eventlet(app: Any, settings: Any) -> None:
    """What flask-socketio's run() does under eventlet, with two differences. The listener does not set
    SO_REUSEPORT (eventlet's default): a second server started on a port in use must fail, not share the
    port and hand out the same numbers from another database. And the server holds the limits of
    server/listener.py: `[server] max_connections` (the file limit raised to fit), a cap per address, a
    connection silent for `idle_timeout_s` closed (Socket.IO pings every 25 s), and deadlines for a
    request's headers and body that a byte now and then does not extend."""
    import socket

    import eventlet

    from server import listener as limits

    host, port = settings.host, settings.port
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    try:
        listener = eventlet.listen(address, family, backlog=1024, reuse_port=False)
    except OSError as e:
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    limits.serve(listener, app, settings)


def _run(config: Config, banner: list[str]) -> None:
    from server import logs
    from server.app import create_app
    from server.jobs import start_jobs

    logs.configure(config.settings.log_level)
    app, socketio = create_app(config)
    jobs = start_jobs(app.extensions["hallq"])
    # Ctrl-C and a service manager's SIGTERM both stop cleanly, also when started in the background; set
    # before the banner, so whoever reads it and stops the server at once is heard.
    import greenlet

    try:
        stop = _stop_in(greenlet.getcurrent(), socketio)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        print("\n".join(banner), flush=True)
        # What start-up built (config, app, SQLAlchemy's mappers and compiled statements) lives as long as
        # the process: out of the collector's sight, so a full collection in the middle of a call walks only
        # what requests made (shorter pauses on the hot path).
        gc.collect()
        gc.freeze()
        if config.settings.async_mode == "eventlet":
            _serve_eventlet(app, config.settings)
        else:  # gevent's listener and the threading server refuse a port already taken by themselves
            socketio.run(
                app, host=config.settings.host, port=config.settings.port, log_output=False, allow_unsafe_werkzeug=True
            )
    except KeyboardInterrupt:
        pass
    finally:
        jobs.shutdown(wait=False)
        app.extensions["hallq"].printing.stop()
        app.extensions["hallq"].sender.stop()
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


def cmd_kiosk_agent(args: argparse.Namespace) -> None:
    from server import logs

    logs.configure("INFO")
    from printers.agent import run_agent

    code = run_agent(args.server, args.token, args.printer, max(args.poll, 0.2))
    if code:
        raise SystemExit(code)


def cmd_printer_emulator(args: argparse.Namespace) -> None:
    from printers.virtual import run_emulator

    paper = "out" if args.paper_out else "low" if args.paper_low else "ok"
    code = run_emulator(args.out.resolve(), args.host, args.port, paper, args.silent)
    if code:
        raise SystemExit(code)


COMMANDS = {
    "demo": cmd_demo,
    "serve": cmd_serve,
    "token": cmd_token,
    "kiosk": cmd_kiosk,
    "user": cmd_user,
    "close-day": cmd_close_day,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "kiosk-agent": cmd_kiosk_agent,
    "printer-emulator": cmd_printer_emulator,
}


def _set_umask() -> None:
    raw = os.environ.get("HALLQ_UMASK", "").strip()
    try:
        mask = int(raw, 8) if raw else DEFAULT_UMASK
    except ValueError:
        mask = -1
    if not 0 <= mask <= 0o777:
        fail(f"HALLQ_UMASK must be an octal file mode mask such as 077, got {raw[:20]!r}")
    os.umask(mask)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _set_umask()  # before anything is written: the database, backups, logs, printed slips
    if args.command in ("demo", "serve"):
        _prepare_async(_async_mode_of(args))  # before anything imports SQLAlchemy, Flask or psycopg2
    from server.config import ConfigError

    try:
        COMMANDS[args.command](args)
    except ConfigError as e:
        fail(str(e))
    except OSError as e:
        fail(f"{e.strerror or e}{': ' + str(e.filename) if getattr(e, 'filename', None) else ''}", 1)
    except KeyboardInterrupt:
        print("hallq stopped.", flush=True)
    except Exception as e:  # noqa: BLE001 - one readable line; the traceback goes to the error log
        from sqlalchemy.exc import SQLAlchemyError

        from server.engine.errors import HallError

        if isinstance(e, HallError):
            fail(e.message)
        where = _log_traceback(args.command, e, args.debug)
        if isinstance(e, SQLAlchemyError):
            fail(f"database error: {str(e).splitlines()[0][:200]}{where}", 1)
        fail(f"unexpected error: {type(e).__name__}: {str(e)[:200]}{where}", 1)


def _log_traceback(command: str, e: Exception, debug: bool) -> str:
    """Log the traceback (stderr with --debug, else the error log file); say where, for the user's line."""
    if debug:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        where = ""
    else:
        folder = _data_dir if _data_dir is not None and _data_dir.is_dir() else Path(tempfile.gettempdir())
        path = folder / ERROR_LOG
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            return " (run with --debug for details)"
        where = f" (details in {path}; or run with --debug)"
    from server import logs

    handler.setFormatter(logs.masking_formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("hallq %s failed", command, exc_info=e)
    finally:
        log.removeHandler(handler)
        handler.close()
    return where


if __name__ == "__main__":
    main()
