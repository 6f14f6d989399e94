"""Migrations create everything from an empty database, models and migrations do not drift apart, and every
migration is frozen: it carries the SQL it runs and imports no application code."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from tests.support import PROJECT_PACKAGES
from webapp.models import load_all

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
APPLICATION_PACKAGES = set(PROJECT_PACKAGES)
ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            modules.add("__import__")
    return modules


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda p: p.stem)
def test_a_migration_imports_no_application_code(path: Path) -> None:
    found = _imported_modules(path)
    application = {m for m in found if m.split(".")[0] in APPLICATION_PACKAGES or m.startswith(".")}
    # importlib or __import__: loading another file (application code, or another migration) at run time
    loaders = {m for m in found if m.split(".")[0] in {"importlib", "__import__"}}
    assert not application | loaders, f"{path.name} imports {sorted(application | loaders)}: freeze a copy instead"


def test_every_migration_file_is_looked_at() -> None:
    assert len(list(VERSIONS.glob("*.py"))) >= 10


def _fresh_url(app, workdir, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'migrations-check.db'}"
    from sqlalchemy.engine import make_url

    base = make_url(app.config["DATABASE_URL"])
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
    """Tables' storage parameters and columns whose storage differs from their type's default (PostgreSQL).

    Autovacuum is left out: the test suite turns it off in its own database (tests/conftest.py)."""
    rows = conn.execute(
        text(
            "SELECT relname, '', options FROM (SELECT c.relname, array_to_string(ARRAY(SELECT o FROM"
            " unnest(c.reloptions) o WHERE o NOT LIKE 'autovacuum_enabled=%'), ',') AS options FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r') t WHERE options <> ''"
            " UNION SELECT c.relname, a.attname, a.attstorage::text FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND a.attstorage <> t.typstorage"
        )
    )
    return {tuple(row) for row in rows}


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL: set TEST_DATABASE_URL (make test does)"),
        ),
    ],
)
def test_upgrade_from_empty_matches_models_and_downgrades_cleanly(app, workdir, backend: str) -> None:
    from core.db import db

    original = app.config["DATABASE_URL"]
    url = _fresh_url(app, workdir, backend)
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
