"""Concurrent requests: one dossier per account whatever the timing; concurrent filings all indexed."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import func, select

from archive.commands import FileDocument
from archive.models import Document, Dossier, DossierAttempt
from archive.registry import search_backend
from archive.services import create_dossier, dossier_for, file_document
from archive.tasks import requeue_stale_documents
from billing.models import Account
from core import outbox
from core.db import db
from core.errors import Conflict
from tests.archive.helpers import FIELDS, pdf_bytes


def test_concurrent_dossier_requests_make_exactly_one(app, world, session):
    session.rollback()
    # PostgreSQL: all four read "no dossier" before any inserts, so the UNIQUE constraint decides.
    # SQLite takes the write lock at BEGIN, so there the requests queue and the check decides.
    racing = db.engine.dialect.name == "postgresql"
    barrier = Barrier(4 if racing else 1)

    def attempt(_n: int) -> str:
        with app.app_context():
            local = db.new_session()
            try:
                account = local.scalar(select(Account).where(Account.account_no == "1000000001"))
                barrier.wait(timeout=30)
                create_dossier(local, account, None)
                local.commit()
                return "created"
            except Conflict as exc:
                return exc.code
            finally:
                local.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["created", "dossier_exists", "dossier_exists", "dossier_exists"]
    assert session.scalar(select(func.count(Dossier.id))) == 1
    assert session.scalar(select(func.count(DossierAttempt.id))) == 3


def test_concurrent_filings_are_all_kept_and_indexed(app, app_search, world, session):
    account = session.scalar(select(Account).where(Account.account_no == "1000000001"))
    create_dossier(session, account, None)
    session.commit()
    contents = [pdf_bytes(f"第{n}号用电检查单，检查结果正常。") for n in range(6)]

    def file(n: int) -> int:
        with app.app_context(), db.transaction() as local:
            dossier = dossier_for(local, "1000000001")
            document = file_document(
                local,
                dossier,
                FileDocument.parse({**FIELDS, "file": io.BytesIO(contents[n]), "filename": f"{n}.pdf"}),
                None,
            )
            local.flush()
            return document.id

    with ThreadPoolExecutor(max_workers=3) as pool:
        ids = sorted(pool.map(file, range(6)))
    # what beat does: relay what waits and re-send any document left pending (a filing whose indexing lost the
    # race for the index writer to another thread's is indexed by the sweep; nothing is lost)
    session.rollback()
    outbox.relay_all()
    requeue_stale_documents(older_than_seconds=0)
    session.expire_all()
    assert session.scalar(select(func.count(Document.id))) == 6
    assert set(session.scalars(select(Document.index_status))) == {"indexed"}
    assert sorted(i for i, _ in search_backend().fingerprints()) == ids
