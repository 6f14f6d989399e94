"""Test setup. One database per xdist worker: SQLite by default, PostgreSQL when TEST_DATABASE_URL says so.

The app is configured through environment variables so that a real Celery worker started by the service
tests (tests/service.py) builds the very same configuration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.security import use_fast_hashing

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
REQUIRE_SERVICES = os.environ.get("GRIDDESK_REQUIRE_SERVICES") == "1"


def _postgres_database(base_url: str) -> str:
    """A fresh database for this xdist worker on the given server."""
    url = make_url(base_url)
    name = f"{url.database or 'griddesk'}_{WORKER}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _configure_environment() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix=f"griddesk-test-{WORKER}-"))
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        try:
            database_url = _postgres_database(base)
        except Exception as exc:  # the service suite must fail loudly, never skip
            pytest.exit(f"PostgreSQL at {base} is not usable: {exc}", returncode=3)
    else:
        database_url = f"sqlite:///{workdir / 'test.db'}"
    os.environ.update(
        {
            "GRIDDESK_INSTANCE": str(workdir / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "ID_HASH_KEY": "test-id-hash-key",
            "BLOB_DIR": str(workdir / "blobs"),
            "SEARCH_INDEX_DIR": str(workdir / "search"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "GRIDDESK_FAST_HASHING": "1",
            # the local push service of tests/notifications/push_receiver.py (http on 127.0.0.1)
            "PUSH_ALLOWED_LOCAL_HOSTS": "127.0.0.1",
        }
    )
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        db_number = int(os.environ.get("TEST_REDIS_DB_BASE", "1")) + int(WORKER.removeprefix("gw") or 0)
        os.environ["CELERY_BROKER_URL"] = f"{redis_url.rstrip('/')}/{db_number}"
        os.environ["CELERY_RESULT_BACKEND"] = os.environ["CELERY_BROKER_URL"]
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    return workdir


_WORKDIR = _configure_environment()
use_fast_hashing()


@pytest.fixture(scope="session")
def workdir() -> Path:
    return _WORKDIR


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from core.db import db
    from webapp import create_app
    from webapp.models import load_all

    # online payment goes to the simulator's address (tests that pay start the simulator and point there)
    application = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": True, "PAYMENT_SIMULATOR_URL": "http://127.0.0.1:9/gateway.do"}
    )
    metadata = load_all().metadata
    assert db.engine is not None
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    for hook in application.extensions.get("griddesk_schema_hooks", []):
        hook(db.engine)
    if db.engine.dialect.name == "postgresql":
        _no_autovacuum(db.engine, metadata)
    yield application
    db.remove_session()
    db.engine.dispose()
    shutil.rmtree(_WORKDIR, ignore_errors=True)


def _no_autovacuum(engine, metadata) -> None:  # type: ignore[no-untyped-def]
    """Tests empty the tables with DELETE (tests/support.py ``reset_database``). A vacuum would free the deleted rows'
    slots for the next test's rows, which a scan would then return out of the order they were written in."""
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = off)'))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables, an empty rate-limit store and its own files."""
    # Celery keeps "are we inside a task?" in one process-wide flag that eager tasks set and
    # restore; eager tasks run concurrently in threads (a live server, the concurrency tests)
    # can restore it in the wrong order and leave it stuck, after which every result.get()
    # in this process raises "Never call result.get() within a task!".
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from celery import current_app as default_celery

    from tests.support import reset_database
    from webapp import activate

    if default_celery._get_current_object() is not application.extensions["celery"]:
        activate(application)  # a test built an app of its own, which took over the process's settings

    reset_database(application)
    application.extensions["griddesk_attempts"].reset()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def session(app):  # type: ignore[no-untyped-def]
    from core.db import db

    with app.app_context():
        yield db.session


@pytest.fixture
def world(app, session):  # type: ignore[no-untyped-def]
    """Two sibling units A and B under a root; one user of each role in A; an own and a foreign account."""
    from tests.support import build_world

    return build_world(app, session)


@pytest.fixture
def held_outbox(app, monkeypatch):  # type: ignore[no-untyped-def]
    """Commits that put outbox messages ask for no relay: the test looks at the messages, then relays them."""
    from core import outbox
    from tests.support import HeldOutbox

    monkeypatch.setattr(outbox, "kick", lambda: None)
    return HeldOutbox()


@pytest.fixture
def api(client):  # type: ignore[no-untyped-def]
    from tests.support import ApiClient

    return ApiClient(client)


@pytest.fixture(scope="session")
def celery_worker_process(app):  # type: ignore[no-untyped-def]
    """A real ``celery worker`` process on Redis, built from the same environment as the test app."""
    from tests.service import start_worker

    proc = start_worker(app, require=REQUIRE_SERVICES)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except Exception:
        proc.kill()


@pytest.fixture
def live_worker(app, celery_worker_process):  # type: ignore[no-untyped-def]
    """Tasks go through Redis to the real worker for the duration of the test (mark the test ``service``)."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = False
    yield celery_worker_process
    celery.conf.task_always_eager = True


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-API server (moto) on a free port of 127.0.0.1 for the whole session, with the test bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.support import S3_BUCKET

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).create_bucket(Bucket=S3_BUCKET)
    yield endpoint
    server.stop()
