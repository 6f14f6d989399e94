"""Intake's round trips: what one ``POST /api/v1/tickets`` of a fault report sends to the database.

Every statement the request sends is counted (a cursor listener on every engine) and the count is pinned, so a
flush per row, a re-read of the service area or of the accounts' places per report, an ORM round trip for the
ticket number, or a timeline event read back for its id each make it fail. What a report writes is checked
too: nothing is saved by leaving the ticket, its steps, its event, its outbox message or its trail event out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, func, select

from core import clock, outbox, trail
from core.trail import TrailEvent
from servicedesk.models import Incident, Ticket, TicketEvent, TicketStep
from servicedesk.topics import TICKET_CHANGED
from tests.servicedesk.helpers import STREET, fault

# SQLite: BEGIN IMMEDIATE, the user with their unit, the active incidents near the pin, then either the incident
# joined (UPDATE) or the ungrouped reports near it; the ticket with its number, its steps (one executemany), its
# timeline event, its outbox message, the trail chain's end and the trail event. PostgreSQL: no BEGIN statement;
# the user, then one statement finding the nearest incident (a lone report: counting the ungrouped reports near
# it) and writing the ticket, its steps, its event, its outbox message, the incident joined and the trail event.
STATEMENTS = {
    ("sqlite", True): 10,
    ("sqlite", False): 10,
    ("postgresql", True): 2,
    ("postgresql", False): 2,
}


@contextmanager
def statements() -> Iterator[list[str]]:
    """The statements sent up to the first commit: the request's own transaction (what the outbox relay and the
    workers do after it is theirs)."""
    sent: list[str] = []
    committed: list[bool] = []

    def note(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if not committed:
            sent.append(statement)

    def commit(_conn) -> None:  # type: ignore[no-untyped-def]
        committed.append(True)

    event.listen(Engine, "before_cursor_execute", note)
    event.listen(Engine, "commit", commit)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)
        event.remove(Engine, "commit", commit)
    assert committed, "the request committed nothing"


def _counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    models = {"tickets": Ticket, "steps": TicketStep, "events": TicketEvent}
    counts = {name: session.scalar(select(func.count()).select_from(m)) or 0 for name, m in models.items()}
    counts["trail"] = session.scalar(select(func.count()).where(TrailEvent.entity == "ticket")) or 0
    session.rollback()
    return counts


@pytest.mark.parametrize("joins_incident", [True, False], ids=["joining an incident", "alone"])
def test_a_fault_report_costs_a_pinned_number_of_statements(client, world, session, joins_incident) -> None:  # type: ignore[no-untyped-def]
    for lat, lon in STREET:  # the first reports load the service area and the places; three make an incident
        assert fault(client, world, lat, lon, role="customer").status_code == 201
    assert session.scalar(select(Incident.ticket_count)) == 3
    session.rollback()
    before = _counts(session)
    place = STREET[0] if joins_incident else (30.2802, 120.1701)  # about 1.4 km away: no incident near
    with statements() as sent:
        response = fault(client, world, *place, role="customer")
    assert response.status_code == 201, response.get_json()
    dialect = session.get_bind().dialect.name
    assert len(sent) == STATEMENTS[dialect, joins_incident], "\n".join(s.split("\n")[0] for s in sent)
    after = _counts(session)
    written = {name: after[name] - before[name] for name in after}
    assert written == {"tickets": 1, "steps": 4, "events": 1, "trail": 1}
    # the message is relayed (and deleted) once the request commits: it was written in the request's transaction
    assert sum("INSERT INTO outbox" in s for s in sent) == 1
    body = response.get_json()
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == body["ticket_no"]))
    assert ticket is not None and ticket.ticket_no == f"{clock.local(ticket.received_at):%Y%m%d}{ticket.id:08d}"
    assert [s.step for s in ticket.steps] == ["dispatched", "on_site", "restored", "closed"]
    assert ticket.due_at == ticket.steps[0].due_at
    if joins_incident:
        incident = session.scalar(select(Incident))
        assert body["incident_id"] == incident.id and incident.ticket_count == 4
        assert ticket.incident_id == incident.id
    else:
        assert body["incident_id"] is None and ticket.incident_id is None


def test_reports_taken_in_one_session_see_the_incident_they_make_together(session, world) -> None:  # type: ignore[no-untyped-def]
    from servicedesk.commands import OpenTicket
    from servicedesk.services import open_ticket

    customer = world.users["customer"]
    reports = [{"kind": "fault_repair", "description": "停电", "lat": lat, "lon": lon} for lat, lon in STREET]
    tickets = [open_ticket(session, customer, OpenTicket.parse(r)) for r in reports]
    incident_id = tickets[-1].incident_id
    assert incident_id is not None and [t.incident_id for t in tickets] == [incident_id] * 3
    session.commit()
    assert session.get(Incident, incident_id).ticket_count == 3


@contextmanager
def messages() -> Iterator[list[dict[str, object]]]:
    """The ``servicedesk.ticket_changed`` messages relayed meanwhile."""
    taken: list[dict[str, object]] = []

    def take(payloads: list[dict[str, object]]) -> None:
        taken.extend(payloads)

    outbox.subscribe(TICKET_CHANGED, take)
    try:
        yield taken
    finally:
        outbox.unsubscribe(TICKET_CHANGED, take)


@pytest.mark.parametrize("role", ["customer", None], ids=["a customer", "a passer-by"])
def test_a_report_announces_itself_and_appends_its_trail_event(client, world, session, role) -> None:  # type: ignore[no-untyped-def]
    """The message and the trail event are the same whether one statement (PostgreSQL) or one each wrote them."""
    with messages() as taken:
        response = fault(client, world, *STREET[0], role=role, contact_email="walker@example.cn" if not role else None)
    assert response.status_code == 201, response.get_json()
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == response.get_json()["ticket_no"]))
    event = session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    customer = world.users["customer"].id
    assert taken == [
        {
            "ticket_id": ticket.id,
            "ticket_no": ticket.ticket_no,
            "event_id": event.id,
            "action": "received",
            "status": "received",
            "kind": "fault_repair",
            "account_no": None,
            "user_ids": [customer] if role else [],
            "contact_email": None if role else "walker@example.cn",
            "follow_token": None if role else response.get_json()["follow_url"].rsplit("/", 1)[1],
        }
    ]
    assert (event.action, event.at, event.actor_id) == ("received", ticket.received_at, customer if role else None)
    appended = session.scalar(select(TrailEvent).where(TrailEvent.entity_id == ticket.ticket_no))
    assert (appended.action, appended.entity) == ("ticket.received", "ticket")
    assert appended.after == {"status": "received", "note": None}
    assert appended.actor_id == (customer if role else None) and appended.before is None
    assert trail.verify(session).ok


def test_postgresql_s_report_statement_stays_within_what_psycopg_keeps_parsed() -> None:
    """psycopg parses a statement's ``%(name)s`` placeholders anew on every execution once it is longer than
    ``MAX_CACHED_STATEMENT_LENGTH`` or has more than ``MAX_CACHED_STATEMENT_PARAMS`` parameters (0.3 ms a report
    for this one): a column or a condition more must keep it within both."""
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from servicedesk import intake

    compiled = intake._report_postgresql().compile(dialect=postgresql.psycopg.dialect())
    assert len(str(compiled).encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
