"""The one declarative Base, engine and session setup shared by every domain package."""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, ClassVar, cast

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


MONEY = Numeric(14, 2, asdecimal=True)
KWH = Numeric(14, 2, asdecimal=True)

Money = Annotated[Decimal, mapped_column(MONEY)]
Kwh = Annotated[Decimal, mapped_column(KWH)]
UtcTimestamp = Annotated[dt.datetime, mapped_column(UtcDateTime())]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime(), Decimal: MONEY}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # SQLite upgrades a read transaction to a write lock lazily and then fails with "database is
    # locked" instead of waiting; taking the write lock at BEGIN makes writers queue on busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def make_engine(url: str, *, reader: bool = False, **kwargs: Any) -> Engine:
    """The engine for ``url``. ``reader``: one for read-only work, without transactions (each statement reads
    its own snapshot, as under READ COMMITTED) and refused any write by the database itself: no BEGIN and no
    ROLLBACK round trip per request, and on SQLite no write lock taken at BEGIN."""
    if url.startswith("sqlite") and reader:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            isolation_level="AUTOCOMMIT",
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_query_only)
        return engine
    if reader:
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args["options"] = f"{connect_args.get('options', '')} -c default_transaction_read_only=on".strip()
        kwargs.update(isolation_level="AUTOCOMMIT", connect_args=connect_args)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    ping_after = kwargs.pop("ping_after_idle_seconds", PING_AFTER_IDLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", functools.partial(_ping_if_idle, ping_after))
    return engine


# A pooled connection is pinged when it is checked out after lying idle this long (a database restart or a
# dropped network leaves dead connections in the pool; the ping replaces them). One in use a moment ago is not:
# SQLAlchemy's pool_pre_ping pinged on every checkout, a round trip more for every short transaction.
PING_AFTER_IDLE_SECONDS = 5.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(idle_seconds: float, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("checked_in_at")
    if since is None or time.monotonic() - since < idle_seconds:
        return  # new (just connected) or in use moments ago
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()  # the ping must not leave a transaction open
    except Exception as exc:
        # the pool discards this connection and checks out (or opens) another
        raise DisconnectionError(f"pooled connection idle for {time.monotonic() - since:.0f} s is dead") from exc


class Database:
    """Holds the engine and a thread-local session registry; ``init`` binds both to a URL."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self._registry = scoped_session(self._factory)
        # The registry proxies every Session method to this thread's session; typed as one so that the
        # domain functions taking a Session accept it.
        self.session: Session = cast(Session, self._registry)
        self._inherited: list[Any] = []  # what a forked child inherited and must never close (init_after_fork)
        self._reader: Engine | None = None  # made on first use (read_only_session)
        self._read_factory = sessionmaker(expire_on_commit=False, autoflush=False)

    @property
    def dialect_name(self) -> str | None:
        """``postgresql`` or ``sqlite``: the database this app runs on (None before ``init``)."""
        return None if self.engine is None else self.engine.dialect.name

    def remove_session(self) -> None:
        """Close this thread's session and forget it (end of a request, a task, a test)."""
        self._registry.remove()

    def init(self, url: str, **engine_kwargs: Any) -> Engine:
        if self.engine is not None:
            self.remove_session()
            self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()
            self._reader = None
        self.engine = make_engine(url, **engine_kwargs)
        self._factory.configure(bind=self.engine)
        return self.engine

    def init_after_fork(self, url: str, **engine_kwargs: Any) -> Engine:
        """``init`` in a forked child: the sessions and pooled connections it inherited are forgotten, not closed.

        They are the parent's: closing them here would roll back (or hang on) transactions on sockets the parent
        still uses.
        """
        # Forgetting is not enough: a forgotten session's connection, once garbage-collected, is returned to its
        # pool with a ROLLBACK sent over the parent's socket. The child keeps them referenced until it exits.
        registry = self._registry.registry
        if registry.has():
            self._inherited.append(registry())
        registry.clear()
        if self.engine is not None:
            self._inherited.append(self.engine)
            self.engine.dispose(close=False)
            self.engine = None
        if self._reader is not None:
            self._inherited.append(self._reader)
            self._reader.dispose(close=False)
            self._reader = None
        return self.init(url, **engine_kwargs)

    def read_only_session(self) -> bool:
        """Make this thread's session, for the rest of the request, one on the reader engine (see ``make_engine``):
        no transaction, and any write refused by the database. Only when no session was opened yet (a test that
        shares its session with the request keeps it); True if it did. End it with ``remove_session``."""
        registry = self._registry.registry
        if registry.has() or self.engine is None:
            return False
        if self._reader is None:
            self._reader = make_engine(self.engine.url.render_as_string(hide_password=False), reader=True)
        registry.set(self._read_factory(bind=self._reader))
        return True

    def new_session(self) -> Session:
        """A session outside the request-scoped registry (threads, benchmarks, CLI workers)."""
        return self._factory()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session committed on success and rolled back on error."""
        session = self.new_session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


db = Database()


class DriverStatement:
    """A read statement run straight on the DBAPI cursor of the session's connection, compiled once per dialect:
    for the hottest read path, where SQLAlchemy's work per execution (cache key, execution context, result rows)
    costs more than the database does. Only a statement whose parameters and result columns need no conversion
    by SQLAlchemy qualifies (checked on its first run on a dialect: no expanding parameters, no type that
    processes what the driver sends or returns); its rows are the driver's tuples. The engine's
    ``before_cursor_execute`` listeners still see the statement."""

    made: ClassVar[weakref.WeakSet[DriverStatement]] = weakref.WeakSet()  # for the test of psycopg's limits

    def __init__(self, statement: Any):
        self._statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}
        DriverStatement.made.add(self)

    def rows(self, session: Session, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The statement's rows, read in the session's transaction if it has one (it sees what the session
        wrote), else on a connection of the session's engine taken for this statement alone."""
        own = session.registry() if isinstance(session, scoped_session) else session
        bind = own.get_bind()
        if own.in_transaction() or not isinstance(bind, Engine):
            return self._rows_on(own.connection(), params)
        if bind.dispatch.before_cursor_execute or bind.dialect.name not in self._compiled:
            with bind.connect() as connection:
                return self._rows_on(connection, params)
        # No listener to tell: the pooled driver connection alone, without a SQLAlchemy Connection around it
        # (a quarter of this read's time on the account summary).
        pooled = bind.raw_connection()
        try:
            return self._rows_on_driver(pooled, bind.dialect, params, None)
        except bind.dialect.loaded_dbapi.Error as exc:
            pooled.invalidate(exc)  # a broken connection must not go back to the pool; a sound one costs a reconnect
            raise
        finally:
            pooled.close()

    def _rows_on(self, connection: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        listened = connection if connection._has_events or connection.engine._has_events else None
        return self._rows_on_driver(connection.connection, connection.dialect, params, listened)

    def _rows_on_driver(
        self, driver_connection: Any, dialect: Any, params: dict[str, Any], listened: Connection | None
    ) -> list[tuple[Any, ...]]:
        compiled = None
        known = self._compiled.get(dialect.name)
        if known is None:
            compiled = self._compile(dialect)
            known = (str(compiled), dict(compiled.params))
        sql, defaults = known
        values = {**defaults, **params}
        cursor = driver_connection.cursor()
        try:
            if listened is not None:
                listened.dispatch.before_cursor_execute(listened, cursor, sql, values, None, False)
            cursor.execute(sql, values)
            if compiled is not None:
                self._check(compiled, dialect, cursor.description)
            return cast(list[tuple[Any, ...]], cursor.fetchall())
        finally:
            cursor.close()

    def _compile(self, dialect: Any) -> Any:
        compiled = self._statement.compile(dialect=dialect)
        if compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
            raise TypeError("a driver statement takes named, non-expanding parameters")
        for name, bind in compiled.binds.items():
            if bind.type._cached_bind_processor(dialect) is not None:
                raise TypeError(f"parameter {name} needs SQLAlchemy's conversion")
        return compiled

    def _check(self, compiled: Any, dialect: Any, description: Any) -> None:
        for column, described in zip(compiled._result_columns, description, strict=True):
            if column[3]._cached_result_processor(dialect, described[1]) is not None:
                raise TypeError(f"column {column[0]} needs SQLAlchemy's conversion")
        self._compiled[dialect.name] = (str(compiled), dict(compiled.params))


# --- bulk writes for batch jobs -----------------------------------------------------------------


class JsonText(str):
    """A JSON document already serialised: ``copy_rows`` stores it as is instead of serialising it again."""


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids`` for long id lists: one array parameter on PostgreSQL (``= ANY``) instead of thousands of
    placeholders the driver would parse on every execution; a plain IN elsewhere.

    The array is bound as an array (the driver dumps it element by element). Sending its text form with a cast
    is cheaper in Python but hides the array's size from the planner: the bill run's previous-reading query went
    from 11 ms to 365 ms a chunk of 2,000 with it."""
    if is_postgresql(session):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger())))
    return column.in_(ids)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int] | None:
    """``count`` fresh primary keys from the model table's sequence (PostgreSQL), or None where there is none.

    Lets a batch writer know its ids before ``copy_rows`` instead of reading them back from an INSERT.
    """
    if count <= 0 or not is_postgresql(session):
        return [] if count <= 0 else None
    rows = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
        {"table": _table(model).name, "count": count},
    )
    return [int(r[0]) for r in rows]


def refresh_statistics(session: Session, *models: type[Base]) -> None:
    """After a bulk load, give PostgreSQL's planner the tables' new sizes (``ANALYZE``) at once instead of when
    autovacuum next comes by (never, where it is off). Without them a repeated statement's generic plan, made while
    the table looked empty, can scan a million rows per lookup. A no-op elsewhere."""
    if is_postgresql(session):
        names = ", ".join(f'"{_table(model).name}"' for model in models)
        session.execute(text(f"ANALYZE {names}"))


def copy_rows(session: Session, model: type[Base], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into the model's table in the session's transaction.

    PostgreSQL: one ``COPY ... FROM STDIN`` (no per-row statement). Elsewhere: an executemany INSERT. Column
    defaults computed in Python are not applied on the COPY path, so callers give every NOT NULL column; JSON
    columns take Python values or ``JsonText``. Datetimes must be timezone-aware.
    """
    if not rows:
        return
    table = _table(model)
    json_columns = {i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)}
    if not is_postgresql(session):
        if json_columns:
            rows = [
                [json.loads(v) if i in json_columns and isinstance(v, JsonText) else v for i, v in enumerate(row)]
                for row in rows
            ]
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    streamed: Iterable[Sequence[Any]] = rows
    if json_columns:  # row by row as they are sent: the batch is not held twice
        streamed = ([_json_text(v) if i in json_columns else v for i, v in enumerate(row)] for row in rows)
    copy_stream(session.connection(), table.name, columns, streamed)


def copy_stream(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` on a PostgreSQL connection, in its transaction. ``rows`` may be a
    generator: the rows already sent are stored by the server while the next ones are made (two cores busy)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{name}"' for name in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _json_text(value: Any) -> str:
    # like SQLAlchemy's JSON type (none_as_null false): None is stored as the JSON null, not SQL NULL
    return value if isinstance(value, JsonText) else json.dumps(value)


# --- work that must wait for the commit (task queueing, index writes) -------------------------

_AFTER_COMMIT_KEY = "griddesk_after_commit"


def on_commit(session: Session, callback: Callable[[], Any], *, once: bool = False) -> None:
    """Run ``callback`` once the session's current transaction commits; drop it on rollback.

    ``once``: not if the same callback waits for this commit already.
    """
    callbacks = session.info.setdefault(_AFTER_COMMIT_KEY, [])
    if not (once and callback in callbacks):
        callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the real commit is still to come
        return
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
