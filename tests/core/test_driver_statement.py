"""``DriverStatement``: a read run on the pooled driver connection, with or without SQLAlchemy around it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Integer, bindparam, event, func, literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.db import DriverStatement, db, make_engine

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="driver statements take named parameters: PostgreSQL's driver (SQLite's is positional)",
)


def test_without_a_listener_the_read_skips_sqlalchemys_connection_and_reads_the_same(app) -> None:
    noted: list[str] = []
    connected: list[object] = []

    def note(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        noted.append(statement)

    def connect(connection) -> None:  # type: ignore[no-untyped-def]
        connected.append(connection)

    statement = DriverStatement(select(literal(7, Integer()) * bindparam("factor", type_=Integer()), literal("x")))
    with app.app_context():
        assert db.read_only_session()
        engine = db.session.get_bind()
        event.listen(Engine, "before_cursor_execute", note)
        try:
            listened = statement.rows(db.session, {"factor": 6})
        finally:
            event.remove(Engine, "before_cursor_execute", note)
        event.listen(engine, "engine_connect", connect)
        try:
            bare = statement.rows(db.session, {"factor": 6})
        finally:
            event.remove(engine, "engine_connect", connect)
        assert [tuple(row) for row in listened] == [tuple(row) for row in bare] == [(42, "x")]
        assert len(noted) == 1 and connected == []  # a listener is told; without one, no Connection is made
        assert engine.pool.checkedout() == 0  # the driver connection went back to the pool
        db.remove_session()


def test_a_driver_error_on_the_bare_path_discards_the_connection(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"], reader=True, pool_size=1, max_overflow=0)
    statement = DriverStatement(select(func.pg_backend_pid(), literal(1, Integer()) / bindparam("d", type_=Integer())))
    session = Session(bind=engine)
    try:
        ((pid, _),) = statement.rows(session, {"d": 1})
        with pytest.raises(engine.dialect.loaded_dbapi.Error):
            statement.rows(session, {"d": 0})
        ((after, _),) = statement.rows(session, {"d": 1})
        assert after != pid  # the pool opened a new connection instead of handing back the one that failed
    finally:
        session.close()
        engine.dispose()


def test_every_driver_statement_stays_within_psycopgs_query_cache(app) -> None:
    """psycopg converts a statement's ``%(name)s`` placeholders once and caches the result only for statements of
    at most ``MAX_CACHED_STATEMENT_LENGTH`` bytes and ``MAX_CACHED_STATEMENT_PARAMS`` parameters; a longer one is
    parsed again on every execution (0.07 ms on the account summary's 4 KB statement). A column added to a
    driver statement can push it over without any other sign."""
    from psycopg import _queries
    from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg

    import webapp.api.accounts  # noqa: F401  (the account summary's statement)

    dialect = postgresql_psycopg.dialect()
    assert DriverStatement.made
    for statement in list(DriverStatement.made):
        compiled = statement._compile(dialect)
        assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, str(compiled)[:200]
        assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS, str(compiled)[:200]
