"""Core statements run on the DB-API cursor: the counter actions' hot path without SQLAlchemy's execution.

A statement is still written once, in SQLAlchemy's Core (the models' tables, `server.store.models`); `Raw`
compiles it once per dialect (and per length of each expanding parameter), keeps the SQL text, the order of
its parameters and their type processors, and then sends it straight to the driver's cursor. SQLAlchemy's
own execution of a cached statement (its execution context, cursor result and row metadata) cost several
times what SQLite spends running the statement (bench/README.md, issue 25's fourth pass).

What it keeps of SQLAlchemy's behaviour:
- the same SQL and the same bound values: bind and result processors are the dialect's own (UTCDateTime
  written as naive UTC and read back aware, booleans, JSON), taken from the compiled statement;
- the same errors, through Core's own handler: a driver error is raised as SQLAlchemy's wrapped exception
  (IntegrityError, OperationalError, ...), and a lost connection is invalidated with the pool's older ones;
- the engine's `before_cursor_execute` / `after_cursor_execute` listeners see each statement (the
  statement-count tests and benches count these too; their `context` is None).

`tests/integration/test_raw.py` runs each hot statement both ways on both databases and compares the rows.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import bindparam, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql import ClauseElement

Params = Mapping[str, Any]


@dataclass(frozen=True)
class _Plan:
    """One compiled form: its SQL, where each parameter comes from, and the processors to apply."""

    sql: str
    positional: tuple[str, ...] | None  # qmark drivers (sqlite3): the names in order; None: pyformat (psycopg2)
    defaults: dict[str, Any]  # values bound in the statement itself (literals such as a status)
    expansion: dict[str, list[str]]  # an expanding parameter → the names of its items in this form
    order: tuple[tuple[str, Any], ...]  # the driver's parameters (in order for qmark), each with its processor
    results: tuple[tuple[int, Any], ...]  # the result columns that have a processor: (place, processor)
    prepared: tuple[str, str, str] | None = None  # PostgreSQL: (name, its PREPARE, its EXECUTE with %s args)


class Raw:
    """A Core statement, compiled once per dialect, run on the DB-API cursor of a SQLAlchemy connection."""

    __slots__ = ("_compiled", "_expanding", "_plans", "stmt")

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._compiled: dict[str, Any] = {}
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._expanding: tuple[str, ...] | None = None

    def _plan(self, dialect: Dialect, params: Params) -> _Plan:
        compiled: Any = self._compiled.get(dialect.name)  # an SQLCompiler
        if compiled is None:
            compiled = self._compiled[dialect.name] = self.stmt.compile(dialect=dialect)
            # the lists the caller passes (a literal IN list is the statement's own: one form for it)
            self._expanding = tuple(sorted(b.key for b in compiled.bind_names if b.expanding and b.value is None))
        prepare = getattr(dialect, _PREPARE, False)
        key = (dialect.name, prepare, *(len(params[k]) for k in self._expanding or ()))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _build(compiled, dialect, params, prepare)
        return plan

    @staticmethod
    def _bind(plan: _Plan, params: Params) -> Any:
        values = {**plan.defaults, **params}
        for key, names in plan.expansion.items():
            if key in params:
                values.update(zip(names, params[key], strict=True))
        # None too, as Core does (a JSON column may write None as JSON null)
        if plan.positional is not None or plan.prepared is not None:
            return [values[n] if p is None else p(values[n]) for n, p in plan.order]
        return {n: values[n] if p is None else p(values[n]) for n, p in plan.order}

    def execute(self, conn: Connection, params: Params, then: str = "") -> Any:
        """Run it; the driver's cursor, its rows not yet read (see `rows`, `first`). `then`: SQL sent after it
        in the same message (db.py: PostgreSQL's COMMIT after a transaction's last statement)."""
        if not conn.in_transaction():
            conn.begin()  # as Core's autobegin: a caller's commit() then commits it (db.py sends PostgreSQL's BEGIN)
        plan = self._plan(conn.dialect, params)
        sql, args, cursor = plan.sql + then, None, None
        try:
            args = self._bind(plan, params)  # a value the type refuses (a naive datetime) is a StatementError
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            if plan.prepared is not None:
                name, prepare, run = plan.prepared
                done = _PREPARED.get(dbapi)
                if done is None:
                    done = _PREPARED[dbapi] = set()
                if name not in done:
                    sql, first = prepare, dbapi.cursor()
                    try:
                        first.execute(prepare)  # once per connection: kept for its life, whatever commits or not
                    finally:
                        first.close()
                    done.add(name)
                sql = run + then
            cursor = dbapi.cursor()
            if conn.dispatch.before_cursor_execute:
                for fn in conn.dispatch.before_cursor_execute:
                    fn(conn, cursor, sql, args, None, False)
            # the dialect's execute (db.py: PostgreSQL's BEGIN goes with it); a prepared statement's EXECUTE with
            # its plain values already in its text, as psycopg2 would write them (the events saw it as before)
            if plan.prepared is not None:
                sent, rest = _inline(plan.prepared[0], args)
                conn.dialect.do_execute(cursor, sent + then, rest, None)
            else:
                conn.dialect.do_execute(cursor, sql, args, None)
        except BaseException as e:
            if plan.prepared is not None and getattr(e, "pgcode", None) == _NO_SUCH_STATEMENT:
                _PREPARED.pop(conn.connection.dbapi_connection, None)  # gone (DISCARD, a pooler): prepared anew next
            # the statement's own text in the error (its name alone says nothing), its PREPARE's if that failed
            _raise(conn, cursor, plan.sql if plan.prepared is not None and sql != plan.prepared[1] else sql, args, e)
        if conn.dispatch.after_cursor_execute:
            for fn in conn.dispatch.after_cursor_execute:
                fn(conn, cursor, sql, args, None, False)
        return cursor, plan

    def rows(self, conn: Connection, params: Params) -> list[tuple[Any, ...]]:
        """Every row, each value as SQLAlchemy would hand it back."""
        cursor, plan = self.execute(conn, params)
        try:
            fetched = cursor.fetchall()
        except BaseException as e:
            _raise(conn, cursor, plan.sql, None, e)
        cursor.close()
        if not plan.results:
            return [tuple(r) for r in fetched]
        out = []
        for r in fetched:
            values = list(r)
            for i, process in plan.results:  # only the columns that need it (a wide row has few)
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(tuple(values))
        return out

    def first(self, conn: Connection, params: Params) -> tuple[Any, ...] | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Params, then: str = "") -> int | None:
        """A statement without rows to read. An INSERT on SQLite: its new rowid (the id without RETURNING);
        on PostgreSQL None. (Other statements: whatever the driver says, not to be read.)"""
        cursor, _plan = self.execute(conn, params, then)
        rowid = cursor.lastrowid if conn.dialect.name == "sqlite" else None
        cursor.close()
        return int(rowid) if rowid is not None else None


def _build(compiled: Any, dialect: Dialect, params: Params, prepare: bool = False) -> _Plan:
    """The form of `compiled` for these parameters' list lengths (each expanding list rendered item by item)."""
    if compiled.insert_prefetch or compiled.update_prefetch:  # defaults Core's execution would work out
        raise TypeError(f"a column default computed in Python: give its value ({compiled.string[:60]})")
    if compiled.literal_execute_params or compiled.escaped_bind_names:  # per-execution SQL, renamed parameters
        raise TypeError(f"a statement Raw cannot run as compiled once ({compiled.string[:60]})")
    state = compiled.construct_expanded_state(dict(params))
    expansion = dict(state.parameter_expansion)
    supplied = {*params, *(n for key, names in expansion.items() if key in params for n in names)}
    defaults = {k: v for k, v in state.parameters.items() if k not in supplied}
    found = (
        entry.type._cached_result_processor(dialect, None)  # noqa: SLF001 - what Core's cursor result uses
        for entry in compiled._result_columns  # noqa: SLF001
    )
    results = tuple((i, p) for i, p in enumerate(found) if p is not None)
    positional = tuple(state.positiontup) if compiled.positional else None
    processors = {**compiled._bind_processors, **state.processors}  # noqa: SLF001 - as Core's execution applies
    names = positional if positional is not None else tuple(state.parameters)
    order = tuple((n, processors.get(n)) for n in names)
    prepared = _prepared(state.statement, names) if prepare and positional is None else None
    return _Plan(state.statement, positional, defaults, expansion, order, results, prepared)


_PREPARE = "_hallq_prepare"  # on a dialect instance: its connections run Raw statements prepared
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()  # DB-API connection → names
_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name: EXECUTE of a name the session does not have


def prepare_on(dialect: Dialect, on: bool) -> None:
    """PostgreSQL (this engine's own dialect instance): run Raw statements as prepared statements, each planned
    once per connection instead of at every execution (planning was up to two thirds of a hot statement's time
    in the database: 0.2 to 0.4 ms for the candidates, the claim or the issue's INSERT). A session's prepared
    statements outlive its transactions, rolled back or not, and end with the connection; a pooler that hands
    the connection to other sessions (PgBouncer's transaction pooling) needs this off."""
    setattr(dialect, _PREPARE, on)


def _prepared(sql: str, names: Sequence[str]) -> tuple[str, str, str]:
    """PostgreSQL: the statement as a prepared one: its name (from its text: the same statement, the same name
    in every process), its PREPARE (the parameters numbered), and the EXECUTE that runs it with the parameters
    in `names`' order (sent as literals by psycopg2, typed by the PREPARE)."""
    place = {n: i for i, n in enumerate(names, 1)}
    body = re.sub(r"%\((\w+)\)s", lambda m: f"${place[m.group(1)]}", sql).replace("%%", "%")
    name = "hq_" + hashlib.sha1(body.encode()).hexdigest()[:24]  # noqa: S324 - a name, not a secret
    run = f"EXECUTE {name}({', '.join(['%s'] * len(names))})" if names else f"EXECUTE {name}"
    _STATEMENTS[name] = sql
    return name, f"PREPARE {name} AS {body}", run


_STATEMENTS: dict[str, str] = {}  # a prepared statement's name → its statement (pyformat, as Core renders it)


def _inline(name: str, args: Sequence[Any]) -> tuple[str, list[Any] | None]:
    """An EXECUTE's None, bool and int values written into its text as psycopg2 writes them (NULL, true/false,
    the digits, a space before a minus sign); the other values left to psycopg2, with what remains of `args`.

    psycopg2 adapts each value in C, and for these its adapters have no `prepare` method, which it looks up on
    every value all the same: a failed attribute lookup with a formatted AttributeError, about 0.6 µs a value
    (an issue sends about 50 values, most of them these). The text sent is byte for byte psycopg2's own
    (tests/integration/test_raw.py compares them)."""
    parts: list[str] = []
    rest: list[Any] = []
    for value in args:
        kind = type(value)
        if value is None:
            parts.append("NULL")
        elif kind is bool:
            parts.append("true" if value else "false")
        elif kind is int:
            parts.append(str(value) if value >= 0 else f" {value}")
        else:
            parts.append("%s")
            rest.append(value)
    return (f"EXECUTE {name}({', '.join(parts)})" if parts else f"EXECUTE {name}"), (rest or None)


def statement_of(sql: str) -> str:
    """The statement a prepared statement's EXECUTE runs (what cursor events and logs see is the EXECUTE);
    any other SQL as it is."""
    if sql.startswith("EXECUTE hq_"):
        return _STATEMENTS.get(sql[8:].split("(", 1)[0].split(";", 1)[0], sql)
    return sql


def _raise(conn: Connection, cursor: Any, sql: str, args: Any, e: BaseException) -> NoReturn:
    """The error as Core's execution raises it, by Core's own handler: a driver error wrapped (IntegrityError,
    OperationalError, ...), the engine's `handle_error` listeners called, and on a lost connection (or an exit
    such as a green timeout mid-statement) this connection invalidated and the pool's older ones with it: a
    severed database leaves no broken connection in the pool to hand out once it is back."""
    conn._handle_dbapi_exception(e, sql, args, cursor, None)  # noqa: SLF001 - raises; no public equivalent


def every_column(stmt: Any) -> Any:
    """An INSERT naming every column of its table, each bound by the column's name: what `Raw` needs of an
    INSERT (every value given by the caller, none left for Core's execution to default)."""
    return stmt.values({c: bindparam(c.key, type_=c.type) for c in stmt.table.c})


_KEYS: dict[type, tuple[tuple[str, ...], Any, int]] = {}


def _keys(cls: type) -> tuple[tuple[str, ...], Any, int]:
    """A mapped class's attribute keys in its table's column order, its mapper, and its key column's place."""
    found = _KEYS.get(cls)
    if found is None:
        configure_mappers()  # the instruments `attach` relies on (the ORM does it on its first query)
        mapper: Any = inspect(cls)
        columns = list(mapper.local_table.columns)
        keys = tuple(mapper.get_property_by_column(c).key for c in columns)
        (pk,) = mapper.primary_key  # the models' tables have one key column each
        found = _KEYS[cls] = (keys, mapper, columns.index(pk))
    return found


def width(cls: type) -> int:
    """How many values `attach` takes for `cls`: its table's columns."""
    return len(_keys(cls)[0])


def attach(session: Session, cls: type, values: Sequence[Any]) -> Any:
    """The row `values` (the table's columns in order) as a persistent instance of `cls` in `session`, as
    the ORM would have loaded it: the one already in the session is brought up to date, else one is added.
    Its changes are then written as any loaded row's are (`db.write_changes`)."""
    keys, mapper, pk = _keys(cls)
    key = mapper.identity_key_from_primary_key([values[pk]])
    existing = session.identity_map.get(key)
    if existing is not None:
        for name, value in zip(keys, values, strict=True):
            set_committed_value(existing, name, value)
        return existing
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(zip(keys, values, strict=True))  # as loaded: nothing in its history
    # What the ORM's loading does with a row new to the session (orm/loading.py `_instance`): the public way,
    # make_transient_to_detached and Session.add, cost four times as much (a fifth of a counter action's
    # Python, on a 44-column ticket). test_raw.py checks the instance is persistent, found, and clean.
    state.key, state.identity_token, state.session_id = key, None, session.hash_key
    session.identity_map._add_unpresent(state, key)  # noqa: SLF001
    return obj


def transient(cls: type, **values: Any) -> Any:
    """A new instance of `cls` holding `values`, set without the ORM's attribute events (the declarative
    constructor's 19 instrumented sets were a tenth of an issue's Python): for a row the caller INSERTs
    itself (`every_column`), never added to a session. Attributes set later behave as on any instance."""
    _keys(cls)  # mappers configured
    obj: Any = inspect(cls).class_manager.new_instance()
    instance_state(obj).dict.update(values)
    return obj
