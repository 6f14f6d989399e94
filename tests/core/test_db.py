"""Pooled connections that died while idle (a database restart) are replaced at checkout, not handed out."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from core.db import make_engine

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="a server that drops connections: PostgreSQL (SQLite has no connections to lose)",
)


def _kill_the_pooled_connection(url: str, idle_seconds: float):
    engine = make_engine(url, pool_size=1, max_overflow=0, ping_after_idle_seconds=idle_seconds)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = make_engine(url, poolclass=None)
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    time.sleep(0.2)
    return engine, pid


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced(app) -> None:
    engine, dead_pid = _kill_the_pooled_connection(app.config["DATABASE_URL"], idle_seconds=0.1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead_pid
    engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(app) -> None:
    # the other side of the trade: no round trip for a busy connection, so one killed in between fails once
    engine, _dead_pid = _kill_the_pooled_connection(app.config["DATABASE_URL"], idle_seconds=3600)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the pool noticed and replaced it
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_a_forked_child_leaves_the_parents_open_transaction_alone(app) -> None:
    import gc
    import multiprocessing

    from core.db import db

    url = app.config["DATABASE_URL"]
    with app.app_context():
        before = db.session.execute(text("SELECT txid_current()")).scalar_one()  # a transaction is open

        def child() -> None:
            db.init_after_fork(url)
            gc.collect()  # what the child inherited and forgot must not reach the parent's socket when collected
            with db.transaction() as session:
                session.execute(text("SELECT 1"))

        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join(30)
        assert process.exitcode == 0
        assert db.session.execute(text("SELECT txid_current()")).scalar_one() == before  # still the same one
        db.session.rollback()
