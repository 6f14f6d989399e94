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
from core.identity import User
from core.trail import TrailEvent
from servicedesk import services
from servicedesk.models import Incident, Ticket, TicketEvent, TicketStep
from servicedesk.topics import TICKET_CHANGED
from tests.servicedesk.helpers import FAR_AWAY, STREET, fault

# SQLite: BEGIN IMMEDIATE, the user with their unit, the active incidents near the pin, then either the incident
# joined (UPDATE) or the ungrouped reports near it; the ticket with its number, its steps (one executemany), its
# timeline event, its outbox message, the trail chain's end and the trail event. PostgreSQL (a customer with a
# bearer token): one statement, its own transaction (autocommit: no BEGIN, no COMMIT), reading the user, finding
# the nearest incident (a lone report: counting the ungrouped reports near it) and writing the ticket, its steps,
# its event, its outbox message, the incident joined and the trail event.
STATEMENTS = {
    ("sqlite", True): 10,
    ("sqlite", False): 10,
    ("postgresql", True): 1,
    ("postgresql", False): 1,
}


def _autocommit(cursor) -> bool:  # type: ignore[no-untyped-def]
    """Whether the cursor's connection commits each statement itself (psycopg's flag; sqlite3 has none here)."""
    return bool(getattr(cursor.connection, "autocommit", False))


class Sent(list[str]):
    """Statements sent, and which of them were sent in autocommit (no BEGIN before them)."""

    def __init__(self) -> None:
        super().__init__()
        self.autocommitted: list[str] = []


@contextmanager
def statements() -> Iterator[Sent]:
    """The statements sent up to the first commit: the request's own transaction (what the outbox relay and the
    workers do after it is theirs). A statement in autocommit is a transaction and its commit at once."""
    sent = Sent()
    committed: list[bool] = []

    def note(_conn, cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if not committed:
            sent.append(statement)
            if _autocommit(cursor):
                sent.autocommitted.append(statement)
                committed.append(True)

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
    assert sent.autocommitted == (sent if dialect == "postgresql" else [])
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


# --- the signed-in customer's one-statement intake answers as the ordinary way does --------------------------------

Answer = tuple[int, object]
# what a report may leave behind, counted before and after each request
_KEPT = {"tickets": Ticket, "steps": TicketStep, "events": TicketEvent, "incidents": Incident}


def _kept(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts = {name: session.scalar(select(func.count()).select_from(m)) or 0 for name, m in _KEPT.items()}
    counts["trail"] = session.scalar(select(func.count()).select_from(TrailEvent)) or 0
    session.commit()  # the request starts without a transaction, as in production
    return counts


def _post(client, session, headers: dict[str, str], body: object) -> tuple[Answer, dict[str, int]]:  # type: ignore[no-untyped-def]
    before = _kept(session)
    if isinstance(body, str):
        response = client.post("/api/v1/tickets", data=body, headers={**headers, "Content-Type": "application/json"})
    else:
        response = client.post("/api/v1/tickets", json=body, headers=headers)
    after = _kept(session)
    return (response.status_code, response.get_json()), {k: after[k] - before[k] for k in after}


def _both_ways(client, session, monkeypatch, headers: dict[str, str], body: object, *, again: object = None):  # type: ignore[no-untyped-def]
    """The answer and what was written with the one-statement intake, and the same with it switched off (every
    report the ordinary way); ``again``: the body of the second request, when it must differ (another place)."""
    taken: list[object] = []
    fast = services.open_signed_in_report

    def spied(*args, **kwargs):  # type: ignore[no-untyped-def]
        ticket = fast(*args, **kwargs)
        taken.append(ticket)
        return ticket

    with monkeypatch.context() as patch:
        patch.setattr(services, "open_signed_in_report", spied)
        one = _post(client, session, headers, body)
    with monkeypatch.context() as patch:
        patch.setattr(services, "open_signed_in_report", lambda *args, **kwargs: None)
        plain = _post(client, session, headers, body if again is None else again)
    return one, plain, [t is not None for t in taken]


def _change(session, world, role: str, **values: object) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from core.identity import User

    session.execute(update(User).where(User.id == world.users[role].id).values(**values))
    session.commit()


def _report(lat: float, lon: float, **extra: object) -> dict[str, object]:
    return {"kind": "fault_repair", "description": "路边电线掉落", "lat": lat, "lon": lon, **extra}


NOTHING = {"tickets": 0, "steps": 0, "events": 0, "incidents": 0, "trail": 0}


def test_refusals_are_the_same_both_ways(app, client, world, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No token, a bad token, another scheme, a revoked token, an inactive customer, an account not theirs, a bad
    body, a place outside the service area: the same status and body both ways, and nothing written by either."""
    from webapp.auth import issue_token

    monkeypatch.setitem(app.config, "SERVICEDESK_ANONYMOUS_LIMIT", "100 per minute")  # these are anonymous too

    customer = world.headers("customer")
    here = _report(*STREET[0])
    cases: list[tuple[str, dict[str, str], object, int]] = [
        ("no token, no phone", {}, here, 422),
        ("not a token", {"Authorization": "Bearer not-a-token"}, here, 422),
        ("another scheme", {"Authorization": f"Basic {world.token('customer')}"}, here, 422),
        ("an account not theirs", customer, {**here, "account_no": world.foreign_account.account_no}, 422),
        ("no description", customer, {k: v for k, v in here.items() if k != "description"}, 422),
        ("an unknown kind", customer, {**here, "kind": "storm"}, 422),
        ("an unknown field", customer, {**here, "colour": "red"}, 422),
        ("not JSON", customer, "{not json", 400),
        ("outside the service area", customer, _report(*FAR_AWAY), 422),
    ]
    for name, headers, body, status in cases:
        one, plain, _taken = _both_ways(client, session, monkeypatch, headers, body)
        assert one == plain, name
        assert one[0][0] == status and one[1] == NOTHING, (name, one)
    # a token its user revoked, and an active customer's valid token once they are inactive: anonymous, as ever
    declined = [False] if session.get_bind().dialect.name == "postgresql" else []  # elsewhere: not tried
    _change(session, world, "customer", token_version=2)
    one, plain, taken = _both_ways(client, session, monkeypatch, customer, here)
    assert one == plain and one[0][0] == 422 and one[1] == NOTHING and taken == declined
    with client.application.test_request_context():
        fresh = {"Authorization": f"Bearer {issue_token(session.get(User, world.users['customer'].id))[0]}"}
    session.commit()
    _change(session, world, "customer", active=False)
    one, plain, taken = _both_ways(client, session, monkeypatch, fresh, here)
    assert one == plain and one[0][0] == 422 and one[1] == NOTHING and taken == declined


def _comparable(answer: Answer) -> dict[str, object]:
    """A report's answer less what differs from one report to the next (its number, its times)."""
    body = answer[1]
    assert isinstance(body, dict)
    return {k: v for k, v in body.items() if k not in ("ticket_no", "received_at", "due_at", "follow_url")}


def test_reports_taken_in_both_ways_answer_and_write_the_same(client, world, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A customer's report (taken in by the one statement), a staff member's and a passer-by's (the ordinary way
    both times): the same answer and the same rows written, at places far enough apart to join nothing."""
    grid = [(-1, -1), (-1, 1), (1, -1), (1, 1), (0, -1), (0, 1), (-1, 0), (1, 0)]  # over 1 km apart, in the area
    places = [(30.2702 + 0.012 * a, 120.1601 + 0.012 * b) for a, b in grid]
    tried = session.get_bind().dialect.name == "postgresql"  # elsewhere the ordinary way only
    cases = [
        ("a customer", world.headers("customer"), {}, [True] if tried else []),
        (
            "a customer giving an address",
            world.headers("customer"),
            {"contact_email": "c@e.cn"},
            [True] if tried else [],
        ),
        ("a clerk", world.headers("clerk"), {}, [False] if tried else []),
    ]
    written = {**NOTHING, "tickets": 1, "steps": 4, "events": 1, "trail": 1}
    for n, (name, headers, extra, fast) in enumerate(cases):
        first, second = places[2 * n], places[2 * n + 1]
        one, plain, taken = _both_ways(
            client, session, monkeypatch, headers, _report(*first, **extra), again=_report(*second, **extra)
        )
        assert taken == fast, name
        assert one[0][0] == plain[0][0] == 201, (name, one, plain)
        assert one[1] == plain[1] == written, name
        assert _comparable(one[0]) == {**_comparable(plain[0]), "lat": first[0], "lon": first[1]}, name
    phone = {"contact_phone": "13912345678"}
    one, plain, taken = _both_ways(
        client, session, monkeypatch, {}, _report(*places[6], **phone), again=_report(*places[7], **phone)
    )
    assert taken == [] and one[0][0] == plain[0][0] == 201 and one[1] == plain[1] == written
    assert _comparable(one[0]) == {**_comparable(plain[0]), "lat": places[6][0], "lon": places[6][1]}


def test_an_incident_forms_and_is_joined_the_same_both_ways(client, world, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Three reports on a street form an incident and a fourth joins it, taken in by the one statement on one
    street and the ordinary way on another 2 km north: the same answers, incidents and trail events."""
    north = [(lat + 0.02, lon) for lat, lon in STREET]
    answers = []
    for street, fast in ((STREET, True), (north, False)):
        with monkeypatch.context() as patch:
            if not fast:
                patch.setattr(services, "open_signed_in_report", lambda *args, **kwargs: None)
            answers.append(
                [_post(client, session, world.headers("customer"), _report(*p)) for p in [*street, street[0]]]
            )
    incidents = session.scalars(select(Incident).order_by(Incident.id)).all()
    assert [i.ticket_count for i in incidents] == [4, 4]
    assert incidents[0].lat == pytest.approx(incidents[1].lat - 0.02)
    assert incidents[0].lon == pytest.approx(incidents[1].lon)
    one, plain = answers
    assert [a[1] for a in one] == [a[1] for a in plain]
    assert [a[0][1]["incident_id"] for a in one] == [None, None, incidents[0].id, incidents[0].id]
    assert [a[0][1]["incident_id"] for a in plain] == [None, None, incidents[1].id, incidents[1].id]
    grouped = session.scalars(select(TrailEvent.after).where(TrailEvent.action == "incident.grouped")).all()
    assert grouped == [{"tickets": 3}, {"tickets": 3}]
    assert trail.verify(session).ok
