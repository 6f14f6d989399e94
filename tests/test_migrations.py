"""Migrations create everything from an empty database, and models and migrations do not drift apart."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from webapp.models import load_all


def _fresh_url(app, workdir) -> str:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        return f"sqlite:///{workdir / 'migrations-check.db'}"
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_migrations"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _functions(conn) -> set[tuple[str, str, str]]:
    """The public schema's functions: name, arguments and a digest of the body (PostgreSQL)."""
    rows = conn.execute(
        text(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
    )
    return {tuple(row) for row in rows}


def _storage(conn) -> set[tuple[str, str, str]]:
    """Tables' storage parameters and columns whose storage differs from their type's default (PostgreSQL)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, '', array_to_string(c.reloptions, ',') FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reloptions IS NOT NULL"
            " UNION SELECT c.relname, a.attname, a.attstorage::text FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND a.attstorage <> t.typstorage"
        )
    )
    return {tuple(row) for row in rows}


def test_upgrade_from_empty_matches_models_and_downgrades_cleanly(app, workdir) -> None:
    from core.db import db

    original = app.config["DATABASE_URL"]
    url = _fresh_url(app, workdir)
    try:
        db.init(url)
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            assert db.engine is not None
            with db.engine.connect() as conn:
                diff = compare_metadata(
                    MigrationContext.configure(conn, opts={"compare_type": True}), load_all().metadata
                )
            assert diff == [], f"models and migrations differ: {diff}"
            if url.startswith("postgresql"):
                with db.engine.connect() as conn:
                    migrated = _functions(conn)
                with create_engine(original).connect() as conn:  # the test database: made by create_all
                    assert migrated and migrated == _functions(conn), (
                        "database functions of models and migrations differ"
                    )
                with db.engine.connect() as conn:
                    stored = _storage(conn)
                with create_engine(original).connect() as conn:
                    assert stored == _storage(conn), "storage parameters of models and migrations differ"
            downgrade(directory=app.extensions["migrate"].directory, revision="base")
            with db.engine.connect() as conn:
                assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
                if url.startswith("postgresql"):
                    assert _functions(conn) == set()
    finally:
        db.init(original)
        if url.startswith("sqlite"):
            os.unlink(url.removeprefix("sqlite:///"))
