"""Demo dossiers: a few documents (generated PDFs with Chinese text) for some demo accounts, indexed."""

from __future__ import annotations

import datetime as dt
import io
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import Account
from core.db import db, on_commit

from .commands import FileDocument, RecordHandover
from .models import Dossier
from .samples import chinese_text, text_pdf
from .services import create_dossier, create_handover, file_document

DEMO_ACCOUNTS = 12
DEMO_DOCUMENTS = [
    ("customer_application", "用电申请书", 0),
    ("business_survey", "营业勘测单", 20),
    ("power_supply_contract", "供用电合同", 45),
    ("new_install_work_order", "新装增容工作单", 60),
]


def seed_archive(session: Session) -> str:
    accounts = list(session.scalars(select(Account).order_by(Account.account_no).limit(DEMO_ACCOUNTS)))
    have = set(session.scalars(select(Dossier.account_no)))
    rng = random.Random(4)
    filed: list[int] = []
    for account in accounts:
        if account.account_no in have:
            continue
        dossier = create_dossier(session, account, None, source="demo")
        start = account.connected_on or dt.date(2024, 1, 1)
        handover = create_handover(
            session,
            RecordHandover.parse(
                {
                    "account_no": account.account_no,
                    "from_department": "市场拓展部",
                    "to_department": account.unit.name,
                    "handed_over_on": (start + dt.timedelta(days=70)).isoformat(),
                    "handed_by": "周敏",
                    "received_by": "李静",
                    "item_count": len(DEMO_DOCUMENTS),
                }
            ),
            None,
        )
        for doc_type, title, offset in DEMO_DOCUMENTS:
            body = chinese_text(rng, 400, holder=account.holder_name, account=account.account_no)
            pdf = text_pdf(f"{title}（户号{account.account_no}）", body)
            document = file_document(
                session,
                dossier,
                FileDocument.parse(
                    {
                        "doc_type": doc_type,
                        "title": f"{account.holder_name}{title}",
                        "formed_on": (start - dt.timedelta(days=60) + dt.timedelta(days=offset)).isoformat(),
                        "responsible_unit": account.unit.name,
                        "writing_material": "print",
                        "paper_size": "A4",
                        "handover_id": str(handover.id),
                        "file": io.BytesIO(pdf),
                        "filename": f"{title}.pdf",
                    }
                ),
                None,
                announce=False,  # indexed below, at once
            )
            filed.append(document.id)

    def index_now() -> None:
        from .tasks import index_many, index_one

        with db.transaction() as indexing:
            for document_id in index_many(indexing, filed):
                index_one(indexing, document_id)

    if filed:
        on_commit(session, index_now)
    return f"{len(filed)} documents filed into {len(filed) // len(DEMO_DOCUMENTS)} new dossiers and indexed"
