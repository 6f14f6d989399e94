"""The service desk's use cases: open a ticket, move it along its flow, rate, reopen, merge, escalate.

Every change appends to the ticket's timeline (``TicketEvent``) and to the trail, and announces itself on the
outbox (``servicedesk.ticket_changed``) in the same transaction, so the reporter's notice exists exactly when the
change does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, exists, insert, inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session

from billing.models import Account
from core import outbox, trail
from core.db import is_postgresql, utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from core.identity import Role, Unit, User, ensure_root_unit
from core.scope import account_in_scope, unit_covers

from . import flows, incidents, intake, settings
from .commands import MoveTicket, OpenTicket, RateTicket, ReopenTicket
from .models import Incident, IncidentStatus, Ticket, TicketEvent, TicketKind, TicketPhoto, TicketStatus, TicketStep
from .places import in_service_area, unit_near
from .records import complaint_record
from .topics import TICKET_CHANGED, TICKET_CLOSED

S = TicketStatus
FOLLOW_TOKEN_BYTES = 24  # a passer-by's follow-up link: 192 random bits, 32 URL-safe characters
FOLLOW_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
log = logging.getLogger(__name__)
OPEN_STATUSES = tuple(s.value for s in TicketStatus if s not in (S.CLOSED, S.MERGED))


def _account(session: Session, actor: User | None, account_no: str | None) -> Account | None:
    """The account named, if the actor may see it (customers: bound to them; staff: their units)."""
    if account_no is None:
        return None
    if actor is None:
        raise InvalidInput.fields({"account_no": Problem("unknown_account")})
    account = session.scalar(
        select(Account).where(Account.account_no == account_no, account_in_scope(actor, Account.id))
    )
    if account is None:
        raise InvalidInput.fields({"account_no": Problem("unknown_account")})
    return account


def _unit_of(session: Session, account: Account | None, lat: float | None, lon: float | None) -> int:
    if account is not None:
        return account.unit_id
    if lat is not None and lon is not None:
        unit_id = unit_near(session, lat, lon)
        if unit_id is not None:
            return unit_id
    return ensure_root_unit(session).id


def _area_class(session: Session, unit_id: int) -> str:
    classes = settings.area_classes()
    if not classes:
        return "urban"
    unit = session.get(Unit, unit_id)
    while unit is not None:
        if unit.code in classes:
            return classes[unit.code]
        unit = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return "urban"


def _set_clock(ticket: Ticket, received: dt.datetime) -> None:
    """(Re)start the SLA clock: every step of the flow due from ``received``, none done."""
    by_step = {s.step: s for s in ticket.steps}
    for position, (step, due) in enumerate(flows.due_times(ticket.kind, ticket.area_class, received)):
        row = by_step.get(step)
        if row is None:
            ticket.steps.append(TicketStep(step=step, position=position, due_at=due))
        else:
            row.due_at, row.done_at = due, None
    ticket.due_at = _next_due(ticket)


def _next_due(ticket: Ticket) -> dt.datetime | None:
    for step in sorted(ticket.steps, key=lambda s: s.position):
        if step.done_at is None:
            return step.due_at
    return None


def _notify_ids(ticket: Ticket, actor: User | None) -> list[int]:
    """The reporter, unless the reporter did it."""
    if ticket.reporter_id is None or (actor is not None and actor.id == ticket.reporter_id):
        return []
    return [ticket.reporter_id]


def _event(
    session: Session,
    ticket: Ticket,
    action: str,
    actor: User | None,
    note: str | None = None,
    *,
    notify: Sequence[int] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append to the ticket's timeline, announce it on the outbox and record it in the trail."""
    account_no = (
        session.scalar(select(Account.account_no).where(Account.id == ticket.account_id))
        if ticket.account_id is not None
        else None
    )
    _announce(session, ticket, action, actor, note, notify=notify, at=at, account_no=account_no)


def _announce(
    session: Session,
    ticket: Ticket,
    action: str,
    actor: User | None,
    note: str | None,
    *,
    notify: Sequence[int] | None,
    at: dt.datetime | None,
    account_no: str | None,
    follow_token: str | None = None,
) -> int:
    """The timeline event (one INSERT), its outbox message and its trail event, in the caller's transaction; the
    event's id."""
    session.flush()  # the ticket's own changes first: the message and the trail tell its new state
    event_id = (
        session.connection()
        .execute(
            insert(_EVENTS).returning(_EVENTS.c.id),
            {
                "ticket_id": ticket.id,
                "at": at or utcnow(),
                "action": action,
                "note": note,
                "actor_id": actor.id if actor else None,
            },
        )
        .scalar_one()
    )
    if "events" not in inspect(ticket).unloaded:
        session.expire(ticket, ["events"])  # loaded before this event: read again when next asked for
    message = _message(ticket, action, actor, notify=notify, account_no=account_no, follow_token=follow_token)
    outbox.put(session, TICKET_CHANGED, {**message, "event_id": event_id})
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action=f"ticket.{action}",
        entity="ticket",
        entity_id=ticket.ticket_no,
        after=_trail_after(ticket, note),
    )
    return int(event_id)


def _message(
    ticket: Ticket,
    action: str,
    actor: User | None,
    *,
    notify: Sequence[int] | None,
    account_no: str | None,
    follow_token: str | None,
) -> dict[str, Any]:
    """The ``servicedesk.ticket_changed`` message of a timeline event, less the event's id."""
    return {
        "ticket_id": ticket.id,
        "ticket_no": ticket.ticket_no,
        "action": action,
        "status": ticket.status,
        "kind": ticket.kind,
        "account_no": account_no,
        "user_ids": list(notify if notify is not None else _notify_ids(ticket, actor)),
        # a passer-by's address (no account to notify): told of each step by e-mail; the link once
        "contact_email": ticket.contact_email if ticket.reporter_id is None else None,
        "follow_token": follow_token,
    }


def _trail_after(ticket: Ticket, note: str | None) -> dict[str, Any]:
    return {"status": ticket.status, "note": note}


def _is_repeat(session: Session, kind: str, account_id: int | None, received: dt.datetime) -> bool:
    """Whether a new complaint of the account follows another within ``SERVICEDESK_REPEAT_DAYS`` (重复投诉)."""
    if kind != TicketKind.COMPLAINT or account_id is None:
        return False
    since = received - dt.timedelta(days=int(settings.get("SERVICEDESK_REPEAT_DAYS")))
    earlier = exists().where(
        Ticket.account_id == account_id,
        Ticket.kind == TicketKind.COMPLAINT,
        Ticket.received_at >= since,
        Ticket.status != S.MERGED,
    )
    return bool(session.scalar(select(earlier)))


_EVENTS: Table = TicketEvent.__table__  # type: ignore[assignment]
_PHOTOS: Table = TicketPhoto.__table__  # type: ignore[assignment]


def open_ticket(
    session: Session,
    actor: User | None,
    command: OpenTicket,
    *,
    photos: Iterable[tuple[bytes, str]] = (),
    received_at: dt.datetime | None = None,
) -> Ticket:
    """Receive a ticket: its unit, its SLA clock, a fault report grouped into an incident, a complaint flagged
    when the account complained within ``SERVICEDESK_REPEAT_DAYS``.

    A pin outside the service area is refused (422 ``outside_service_area``); ``photos`` are (bytes, content
    type) already checked by ``photos.checked_image``.

    Intake is the hot path of a storm: the ticket, its steps, its timeline event, the outbox message, the incident
    it joins and the trail event are written in one statement on PostgreSQL and one each elsewhere (``intake``),
    in the caller's transaction, and the service area and the units' places come from the per-process look-ups
    (``places``). The ticket returned is persistent in
    the session (its steps and events load when read)."""
    lat, lon = command.lat, command.lon
    if lat is not None and lon is not None and not in_service_area(session, lat, lon):
        raise InvalidInput.fields({"lat": Problem("not_in_service_area")}, "outside_service_area")
    account = _account(session, actor, command.account_no)
    if lat is None and account is not None and account.lat is not None and account.lon is not None:
        lat, lon = account.lat, account.lon
    unit_id = _unit_of(session, account, lat, lon)
    received = received_at or utcnow()
    area_class = _area_class(session, unit_id)
    due = flows.due_times(command.kind, area_class, received)
    reporter_id = actor.id if actor is not None and actor.role == Role.CUSTOMER else None
    groups = command.kind == TicketKind.FAULT_REPAIR and lat is not None and lon is not None
    postgresql = is_postgresql(session)
    grouping = incidents.Grouping()
    if groups and not postgresql:  # PostgreSQL's intake finds the incident inside its one statement (``_write``)
        grouping = incidents.incident_for_report(session, unit_id, lat, lon, received)  # type: ignore[arg-type]
    values = _received_values(command, unit_id, area_class, received, due, reporter_id=reporter_id, lat=lat, lon=lon)
    values.update(
        account_id=account.id if account else None,
        repeated=_is_repeat(session, command.kind, account.id if account else None, received),
        incident_id=grouping.incident_id,
    )
    follow_token = None
    if actor is None:  # a passer-by: a follow-up link only they hold (its hash kept), and their address if given
        follow_token = secrets.token_urlsafe(FOLLOW_TOKEN_BYTES)
        values["follow_token_hash"] = _token_hash(follow_token)
        values["contact_email"] = command.contact_email
    account_no = account.account_no if account else None
    ticket = Ticket(**dict.fromkeys(intake.EMPTY_COLUMNS), **values)
    if postgresql:
        ticket.id, ticket.ticket_no, ticket.incident_id = _write_postgresql(
            session, ticket, values, due, groups, actor, account_no, follow_token
        )
    else:
        ticket.id, ticket.ticket_no = _write(session, ticket, values, due, grouping, actor, account_no, follow_token)
    make_transient_to_detached(ticket)
    session.add(ticket)
    ticket.follow_token = follow_token  # type: ignore[attr-defined]  # shown once, never stored
    photo_rows = [{"ticket_id": ticket.id, "content": c, "content_type": t, "created_at": received} for c, t in photos]
    if photo_rows:
        session.connection().execute(insert(_PHOTOS), photo_rows)
    return ticket


def _received_values(
    command: OpenTicket,
    unit_id: int,
    area_class: str,
    received: dt.datetime,
    due: Sequence[tuple[str, dt.datetime | None]],
    *,
    reporter_id: int | None,
    lat: float | None,
    lon: float | None,
) -> dict[str, Any]:
    """The received ticket's values (``intake.TICKET_COLUMNS``): of no account, not repeated, in no incident
    until the caller says otherwise."""
    values: dict[str, Any] = dict.fromkeys(intake.TICKET_COLUMNS)
    values.update(
        kind=command.kind,
        status=S.RECEIVED.value,
        unit_id=unit_id,
        reporter_id=reporter_id,
        contact_phone=command.contact_phone,
        description=command.description,
        lat=lat,
        lon=lon,
        area_class=area_class,
        received_at=received,
        due_at=next((when for _, when in due), None),
        reopened=0,
        repeated=False,
    )
    return values


def open_signed_in_report(
    session: Session,
    reporter_id: int,
    token_version: int,
    command: OpenTicket,
    *,
    received_at: dt.datetime | None = None,
) -> Ticket | None:
    """A storm's hot path, ``open_ticket`` for a fault report with a place and no account from a customer signed
    in by a bearer token (``reporter_id`` and ``token_version``, its claims, not yet checked), on PostgreSQL.

    The report, with everything ``open_ticket`` writes, and the reporter's check (an active customer at that token
    version) are one statement that is its own transaction (``intake.write_signed_in``): one round trip, no BEGIN
    and no COMMIT of its own. A report that makes a new incident with the ungrouped reports near it forms it then
    in a transaction of its own, committed here (``_group_committed_report``).

    None, with nothing written, for anything else: another database or kind of report, a place outside the service
    area or near no unit, a reporter who is not an active customer at that version, a session already in a
    transaction (the report would not see what it holds, and could wait for its locks). The caller then takes
    ``open_ticket``'s way, which answers as ever. The ticket returned is not in the session."""
    lat, lon = command.lat, command.lon
    if (
        lat is None
        or lon is None
        or command.kind != TicketKind.FAULT_REPAIR
        or command.account_no is not None
        or not is_postgresql(session)
        or _in_transaction(session)
    ):
        return None
    if not in_service_area(session, lat, lon):
        return None
    unit_id = unit_near(session, lat, lon)
    if unit_id is None:
        return None
    received = received_at or utcnow()
    area_class = _area_class(session, unit_id)
    due = flows.due_times(command.kind, area_class, received)
    values = _received_values(command, unit_id, area_class, received, due, reporter_id=reporter_id, lat=lat, lon=lon)
    ticket = Ticket(**values)  # transient, never in the session: its empty columns read None unset
    message = _message(ticket, S.RECEIVED, None, notify=[reporter_id], account_no=None, follow_token=None)
    written = intake.write_signed_in(
        session.get_bind(),  # type: ignore[arg-type]
        token_version,
        values,
        due,
        grouping=incidents.nearest_parameters(True, lat, lon, received),
        message={"topic": TICKET_CHANGED, "payload": message},
        trail_after=_trail_after(ticket, None),
    )
    if written is None:
        return None
    ticket.id, ticket.ticket_no, ticket.incident_id = written.id, written.ticket_no, written.incident_id
    if written.incident_id is None and incidents.enough_neighbours(written.neighbours):
        ticket.incident_id = _group_committed_report(session, written.id, unit_id, lat, lon, received)
    elif _in_transaction(session):  # the look-ups read on the session (a cold cache): their transaction ends here
        session.commit()
    return ticket


def _in_transaction(session: Session) -> bool:
    own = session.registry() if isinstance(session, scoped_session) else session
    return own.in_transaction()


def _group_committed_report(
    session: Session, ticket_id: int, unit_id: int, lat: float, lon: float, received: dt.datetime
) -> int | None:
    """``incidents.group_written_report`` for a report committed already, in a transaction of its own. Should
    that fail (a deadlock with another report's incident, the database gone), the report stays received and
    ungrouped, an ungrouped neighbour the next report near it groups: answering an error for a report that is
    kept would ask for a retry, and a second ticket."""
    try:
        incident_id = incidents.group_written_report(session, ticket_id, unit_id, lat, lon, received)
        session.commit()
    except DBAPIError:
        session.rollback()
        log.exception("servicedesk: report %s kept ungrouped: its new incident failed", ticket_id)
        return None
    return incident_id


def _write_postgresql(
    session: Session,
    ticket: Ticket,
    values: dict[str, Any],
    due: list[tuple[str, dt.datetime | None]],
    groups: bool,
    actor: User | None,
    account_no: str | None,
    follow_token: str | None,
) -> tuple[int, str, int | None]:
    """PostgreSQL: the received ticket (not yet in the session) with its steps, its timeline event, its outbox
    message, its trail event and the nearest incident it joins in one statement (``intake.write_postgresql``); a
    fault report near no incident but near enough ungrouped reports then makes a new incident with them (the rule
    of ``incidents.incident_for_report``). Its (id, number, incident)."""
    lat, lon, received = values["lat"], values["lon"], values["received_at"]
    notify = [ticket.reporter_id] if ticket.reporter_id else []
    message = _message(ticket, S.RECEIVED, actor, notify=notify, account_no=account_no, follow_token=follow_token)
    written = intake.write_postgresql(
        session,
        values,
        due,
        grouping=incidents.nearest_parameters(groups, lat, lon, received),
        actor_id=actor.id if actor else None,
        message={"topic": TICKET_CHANGED, "payload": message},
        trail_after=_trail_after(ticket, None),
    )
    incident_id = written.incident_id
    if incident_id is not None:
        incidents.joined(session, incidents.Grouping(incident_id, joins=True))
    elif groups and incidents.enough_neighbours(written.neighbours):
        incident_id = incidents.group_written_report(session, written.id, values["unit_id"], lat, lon, received)
    return written.id, written.ticket_no, incident_id


def _write(
    session: Session,
    ticket: Ticket,
    values: dict[str, Any],
    due: list[tuple[str, dt.datetime | None]],
    grouping: incidents.Grouping,
    actor: User | None,
    account_no: str | None,
    follow_token: str | None,
) -> tuple[int, str]:
    """Write the received ticket (not yet in the session) with its steps, its timeline event, its outbox message,
    its trail event and the incident it joins, one statement each (SQLite; PostgreSQL: ``_write_postgresql``); its
    (id, number)."""
    lat, lon, received = values["lat"], values["lon"], values["received_at"]
    notify = [ticket.reporter_id] if ticket.reporter_id else []
    incidents.join(session, grouping, lat, lon, received)
    ticket.id, ticket.ticket_no = intake.insert_ticket(session, values)
    intake.insert_steps(session, ticket.id, due)
    _announce(
        session,
        ticket,
        S.RECEIVED,
        actor,
        None,
        notify=notify,
        at=received,
        account_no=account_no,
        follow_token=follow_token,
    )
    return ticket.id, ticket.ticket_no


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def followed_ticket(session: Session, token: str) -> Ticket | None:
    """The ticket a passer-by's follow-up link names, or None (a malformed or unknown token alike)."""
    if not FOLLOW_TOKEN_PATTERN.fullmatch(token or ""):
        return None
    return session.scalar(select(Ticket).where(Ticket.follow_token_hash == _token_hash(token)))


def _ticket_by_no(session: Session, ticket_no: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
    if ticket is None:
        raise NotFound("ticket_not_found")
    return ticket


def move_ticket(session: Session, actor: User, ticket: Ticket, command: MoveTicket) -> Ticket:
    """Do the step ``command.to`` (a later step may be done with the ones before it: a crew restoring power on
    arrival); 409 ``ticket_step_not_allowed`` for a step that is not ahead of the ticket."""
    allowed = flows.next_steps(ticket.kind, ticket.status)
    if command.to not in allowed:
        raise Conflict("ticket_step_not_allowed", status=ticket.status, to=command.to)
    if command.to == S.MERGED:
        return merge_ticket(session, actor, ticket, command.into or "", command.note)
    now = utcnow()
    for step in ticket.steps:
        if step.done_at is None and step.position <= flows.FLOWS[ticket.kind].index(command.to):
            step.done_at = now
    ticket.status = command.to
    if command.crew:
        ticket.crew = command.crew
    if command.cause:
        ticket.cause = command.cause
    if command.to == S.REPLIED:
        ticket.reply = command.note
    if ticket.handler_id is None and ticket.kind != TicketKind.FAULT_REPAIR:
        ticket.handler_id = actor.id
    ticket.due_at = _next_due(ticket)
    if command.to == S.CLOSED:
        ticket.closed_at = now
    _event(session, ticket, command.to, actor, command.note or command.cause or command.crew)
    if command.to == S.CLOSED:
        _close(session, ticket, now)
    return ticket


def _close(session: Session, ticket: Ticket, now: dt.datetime) -> None:
    """Closed: the clock stops; a complaint, report or meter dispute of an account goes to its complaint file."""
    ticket.closed_at = now
    ticket.due_at = None
    if ticket.kind in flows.FILED_KINDS and ticket.account_id is not None:
        session.flush()
        outbox.put(session, TICKET_CLOSED, complaint_record(session, ticket))


def merge_ticket(session: Session, actor: User, ticket: Ticket, into_no: str, note: str | None = None) -> Ticket:
    """Close ``ticket`` as a duplicate of the ticket ``into_no`` (same unit scope, not itself, not merged)."""
    target = session.scalar(select(Ticket).where(Ticket.ticket_no == into_no))
    if target is None or target.unit_id is None or not _same_scope(session, actor, target):
        raise InvalidInput.fields({"into": Problem("unknown_ticket")})
    if target.id == ticket.id or target.status == S.MERGED:
        raise InvalidInput.fields({"into": Problem("not_mergeable")})
    ticket.status = S.MERGED
    ticket.merged_into_id = target.id
    ticket.closed_at = utcnow()
    ticket.due_at = None
    _event(session, ticket, S.MERGED, actor, note or target.ticket_no)
    _event(session, target, "note", actor, ticket.ticket_no, notify=[])
    return ticket


def _same_scope(session: Session, actor: User, ticket: Ticket) -> bool:
    from .queries import visible_tickets

    return session.scalar(visible_tickets(actor).where(Ticket.id == ticket.id)) is not None


def rate_ticket(session: Session, actor: User, ticket: Ticket, command: RateTicket) -> Ticket:
    """The reporter's rating of a closed ticket, once (403 ``not_reporter``; 409 ``ticket_not_closed``,
    ``already_rated``)."""
    if ticket.reporter_id != actor.id:
        raise Forbidden("not_reporter")
    if ticket.status != S.CLOSED:
        raise Conflict("ticket_not_closed")
    if ticket.rated_at is not None:
        raise Conflict("already_rated")
    ticket.rating_score = command.score
    ticket.rating_comment = command.comment
    ticket.rated_at = utcnow()
    _event(session, ticket, "rated", actor, f"{command.score}/5 {command.comment or ''}".strip())
    return ticket


def reopen_ticket(session: Session, actor: User, ticket: Ticket, command: ReopenTicket) -> Ticket:
    """The reporter, unhappy, reopens a closed ticket within ``SERVICEDESK_REOPEN_DAYS``: back to ``received``
    with a fresh clock (409 ``ticket_not_closed``, ``reopen_window_over``)."""
    if ticket.reporter_id != actor.id:
        raise Forbidden("not_reporter")
    if ticket.status != S.CLOSED or ticket.closed_at is None:
        raise Conflict("ticket_not_closed")
    now = utcnow()
    if now - ticket.closed_at > dt.timedelta(days=int(settings.get("SERVICEDESK_REOPEN_DAYS"))):
        raise Conflict("reopen_window_over", days=int(settings.get("SERVICEDESK_REOPEN_DAYS")))
    ticket.status = S.RECEIVED
    ticket.closed_at = None
    ticket.rating_score = ticket.rating_comment = ticket.rated_at = None  # type: ignore[assignment]
    ticket.escalated_at = None
    ticket.reopened += 1
    _set_clock(ticket, now)
    _event(session, ticket, "reopened", actor, command.reason)
    return ticket


def reopen_window_open(ticket: Ticket, now: dt.datetime | None = None) -> bool:
    """Whether the reporter may still reopen this closed ticket."""
    if ticket.status != S.CLOSED or ticket.closed_at is None:
        return False
    days = int(settings.get("SERVICEDESK_REOPEN_DAYS"))
    return (now or utcnow()) - ticket.closed_at <= dt.timedelta(days=days)


def _supervisors(session: Session, unit_id: int) -> list[int]:
    """Supervisors of the unit and of the units above it."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return []
    supervisors = session.scalars(select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True))).all()
    return sorted(u.id for u in supervisors if u.unit is not None and unit_covers(u.unit, unit))


def escalate_overdue(session: Session, now: dt.datetime | None = None) -> int:
    """Mark every open ticket past its due time escalated (once per clock) and tell the unit's supervisors."""
    now = now or utcnow()
    overdue = session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now, Ticket.escalated_at.is_(None))
        .order_by(Ticket.id)
        .limit(1000)
    ).all()
    for ticket in overdue:
        ticket.escalated_at = now
        _event(session, ticket, "escalated", None, None, notify=_supervisors(session, ticket.unit_id))
    return len(overdue)


def close_tickets(session: Session, actor: User | None, tickets: Iterable[Ticket], cause: str | None) -> int:
    """Restore and close the given open fault tickets (an incident's restoration); returns how many."""
    now = utcnow()
    count = 0
    for ticket in tickets:
        if ticket.status not in OPEN_STATUSES:
            continue
        for step in ticket.steps:
            step.done_at = step.done_at or now
        ticket.status = S.CLOSED
        ticket.cause = ticket.cause or cause
        ticket.closed_at = now
        _event(session, ticket, S.CLOSED, actor, cause)
        _close(session, ticket, now)
        count += 1
    return count


def restore_incident(session: Session, actor: User, incident: Incident, cause: str) -> int:
    """Power is back: close every open ticket of the incident (their reporters are told); how many were closed."""
    if incident.status == IncidentStatus.RESTORED:
        raise Conflict("incident_restored")
    incident.status = IncidentStatus.RESTORED
    incident.restored_at = utcnow()
    closed = close_tickets(session, actor, incidents.incident_tickets(session, incident), cause)
    trail.record(
        session,
        actor_id=actor.id,
        action="incident.restored",
        entity="incident",
        entity_id=str(incident.id),
        after={"closed": closed, "cause": cause},
    )
    return closed


def ticket_photo(session: Session, ticket: Ticket, photo_id: int) -> TicketPhoto:
    photo = session.get(TicketPhoto, photo_id)
    if photo is None or photo.ticket_id != ticket.id:
        raise NotFound("photo_not_found")
    return photo


def find_ticket(session: Session, ticket_no: str) -> Ticket:
    """The ticket by number, unscoped (workers and the CLI; the web layer uses ``queries.visible_ticket``)."""
    return _ticket_by_no(session, ticket_no)


def describe(ticket: Ticket) -> dict[str, Any]:
    """The summary every door shows: number, kind, status, due time."""
    return {"ticket_no": ticket.ticket_no, "kind": ticket.kind, "status": ticket.status, "due_at": ticket.due_at}
