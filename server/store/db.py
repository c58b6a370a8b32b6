"""Engines and the unit of work.

The rule for SQLite under eventlet or gevent (docs/storage.md): a transaction must never yield.
The sqlite3 driver blocks in C and is not green, so one greenlet holding the write lock
while another waits for it would stall the whole server. Hence: one connection per
process, a process-wide lock around every unit of work, `BEGIN IMMEDIATE` for writes
(the write lock is taken up front, so two processes never deadlock upgrading a read
lock), WAL so readers in other processes are not blocked, a busy timeout for the short
waits between processes, and no emits, printing or network I/O inside a transaction:
events are published after commit by the caller.

PostgreSQL is different: psycopg2 is made cooperative (eventlet's patcher, or psycogreen under gevent:
see `make_green`), so a greenlet waiting on the server yields to the others, and each transaction takes
its own connection from the pool: no process-wide lock. Connect and statement timeouts keep one
stuck query from holding a connection for ever.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

from sqlalchemy import bindparam, create_engine, event, inspect, make_url, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.pool import StaticPool

from . import raw
from .expressions import sqlite_seconds
from .raw import Raw

SQLITE_BUSY_MS = 100  # sqlite3 waits in C (the whole process stalls): keep it short, retry in Python
MIGRATE_BUSY_MS = 30000
WRITE_WAIT_S = 15.0
_JITTER = random.Random()  # noqa: S311 - retry jitter, from a generator of our own (not the module's)
POOL_WAIT_S = 30  # PostgreSQL: how long a request waits for a pooled connection before giving up
IDLE_PING_S = 5.0  # PostgreSQL: a pooled connection idle this long is pinged before it is used again

# sqlite3 adapts each bound value that is not exactly an int, float, str or bytearray. For None and bool it has no
# adapter and looks for one by attribute (two failed lookups, one of them a formatted AttributeError): about 0.5 µs
# a value, and an issue binds 28 of them. Registered, each is a dict lookup and a C call; what is bound is the
# same (NULL; 0 or 1). Process-wide, as sqlite3's adapters are.
sqlite3.register_adapter(type(None), cast(Any, {}.get))  # {}.get(None) is None: a C call
sqlite3.register_adapter(bool, int)


class DatabaseBusy(OperationalError):
    """Another process kept the SQLite write lock for longer than WRITE_WAIT_S."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, Exception(message))


class Database:
    """One engine per process, and the only door to a Session."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        connect_timeout_s: int = 5,
        statement_timeout_s: int = 30,
        prepared_statements: bool = True,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._lock = threading.RLock()  # green under eventlet's or gevent's monkey patching
        self._begin = "BEGIN"
        self.engine = (
            self._make_engine(url)
            if self.is_sqlite
            else _pg_engine(url, pool_size, connect_timeout_s, statement_timeout_s, prepare=prepared_statements)
        )
        # PostgreSQL reads run on a pool of autocommit connections: at READ COMMITTED every statement takes its
        # own snapshot anyway, so a read transaction gave no more consistency, and its BEGIN and ROLLBACK were
        # two round trips of three for a one-query read (its own pool: switching a pooled connection in and
        # out of autocommit costs round trips too: half the size of the writers'). SQLite reads keep their
        # transaction (one snapshot).
        self._reader = (
            self.engine
            if self.is_sqlite
            else _pg_engine(
                url,
                max(1, pool_size // 2),
                connect_timeout_s,
                statement_timeout_s,
                autocommit=True,
                prepare=prepared_statements,
            )
        )

    @classmethod
    def for_settings(cls, settings: Any) -> Database:
        """The database a config's [server] table describes."""
        return cls(
            settings.database,
            pool_size=settings.db_pool_size,
            connect_timeout_s=settings.db_connect_timeout_s,
            statement_timeout_s=settings.db_statement_timeout_s,
            prepared_statements=settings.db_prepared_statements,
        )

    def _guard(self) -> AbstractContextManager[Any]:
        """SQLite: greenlets take turns whole transactions at a time. PostgreSQL: the pool, nothing more."""
        return self._lock if self.is_sqlite else nullcontext()

    def _make_engine(self, url: str) -> Engine:
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=StaticPool,  # exactly one connection per process
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.create_function("hq_seconds", 2, sqlite_seconds, deterministic=True)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # On sqlite3's own connection (SQLAlchemy's execution machinery for a BEGIN was 3% of an issue); its
            # error wrapped as SQLAlchemy's would be ("database is locked": _begin_write waits and tries again).
            try:
                conn.connection.driver_connection.execute(self._begin)
            except sqlite3.Error as e:
                raise OperationalError(self._begin, None, e) from e

        return engine

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction, committed on success and rolled back on any error."""
        deadline = time.monotonic() + WRITE_WAIT_S
        for attempt in itertools.count():
            with self._guard():
                session = self._begin_write()
                if session is not None:
                    try:
                        yield session
                        session.commit()
                    except BaseException:
                        session.rollback()
                        raise
                    finally:
                        session.close()
                    return
            # Another process holds SQLite's write lock. Wait here, outside our lock and outside
            # sqlite3's C busy handler, so this process's other greenlets keep running; the jitter
            # keeps two processes from starving each other.
            if time.monotonic() > deadline:
                raise DatabaseBusy("the database stayed locked by another process")
            time.sleep(min(0.05, 0.002 * 2**attempt) * (0.5 + _JITTER.random()))  # noqa: S311

    def _begin_write(self) -> Session | None:
        """A session inside a write transaction, or None when SQLite's write lock is taken."""
        session = Session(self.engine, expire_on_commit=False)
        self._begin = "BEGIN IMMEDIATE"
        try:
            session.begin()
            # runs BEGIN (IMMEDIATE on SQLite) now; kept for `connection` (the session's own lookup costs more
            # than a short statement on the hot path)
            session.info[_CONNECTION] = session.connection()
            return session
        except OperationalError as e:
            session.close()
            if self.is_sqlite and "locked" in str(e.orig):
                return None
            raise
        finally:
            self._begin = "BEGIN"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read; nothing it does is kept. SQLite: one snapshot. PostgreSQL: each statement sees what was
        committed when it ran (autocommit; at READ COMMITTED a transaction gave no more than that)."""
        # Closing (not rolling back) ends the transaction without expiring what was read.
        with self._guard(), self._read_session() as session:
            yield session

    @contextmanager
    def read_if_free(self) -> Iterator[Session | None]:
        """`read()` when it can start at once, else None: on SQLite, another transaction of this process holds
        the turn (for work that had better be skipped than wait, such as counts a worker sends anyway)."""
        if self.is_sqlite and not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            with self._read_session() as session:
                yield session
        finally:
            if self.is_sqlite:
                self._lock.release()

    def _read_session(self) -> Session:
        if self.is_sqlite:
            return Session(self.engine, expire_on_commit=False)
        return _ReadSession(self._reader, expire_on_commit=False, autoflush=False)

    @contextmanager
    def query(self) -> Iterator[Connection]:
        """A plain connection for a read of a few Core statements: no ORM session to set up (the hot
        paths' checks, such as a bearer token's row); ended, not committed, on leaving."""
        with self._guard(), self._reader.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration; safe when several processes start at once."""
        from .migrate import upgrade

        with self._lock:
            if self.is_sqlite:
                self._begin = "BEGIN IMMEDIATE"  # the second process waits, then finds nothing to do
                with self.engine.connect() as conn:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATE_BUSY_MS}")
                try:
                    upgrade(self.engine)
                finally:
                    self._begin = "BEGIN"
                    with self.engine.connect() as conn:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
                return
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(7240011)"))
                try:
                    upgrade(self.engine)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(7240011)"))
                    conn.commit()

    def ping(self) -> bool:
        """Whether the database answers a trivial query right now."""
        try:
            with self.read() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "degraded", reported by /health
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reader is not self.engine:
            self._reader.dispose()


_CONNECTION = "connection"  # session.info key: a write session's connection (one transaction per session)


def connection(session: Session) -> Connection:
    """The session's connection: a write session's as kept at its BEGIN, else the session's own."""
    found = session.info.get(_CONNECTION)
    return found if found is not None else session.connection()


class _ReadSession(Session):
    """PostgreSQL's read session, on an autocommit connection: a flushed change would be kept at once, so
    none may be flushed (and nothing is flushed on its own: no autoflush)."""


@event.listens_for(_ReadSession, "before_flush")
def _read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a change in a read-only session (Database.read): write with Database.write")


def _pg_engine(
    url: str,
    pool_size: int,
    connect_timeout_s: int,
    statement_timeout_s: int,
    autocommit: bool = False,
    prepare: bool = True,
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(1, pool_size // 2),
        pool_timeout=POOL_WAIT_S,  # a greenlet waiting for a free connection (then 503, see app.py)
        connect_args={"connect_timeout": connect_timeout_s},
        # autocommit: nothing to roll back on return (psycopg2 would not send it; SQLAlchemy's reset is skipped)
        pool_reset_on_return=None if autocommit else "rollback",
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # SET, not the `options` connect argument: URLs already use `options` (search_path).
        with dbapi_conn.cursor() as cur:
            cur.execute("SET statement_timeout = %s", (statement_timeout_s * 1000,))
        dbapi_conn.commit()
        dbapi_conn.autocommit = True  # the writers too: their BEGIN is sent by _begin_with_first_statement

    if not autocommit:
        _begin_with_first_statement(engine)
    raw.prepare_on(engine.dialect, prepare)  # this engine's own dialect: Raw statements planned once per connection

    # A connection that sat idle may have been closed by the server or a restart: ping it before use,
    # then roll the ping's transaction back (psycopg2 opened one), so the caller starts clean. A connection
    # just used answers without the extra round trip (pool_pre_ping would ping on every checkout).
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_S:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as e:  # the pool then replaces the connection and tries again
            raise DisconnectionError(str(e)) from e

    return engine


def _begin_with_first_statement(engine: Engine) -> None:
    """PostgreSQL writers: a transaction's BEGIN goes in the same message as its first statement.

    psycopg2 opens a transaction with a BEGIN of its own, a round trip before the first statement (a fifth of
    a counter action's). Its connections are in autocommit here instead, and the dialect (this engine's
    own instance) sends "BEGIN;" in front of a statement run while no transaction is open: the same
    transactions, one round trip fewer. COMMIT and ROLLBACK are then sent by the dialect, and only while a
    transaction is open (libpq's transaction status, as the server last reported it), so the pool's reset
    on return costs nothing after a commit and still ends a transaction an error left open. Two things a
    writer's connection therefore refuses: another isolation level (AUTOCOMMIT included: VACUUM or CREATE
    INDEX CONCURRENTLY need a connection of their own) and a named cursor (`stream_results`, `yield_per`:
    psycopg2 refuses those outside its own transactions).
    """
    from psycopg2.extensions import TRANSACTION_STATUS_IDLE

    dialect: Any = engine.dialect
    execute, execute_bare, execute_many = dialect.do_execute, dialect.do_execute_no_params, dialect.do_executemany

    def idle(dbapi_conn: Any) -> bool:
        return bool(dbapi_conn.info.transaction_status == TRANSACTION_STATUS_IDLE)

    def opening(dbapi_conn: Any) -> bool:
        """Whether a statement on this connection opens the transaction (sent with "BEGIN;")."""
        if dbapi_conn in _COMMITTED:  # its last statement committed it: the caller's commit() alone may follow
            raise RuntimeError("a statement after the one that committed its transaction (db.commit_with)")
        return idle(dbapi_conn)

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        execute(cursor, "BEGIN;" + statement if opening(cursor.connection) else statement, parameters, context)

    def do_execute_no_params(cursor: Any, statement: str, context: Any = None) -> None:
        execute_bare(cursor, "BEGIN;" + statement if opening(cursor.connection) else statement, context)

    def do_executemany(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if opening(cursor.connection):  # several statements (or pages of VALUES): BEGIN on its own first
            cursor.execute("BEGIN")
        execute_many(cursor, statement, parameters, context)

    def ending(word: str) -> Any:
        def end(pooled: Any) -> None:
            dbapi_conn = pooled.dbapi_connection  # the pool's proxy: its own `info` is SQLAlchemy's dict
            _COMMITTED.discard(dbapi_conn)
            if not idle(dbapi_conn):
                with dbapi_conn.cursor() as cur:
                    cur.execute(word)

        return end

    def set_isolation_level(_dbapi_conn: Any, level: str) -> None:
        # AUTOCOMMIT would be silently undone (a BEGIN in front of every statement) and any other level left
        # psycopg2 opening transactions of its own: what needs either runs on a connection of its own.
        raise NotImplementedError(f"the writers' connections keep their transactions ({level} refused)")

    dialect.do_execute, dialect.do_execute_no_params = do_execute, do_execute_no_params
    dialect.do_executemany = do_executemany
    dialect.do_commit, dialect.do_rollback = ending("COMMIT"), ending("ROLLBACK")
    dialect.set_isolation_level = set_isolation_level


_COLUMN_KEYS: dict[Any, frozenset[str]] = {}  # mapper → its column attributes' keys
_UPDATES: dict[tuple[Any, tuple[str, ...], str], Any] = {}  # (table, changed columns) → its UPDATE, built once
_COMBINED: dict[tuple[Any, ...], Any] = {}  # PostgreSQL: the shape of a set of writes → its one statement
PENDING = "pending_inserts"  # session.info key: rows to insert at write_changes (see `defer_inserts`)


def defer_inserts(session: Session) -> None:
    """From now on `insert_row` keeps this session's rows for `write_changes` (PostgreSQL then sends them
    and the changed rows' UPDATEs as one statement)."""
    session.info[PENDING] = []


def insert_row(session: Session, table: Any, values: dict[str, Any]) -> int | None:
    """Insert one row now, or at `write_changes` when the session defers its inserts. The new row's id
    (SQLite's rowid, known without RETURNING) when inserted now on SQLite; else None."""
    pending = session.info.get(PENDING)
    if pending is None:
        return _insert(table, values).run(connection(session), values)
    pending.append((table, values))
    return None


def write_changes(session: Session, *, last: bool = False) -> None:
    """Write each changed row of this session as one prepared UPDATE of the columns that changed, and the
    rows it deferred (`defer_inserts`).

    What the unit of work's flush does for plain column changes, without its general machinery (which
    costs more than the statements themselves on the counter actions' hot path). Rows added or deleted,
    and anything but column attributes, are left to the session's own flush at commit. On PostgreSQL the
    UPDATEs and at most one deferred row go as one statement (the others as CTEs): one round trip.

    `last`: the caller's transaction ends here, committed (nothing else runs in it). On PostgreSQL the
    last statement then carries the COMMIT (`commit_with`), when nothing is left for the session's flush.
    """
    updates: list[tuple[Any, tuple[str, ...], dict[str, Any], Any, dict[str, Any]]] = []
    left = False  # rows the session's own flush will write at commit: the COMMIT cannot go first
    for obj in list(session.dirty):
        state = inspect(obj)
        if state.deleted or state.pending:
            left = True
            continue
        mapper = state.mapper
        columns = _COLUMN_KEYS.get(mapper)
        if columns is None:
            columns = _COLUMN_KEYS[mapper] = frozenset(prop.key for prop in mapper.column_attrs)
        # The attributes set since the row was loaded (their old values are kept in committed_state): only
        # those are looked at, not every column's history; one set back to its old value is no change.
        changes: dict[str, Any] = {
            key: state.dict[key]
            for key, old in state.committed_state.items()
            if key in columns and key in state.dict and (old is NO_VALUE or old != state.dict[key])
        }
        if not changes:
            _clean(session, state)
            continue
        pks = {c.key: state.dict[mapper.get_property_by_column(c).key] for c in mapper.primary_key}
        updates.append((mapper.local_table, tuple(sorted(changes)), changes, obj, pks))
    updates.sort(key=lambda u: (u[0].name, u[1]))  # session.dirty is a set: one order, one cached statement
    inserts = session.info.pop(PENDING, None) or []
    conn = connection(session)
    pg = conn.dialect.name == "postgresql"
    statements: list[tuple[Raw, dict[str, Any]]]
    if pg and len(updates) + len(inserts) > 1 and len(inserts) <= 1:
        statements = [_combined(updates, inserts)]
    else:
        statements = [
            (_update(table, keys, ""), _update_params(changes, pks, "")) for table, keys, changes, _o, pks in updates
        ]
        statements += [(_insert(table, values), values) for table, values in inserts]
    for _table, _keys, changes, obj, _pks in updates:
        for key, value in changes.items():
            set_committed_value(obj, key, value)  # written: nothing left for the session's flush
        _clean(session, inspect(obj))
    commit = last and pg and not left and nothing_to_flush(session)
    for i, (stmt, params) in enumerate(statements):
        if commit and i == len(statements) - 1:
            commit_with(stmt, conn, params)
        else:
            stmt.run(conn, params)


def nothing_to_flush(session: Session) -> bool:
    """Whether the session's commit would write nothing (what SQLAlchemy's Session checks before it flushes)."""
    return not (session.new or session.deleted or session.identity_map.check_modified())


_COMMITTED: weakref.WeakSet[Any] = weakref.WeakSet()  # PostgreSQL writers whose transaction a statement committed


def commit_with(stmt: Raw, conn: Connection, params: dict[str, Any]) -> None:
    """PostgreSQL: run a transaction's last statement with its COMMIT, in one message (one round trip less:
    the COMMIT the BEGIN of `_begin_with_first_statement` asks for). The caller's commit() then sends nothing,
    and any other statement before it is refused (RuntimeError): it would run in a transaction of its own.
    An error in the statement skips the COMMIT; the caller's rollback ends the transaction as it would."""
    stmt.run(conn, params, then=";COMMIT")
    _COMMITTED.add(conn.connection.dbapi_connection)


def _clean(session: Session, state: Any) -> None:
    """Take a row whose every column change is written out of the session's modified set, so that the
    commit's flush finds the session clean instead of walking the unit of work to find nothing (a
    measurable share of a counter action). The models have column attributes only: nothing else to flush."""
    state._commit_all(state.dict, session.identity_map)  # noqa: SLF001 - no public way to say "written"


def _update(table: Any, keys: tuple[str, ...], prefix: str) -> Any:
    """UPDATE table SET <keys> WHERE <primary key>, its parameters named with `prefix` (built once)."""
    stmt = _UPDATES.get((table, keys, prefix))
    if stmt is None:
        stmt = _UPDATES[(table, keys, prefix)] = Raw(_update_statement(table, keys, prefix))
    return stmt


def _update_statement(table: Any, keys: tuple[str, ...], prefix: str) -> Any:
    where = [c == bindparam(f"{prefix}pk_{c.key}") for c in table.primary_key]
    columns: dict[Any, Any] = {table.c[k]: bindparam(f"{prefix}v_{k}") for k in keys}
    return update(table).where(*where).values(columns)


_INSERTS: dict[tuple[Any, tuple[str, ...]], Raw] = {}


def _insert(table: Any, values: dict[str, Any]) -> Raw:
    """INSERT of these columns (no RETURNING of an id nobody reads), built once per set of columns."""
    keys = tuple(sorted(values))
    stmt = _INSERTS.get((table, keys))
    if stmt is None:
        columns = {table.c[k]: bindparam(k, type_=table.c[k].type) for k in keys}
        stmt = _INSERTS[(table, keys)] = Raw(table.insert().inline().values(columns))  # inline: no RETURNING id
    return stmt


def _update_params(changes: dict[str, Any], pks: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {**{f"{prefix}v_{k}": v for k, v in changes.items()}, **{f"{prefix}pk_{k}": v for k, v in pks.items()}}


def _combined(updates: list[Any], inserts: list[tuple[Any, dict[str, Any]]]) -> tuple[Any, dict[str, Any]]:
    """PostgreSQL: these UPDATEs and INSERT as one statement, the first UPDATE (or the INSERT) the main one,
    the others data-modifying CTEs (they touch different rows; PostgreSQL runs every one)."""
    shape = (
        tuple((u[0], u[1]) for u in updates),
        tuple((table, tuple(sorted(values))) for table, values in inserts),
    )
    stmt = _COMBINED.get(shape)
    if stmt is None:
        parts = [_update_statement(table, keys, f"u{i}_") for i, (table, keys) in enumerate(shape[0])]
        parts += [
            table.insert().values({table.c[k]: bindparam(f"i{i}_{k}", type_=table.c[k].type) for k in keys})
            for i, (table, keys) in enumerate(shape[1])
        ]
        stmt = Raw(parts[0].add_cte(*(part.cte(f"w{i}") for i, part in enumerate(parts[1:], 1))))
        _COMBINED[shape] = stmt
    params: dict[str, Any] = {}
    for i, (_table, _keys, changes, _obj, pks) in enumerate(updates):
        params |= _update_params(changes, pks, f"u{i}_")
    for i, (_table, values) in enumerate(inserts):
        params |= {f"i{i}_{k}": v for k, v in values.items()}
    return stmt, params


def make_green(mode: str = "eventlet") -> None:
    """Make psycopg2 wait on PostgreSQL through the green hub of `mode` (call after monkey patching).

    eventlet: `eventlet.monkey_patch()` already installs psycopg2's wait callback
    (eventlet.support.psycopg2_patcher, the same mechanism as psycogreen); this makes sure of it.
    gevent: psycogreen's wait callback (gevent's monkey patching does not touch psycopg2).
    A server whose queries block the hub serves one request at a time however large its pool.
    """
    import psycopg2.extensions

    if psycopg2.extensions.get_wait_callback() is not None:
        return
    if mode == "gevent":
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
    else:
        from eventlet.support import psycopg2_patcher

        psycopg2_patcher.make_psycopg_green()
