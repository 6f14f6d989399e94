"""A worker killed (SIGKILL) in the middle of extracting a document loses nothing: another worker finishes it.

Runs in the service suite: real Celery workers on Redis, PostgreSQL, real Tesseract.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image
from sqlalchemy import delete, select, update

from archive.commands import FileDocument
from archive.models import Document, DocumentText
from archive.registry import search_backend
from archive.samples import scan_image
from archive.services import create_dossier, file_document
from archive.tasks import index_document, requeue_stale_documents
from billing.models import Account
from core.db import db
from tests.archive.helpers import FIELDS

QUEUE = "archive-crash-test"
pytestmark = pytest.mark.service


def _start_worker(name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webapp.worker:celery",
            "worker",
            "-c",
            "1",
            "-Q",
            QUEUE,
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        start_new_session=True,  # its own process group: SIGKILL reaches the pool child too
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _state(document_id: int) -> tuple[str, int]:
    with db.transaction() as s:
        row = s.execute(select(Document.index_status, Document.index_attempts).where(Document.id == document_id)).one()
        return row[0], row[1]


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_killed_mid_extraction_loses_nothing(app, world, session):
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        message = "needs Redis (the service suite sets TEST_REDIS_URL)"
        if os.environ.get("GRIDDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(message)  # like the live_worker fixture: the service suite never skips
        pytest.skip(message)
    # a multi-page scan: OCR takes several seconds, long enough to kill the worker in the middle
    pages = [
        Image.open(io.BytesIO(scan_image([f"用电检查单第{n}页", "户号 1000000001", "检查结果：计量装置封印完好"])))
        for n in range(5)
    ]
    out = io.BytesIO()
    pages[0].save(out, format="TIFF", save_all=True, append_images=pages[1:])
    account = session.scalar(select(Account).where(Account.account_no == "1000000001"))
    dossier = create_dossier(session, account, None)
    document = file_document(
        session,
        dossier,
        FileDocument.parse({**FIELDS, "file": io.BytesIO(out.getvalue()), "filename": "scan.tif"}),
        None,
    )
    session.commit()  # eager: indexed inline; now make it a fresh, unprocessed filing again
    document_id = document.id
    with db.transaction() as s:
        s.execute(delete(DocumentText).where(DocumentText.document_id == document_id))
        s.execute(update(Document).where(Document.id == document_id).values(index_status="pending", index_attempts=0))
    search_backend().delete([document_id])
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = False
    first = _start_worker("doomed")
    second = None
    try:
        index_document.apply_async((document_id,), queue=QUEUE)
        assert _wait(lambda: _state(document_id)[1] >= 1, 90), "the first worker never started the task"
        time.sleep(0.5)  # inside OCR now
        _kill(first)
        assert _state(document_id)[0] == "pending"  # killed before finishing
        second = _start_worker("rescuer")
        requeue_stale_documents.apply_async((0, QUEUE), queue=QUEUE)
        assert _wait(lambda: _state(document_id)[0] == "indexed", 120), _state(document_id)
    finally:
        celery.conf.task_always_eager = True
        _kill(first)
        if second is not None:
            _kill(second)
    assert document_id in dict(search_backend().fingerprints())
    with db.transaction() as s:
        text = s.scalar(select(DocumentText.text).where(DocumentText.document_id == document_id))
    assert "1000000001" in text
