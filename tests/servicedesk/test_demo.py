"""The demo data: open and closed tickets of each kind, an overdue complaint, an incident from a storm of reports,
closed complaints in the demo account's dossier."""

from __future__ import annotations

from sqlalchemy import func, select

from archive.models import Document
from servicedesk.models import Incident, Ticket, TicketKind
from servicedesk.queries import urgency
from tests.support import seed_demo


def test_the_demo_has_every_kind_open_and_closed_an_overdue_complaint_and_a_storm(app, session) -> None:
    runner = app.test_cli_runner()
    first = seed_demo(app)
    assert first.exit_code == 0, first.output
    session.rollback()
    tickets = session.scalars(select(Ticket)).all()
    for kind in TicketKind:
        statuses = {t.status for t in tickets if t.kind == kind and t.reporter_id is not None}
        assert "closed" in statuses and statuses - {"closed"}, kind
    overdue = [t for t in tickets if t.kind == "complaint" and urgency(t) == "overdue"]
    assert len(overdue) == 1 and overdue[0].status == "received"
    [incident] = session.scalars(select(Incident)).all()
    assert incident.ticket_count == 6  # five passers-by and the demo customer's own open fault report
    records = session.scalar(select(func.count()).select_from(Document).where(Document.doc_type == "complaint_record"))
    assert records == 3  # the closed complaint, report and meter check
    session.rollback()
    again = runner.invoke(args=["griddesk", "seed-demo"])
    assert again.exit_code == 0 and "demo tickets already there" in again.output
