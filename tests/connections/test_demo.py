"""The demo data: applications in every state, one overdue, the completed new connection's account with its papers in
its dossier, a capacity-split pair and an off-system account."""

from __future__ import annotations

from sqlalchemy import select

from archive.models import Document
from billing.models import Account
from connections import queries
from connections.models import Application, ApplicationStatus
from tests.support import seed_demo


def test_the_demo_has_applications_in_every_state_and_the_planted_violations(app, session) -> None:
    runner = app.test_cli_runner()
    first = seed_demo(app)
    assert first.exit_code == 0, first.output
    session.rollback()
    applications = session.scalars(select(Application)).all()
    assert {a.status for a in applications} == {s.value for s in ApplicationStatus}
    assert [a.application_no for a in applications if queries.timing(a) == "overdue"]
    done = next(a for a in applications if a.type == "new_lv_residential" and a.status == "completed")
    account = session.get(Account, done.account_id)
    assert account is not None and account.connected_on is not None
    numbers = session.scalars(
        select(Document.document_no)
        .where(Document.account_no == account.account_no, Document.document_no.like(f"{done.application_no}%"))
        .order_by(Document.id)
    ).all()
    assert numbers == [f"{done.application_no}-{n}" for n in ("01", "02", "03", "A")]
    split = [a for a in applications if a.applicant_name == "李建国"]
    assert len(split) == 2 and sum(a.capacity_kva or 0 for a in split) >= 50
    assert all((a.capacity_kva or 0) < 50 for a in split)
    off_system = session.scalar(select(Account).where(Account.account_no == "3309990001"))
    assert off_system is not None
    assert session.scalar(select(Application.id).where(Application.account_id == off_system.id)) is None
    session.rollback()
    again = runner.invoke(args=["griddesk", "seed-demo"])
    assert again.exit_code == 0 and "demo applications already there" in again.output
