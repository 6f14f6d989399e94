"""Writing a received report: its ticket with its number, its steps, its timeline event, its outbox message, its
trail event and the incident it joins.

Intake is the hot path of a storm. On SQLite each is one statement (``insert_ticket``, ``insert_steps``, then the
service's timeline event, ``outbox.put`` and ``trail.record``). On PostgreSQL all of them are one statement
(``write_postgresql``): a chain of data-modifying CTEs that finds the nearest active incident, takes the id from
the sequence, inserts the ticket (with that incident), its steps (one ``unnest`` of the due times), its timeline
event and its outbox message (the payload completed with the ids only the database knows), moves the incident
(``incidents.nearest_statements``; a report near none gets the count of the ungrouped reports near it), and
appends the trail event with ``trail_append`` (the chain's lock, end and hash, as ``trail.record`` does;
``trail.prepare_for_database`` serialises the event with the ticket number left for the database to fill in).
One round trip instead of eight. The statement must stay within what psycopg keeps parsed (4,096 characters, 50
parameters; ``tests/servicedesk/test_intake.py``): constants are written into it and string parameters go uncast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    DateTime,
    SmallInteger,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from core import clock, outbox, trail
from core.identity import Role, User
from core.outbox import OutboxMessage

from . import incidents
from .models import Ticket, TicketEvent, TicketStep

_TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
_STEPS: Table = TicketStep.__table__  # type: ignore[assignment]
_EVENTS: Table = TicketEvent.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]

# the columns a received ticket has values for (the others, its handling, rating, merging, start empty)
TICKET_COLUMNS = (
    "kind",
    "status",
    "unit_id",
    "account_id",
    "reporter_id",
    "contact_phone",
    "contact_email",
    "follow_token_hash",
    "description",
    "lat",
    "lon",
    "area_class",
    "received_at",
    "due_at",
    "reopened",
    "repeated",
    "incident_id",
)
# the others, empty when it is received (the ticket object is made with them: none is read back)
EMPTY_COLUMNS = tuple(c.key for c in _TICKETS.columns if c.key not in ("id", "ticket_no", *TICKET_COLUMNS))
# keys of the outbox message only the database knows on PostgreSQL (it fills them in)
MESSAGE_IDS = ("ticket_id", "ticket_no", "event_id")

# built once per dialect: a storm's intake must not rebuild them per report
_STATEMENTS: dict[str, Any] = {}
_TICKET = "t_"  # the prefix of the ticket's values in PostgreSQL's statement


def _numbered_ticket(
    dialect: str, prefix: str = "", computed: Mapping[str, Any] | None = None, *, only_if: Sequence[Any] = ()
) -> Any:
    """INSERT ... SELECT of the ticket's row with its number (the day received, :day, + the id zero-padded),
    returning (id, ticket_no, incident_id). The id comes from the table's sequence (PostgreSQL) or is the next
    rowid (SQLite, where the INSERT holds the only write lock from its first step, as any INSERT of a rowid does).
    ``computed``: SQL for some columns instead of their parameters; ``only_if``: conditions (PostgreSQL) without
    which no row is written. Constants are written into the statement: on PostgreSQL the whole report must stay
    within what psycopg keeps parsed (``_report_postgresql``)."""
    if dialect == "postgresql":
        sequence = func.pg_get_serial_sequence(literal_column("'tickets'"), literal_column("'id'"))
        new = select(func.nextval(sequence).label("id")).where(*only_if).subquery("new")
        digits = cast(new.c.id, Text)
        padded = func.lpad(digits, func.greatest(literal_column("8"), func.length(digits)), literal_column("'0'"))
        number = _text("day").op("||")(padded)
    else:
        new = select((func.coalesce(func.max(_TICKETS.c.id), 0) + 1).label("id")).subquery("new")
        number = bindparam("day", type_=Text) + func.printf("%08d", new.c.id)
    computed = computed or {}
    values = (computed.get(c, _bind(prefix + c, _TICKETS.c[c].type, dialect)) for c in TICKET_COLUMNS)
    return (
        insert(_TICKETS)
        .from_select(["id", "ticket_no", *TICKET_COLUMNS], select(new.c.id, number, *values))
        .returning(_TICKETS.c.id, _TICKETS.c.ticket_no, _TICKETS.c.incident_id)
    )


def _text(name: str) -> Any:
    """A string parameter left untyped: psycopg sends a str as of unknown type, which PostgreSQL takes as text or
    as the column's type, and the statement spares the cast (see ``_numbered_ticket``)."""
    return bindparam(name)


# columns never None whose values psycopg sends typed (PostgreSQL's statement spares their casts)
_SENT_TYPED = ("unit_id", "received_at", "reopened")


def _bind(name: str, type_: Any, dialect: str = "") -> Any:
    if isinstance(type_, String):
        return _text(name)
    if dialect == "postgresql" and name.removeprefix(_TICKET) in _SENT_TYPED:
        return bindparam(name, type_=incidents.AsSent())
    return bindparam(name, type_=type_)


def _cached(key: str, build: Callable[[], Any]) -> Any:
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _day(values: Mapping[str, Any]) -> str:
    return f"{clock.local(values['received_at']):%Y%m%d}"


def insert_ticket(session: Session, values: Mapping[str, Any]) -> tuple[int, str]:
    """Write the ticket's row with its number (day received + id) in one INSERT; its (id, ticket_no)."""
    dialect = session.get_bind().dialect.name
    statement = _cached(f"ticket:{dialect}", lambda: _numbered_ticket(dialect))
    row = session.connection().execute(statement, {**values, "day": _day(values)}).one()
    return int(row.id), str(row.ticket_no)


def insert_steps(session: Session, ticket_id: int, due: Sequence[tuple[str, dt.datetime | None]]) -> None:
    """The ticket's steps with their due times (one executemany)."""
    rows = [
        {"ticket_id": ticket_id, "step": step, "position": n, "due_at": when, "done_at": None}
        for n, (step, when) in enumerate(due)
    ]
    session.connection().execute(insert(_STEPS), rows)


_USERS: Table = User.__table__  # type: ignore[assignment]


def _signed_in_reporter() -> list[Any]:
    """The report's reporter (``actor_id``) is an active customer still signed in at ``token_version`` (a bearer
    token's claims, checked as ``webapp.auth`` checks them): else the statement writes nothing."""
    u = _USERS.alias("u")
    return [
        u.c.id == bindparam("actor_id", type_=_EVENTS.c.actor_id.type),
        u.c.active,
        u.c.token_version == bindparam("token_version", type_=incidents.AsSent()),
        u.c.role == literal_column(f"'{Role.CUSTOMER.value}'"),
    ]


def _report_postgresql(signed_in: bool = False) -> Any:
    """The whole report as one statement (PostgreSQL): see the module's docstring. Returns (id, ticket_no,
    incident_id, neighbours). ``signed_in``: written only for a reporter signed in by a bearer token
    (``_signed_in_reporter``), else no row is written and none returned."""
    # the ticket's values are bound as ticket_<column>: an UPDATE (the incident's JOIN) sets every column of its
    # table the statement's parameters name, and incidents have a unit_id and a status too
    nearest, joined, neighbours = incidents.nearest_statements()
    nearest_id = select(nearest.c.id).scalar_subquery()
    only_if = _signed_in_reporter() if signed_in else ()
    ticket = _numbered_ticket("postgresql", _TICKET, {"incident_id": nearest_id}, only_if=only_if).cte("ticket")
    plan = (
        func.unnest(bindparam("steps", type_=ARRAY(String)), bindparam("dues", type_=ARRAY(DateTime(timezone=True))))
        .table_valued("step", "due_at", with_ordinality="position")
        .render_derived()
    )
    steps = insert(_STEPS).from_select(
        ["ticket_id", "step", "position", "due_at"],
        select(ticket.c.id, plan.c.step, plan.c.position - literal_column("1"), plan.c.due_at)
        .select_from(ticket)
        .join(plan, true()),
    )
    event = (
        insert(_EVENTS)
        .from_select(
            ["ticket_id", "at", "action", "note", "actor_id"],
            select(
                ticket.c.id,
                bindparam(_TICKET + "received_at"),  # datetimes: psycopg sends their type, no cast
                _text("action"),
                _text("note"),
                bindparam("actor_id", type_=_EVENTS.c.actor_id.type),
            ),
        )
        .returning(_EVENTS.c.id)
        .cte("event")
    )
    ids = func.jsonb_build_object(
        *(literal_column(f"'{key}'") for key in MESSAGE_IDS[:1]),
        ticket.c.id,
        *(literal_column(f"'{key}'") for key in MESSAGE_IDS[1:2]),
        ticket.c.ticket_no,
        *(literal_column(f"'{key}'") for key in MESSAGE_IDS[2:]),
        event.c.id,
    )
    payload = cast(bindparam("payload", type_=JSONB).op("||")(ids), JSON)
    message = insert(_OUTBOX).from_select(
        ["topic", "payload", "created_at"],
        select(_text("topic"), payload, bindparam("now")).select_from(ticket).join(event, true()),
    )
    number_json = cast(func.to_json(ticket.c.ticket_no), Text)
    appended = func.trail_append(
        bindparam("trail_at"),
        bindparam("actor_id", type_=_EVENTS.c.actor_id.type),
        _text("trail_action"),
        literal_column("'ticket'"),
        ticket.c.ticket_no,
        literal_column("CAST('null' AS json)"),  # no before snapshot, stored as trail.record stores it
        cast(_text("trail_after"), JSON),
        _text("trail_account_no"),
        cast(bindparam("trail_chain"), SmallInteger),
        _text("trail_head").op("||")(number_json).op("||")(_text("trail_tail")),
    ).table_valued("event_id", "event_prev_hash", "event_hash")
    return (
        select(ticket.c.id, ticket.c.ticket_no, ticket.c.incident_id, neighbours.label("neighbours"))
        .select_from(ticket)
        .join(event, true())
        .join(appended, true())
        .add_cte(steps.cte("steps"), message.cte("message"), joined(select(ticket.c.incident_id)).cte("joined"))
    )


class Written(NamedTuple):
    """What PostgreSQL's intake statement tells of the report it wrote: its id and number, the incident it joined
    (None: none near) and, when none, how many ungrouped open fault reports lie near it."""

    id: int
    ticket_no: str
    incident_id: int | None
    neighbours: int


def _parameters(
    values: Mapping[str, Any],
    due: Sequence[tuple[str, dt.datetime | None]],
    *,
    grouping: Mapping[str, Any],
    actor_id: int | None,
    message: Mapping[str, Any],
    trail_after: Mapping[str, Any],
) -> dict[str, Any]:
    """The parameters of ``_report_postgresql`` (see ``write_postgresql``)."""
    action = str(values["status"])
    event = trail.prepare_for_database(
        actor_id=actor_id, action=f"ticket.{action}", entity="ticket", after=trail_after, filled=()
    )
    head, tail = event.event_parts
    return {
        **{_TICKET + k: values[k] for k in TICKET_COLUMNS},
        **grouping,
        "day": _day(values),
        "steps": [step for step, _ in due],
        "dues": [when for _, when in due],
        "action": action,
        "note": None,
        "actor_id": actor_id,
        "topic": message["topic"],
        "payload": {k: v for k, v in message["payload"].items() if k not in MESSAGE_IDS},
        "now": event.at,
        "trail_at": event.at,
        "trail_action": f"ticket.{action}",
        "trail_after": event.after_parts[0],
        "trail_account_no": event.account_no,
        "trail_chain": event.chain,
        "trail_head": head,
        "trail_tail": tail,
    }


def _written(row: Any) -> Written:
    return Written(int(row.id), str(row.ticket_no), row.incident_id, int(row.neighbours))


def write_postgresql(
    session: Session,
    values: Mapping[str, Any],
    due: Sequence[tuple[str, dt.datetime | None]],
    *,
    grouping: Mapping[str, Any],
    actor_id: int | None,
    message: Mapping[str, Any],
    trail_after: Mapping[str, Any],
) -> Written:
    """The report in one statement (PostgreSQL) in the session's transaction: the ticket (``values``; its
    ``incident_id`` is the nearest active incident's) and its number, its steps (``due``), its ``received``
    timeline event, its outbox message (``message`` less ``MESSAGE_IDS``, which the database fills in), the
    nearest incident found and moved and its neighbours counted (``incidents.nearest_statements``; ``grouping``:
    ``incidents.nearest_parameters``) and the trail event (``ticket.received``, with ``trail_after``)."""
    session.flush()  # what the session holds goes first, as before any trail event (``trail.record``)
    parameters = _parameters(
        values, due, grouping=grouping, actor_id=actor_id, message=message, trail_after=trail_after
    )
    row = session.connection().execute(_cached("report", _report_postgresql), parameters).one()
    outbox.queued_in_database(session)  # the statement put the message: a relay after the commit
    return _written(row)


def write_signed_in(
    engine: Engine,
    token_version: int,
    values: Mapping[str, Any],
    due: Sequence[tuple[str, dt.datetime | None]],
    *,
    grouping: Mapping[str, Any],
    message: Mapping[str, Any],
    trail_after: Mapping[str, Any],
) -> Written | None:
    """``write_postgresql`` for a reporter signed in by a bearer token (``values["reporter_id"]``, its claims'
    ``token_version``), as its own transaction: the statement runs on a connection of ``engine`` in autocommit,
    so PostgreSQL commits it when it ends (no BEGIN and no COMMIT round trip; all of it or nothing, as any one
    statement). It reads the reporter too and writes nothing, returning None, unless they are an active customer
    at that token version (``_signed_in_reporter``)."""
    parameters = _parameters(
        values, due, grouping=grouping, actor_id=values["reporter_id"], message=message, trail_after=trail_after
    )
    parameters["token_version"] = token_version
    sql, processors = _signed_in_sql(engine.dialect)
    sent = {name: (process(parameters[name]) if process else parameters[name]) for name, process in processors}
    row = _run_autocommitted(engine, sql, sent)
    if row is None:
        return None
    outbox.kick()  # the statement put the message and is committed: a relay
    return Written(int(row[0]), str(row[1]), row[2], int(row[3]))


_SIGNED_IN_SQL: dict[str, tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]] = {}


def _signed_in_sql(dialect: Any) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
    """``_report_postgresql(signed_in=True)`` compiled once: its SQL and each parameter with the conversion
    SQLAlchemy would apply to it (the JSON payload's serialisation; None for most). The hot path then skips
    SQLAlchemy's work per execution (the statement's cache key alone walks every CTE)."""
    known = _SIGNED_IN_SQL.get(dialect.name)
    if known is None:
        compiled = _report_postgresql(signed_in=True).compile(dialect=dialect)
        if compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
            raise TypeError("the intake statement takes named, non-expanding parameters")
        processors = [(name, bind.type._cached_bind_processor(dialect)) for name, bind in compiled.binds.items()]
        known = _SIGNED_IN_SQL[dialect.name] = (str(compiled), processors)
    return known


def _run_autocommitted(engine: Engine, sql: str, parameters: dict[str, Any]) -> tuple[Any, ...] | None:
    """The statement's first row, run in autocommit (its own transaction, no BEGIN) on the driver's cursor of a
    pooled connection: wrapped in a SQLAlchemy connection only when a ``before_cursor_execute`` listener is to
    see it (a test counting statements), as ``core.db.DriverStatement`` does."""
    if engine.dispatch.before_cursor_execute:
        with engine.connect() as connection:
            return _autocommitted(connection.connection, sql, parameters, connection)
    pooled = engine.raw_connection()
    try:
        return _autocommitted(pooled, sql, parameters, None)
    finally:
        pooled.close()


def _autocommitted(
    pooled: Any, sql: str, parameters: dict[str, Any], listened: Connection | None
) -> tuple[Any, ...] | None:
    driver = pooled.dbapi_connection
    cursor = pooled.cursor()
    driver.autocommit = True
    try:
        if listened is not None:
            listened.dispatch.before_cursor_execute(listened, cursor, sql, parameters, None, False)
        cursor.execute(sql, parameters)
        row: tuple[Any, ...] | None = cursor.fetchone()
    except BaseException as exc:
        pooled.invalidate(exc)  # whatever the failure, this connection does not go back to the pool
        raise
    finally:
        cursor.close()
        if not driver.closed:
            driver.autocommit = False
    return row
