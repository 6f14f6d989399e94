"""Who builds the dossier (FL-BUILDER-MISMATCH) and the business-handling change sheets never filed
(FL-SHEET-UNFILED's third source: 杂项工作单, 报停/启用/拆表单)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from archive.commands import RecordReferenceSheet
from archive.models import Document, Dossier
from archive.services import create_dossier, record_reference_sheet
from audit.engine import Scope, run_rules
from audit.models import Finding
from audit.rules import RuleContext, get_rule
from billing.models import Account
from core import clock
from tests.connections.helpers import apply, work_through
from tests.support import make_account


def _open(session, code: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    rule = get_rule(code)
    assert rule is not None
    run_rules(session, Scope(), RuleContext(today=clock.today_local() + dt.timedelta(days=40)), rules=[rule])
    session.commit()
    rows = session.execute(
        select(Finding.subject, Finding.evidence).where(Finding.rule == code, Finding.status == "open")
    )
    return sorted((subject, evidence) for subject, evidence in rows)


def test_a_dossier_is_opened_with_its_tier_s_builder_and_a_capacity_change_asks_for_another(session, world) -> None:
    account = make_account(session, "3000000001", world.unit_a, capacity_kva=Decimal(30), category="general")
    dossier = create_dossier(session, account, world.users["archivist"])
    session.commit()
    assert dossier.builder == "marketing_department"
    assert _open(session, "FL-BUILDER-MISMATCH") == []
    session.execute(update(Account).where(Account.id == account.id).values(capacity_kva=Decimal(400)))
    session.commit()
    [(subject, evidence)] = _open(session, "FL-BUILDER-MISMATCH")
    assert subject == "dossier:3000000001:builder"
    assert (evidence["builder"], evidence["expected_builder"], evidence["tier"]) == (
        "marketing_department",
        "market_development",
        "from_315",
    )
    # the archivist records who built it with the reference sheet; the next run resolves the finding
    command = RecordReferenceSheet.parse({"filer_name": "李静", "builder": "market_development"})
    record_reference_sheet(session, dossier, command, world.users["archivist"])
    session.commit()
    assert _open(session, "FL-BUILDER-MISMATCH") == []


def test_a_dossier_without_a_builder_recorded_is_a_finding(session, world) -> None:
    account = make_account(session, "3000000002", world.unit_a, capacity_kva=Decimal(100), category="general")
    create_dossier(session, account, None)
    session.execute(update(Dossier).where(Dossier.account_no == "3000000002").values(builder=""))
    session.commit()
    [(subject, evidence)] = _open(session, "FL-BUILDER-MISMATCH")
    assert subject == "dossier:3000000002:builder" and evidence["expected_builder"] == "marketing_unit"


def test_an_unknown_builder_is_refused() -> None:
    import pytest

    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="builder=not_a_choice"):
        RecordReferenceSheet.parse({"builder": "somebody"})


def test_a_change_carried_out_whose_misc_work_order_never_reached_the_dossier_is_a_finding(
    client, world, session
) -> None:
    number = apply(client, world, "name_change").get_json()["application_no"]
    work_through(client, world, number, ["acceptance", "execution"])
    session.rollback()
    [sheet] = session.scalars(select(Document).where(Document.document_no == f"{number}-02")).all()
    assert sheet.doc_type == "misc_work_order"
    assert _open(session, "FL-SHEET-UNFILED") == []  # filed by business handling
    sheet.withdrawn_at = clock.now_local()
    session.commit()
    [(subject, evidence)] = _open(session, "FL-SHEET-UNFILED")
    assert subject == f"sheet:{world.own_account.account_no}:{number}-02"
    assert (evidence["source"], evidence["doc_type"]) == ("application", "misc_work_order")
