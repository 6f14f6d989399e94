"""The append-only audit trail: every change to records appends an event chained by SHA-256 hashes.

``record`` is what domains call (``record_many`` for bulk writers such as bill and audit runs). Each event's hash
covers its content and the previous event's hash in its chain, so an edited, removed or reordered event breaks
the chain from that point on (``verify`` finds it). On PostgreSQL a trigger makes the table append-only: UPDATE,
DELETE and TRUNCATE are refused by the database itself.

The trail is several chains, not one: an event goes into the chain of its account (``chain_of``: a hash of the
account number; events of no account into chain 0), and every chain has its own lock. Appending holds the
chain's lock until the commit (the next event must see this one as the chain's end), so with one chain every
write in the product queued behind every other's commit and its disk flush; now writes to different accounts
append side by side and commit together. Events of one account stay in one chain, in order. A transaction that
appends events in several chains takes their locks first, in chain order (``lock_chains``; ``record_many`` does
it itself), and after any account row locks it needs: lockers never wait on each other in a circle.

``account_no`` is derived from the content (the entity id of an account, or the ``account_no`` in the after
or before snapshot); it lets the trail be scoped by unit like accounts, and ``verify`` checks that it still
matches the content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, JsonText, UtcDateTime, copy_rows, is_postgresql, utcnow

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 7_110_422  # PostgreSQL advisory lock (key, chain) that serialises appends to one chain
TRAIL_CHAINS = 64  # chains of account events (1..64); chain 0 holds the events of no account


def chain_of(account_no: str | None) -> int:
    """The chain an event of this account goes into (stable: stored with the event, never recomputed)."""
    return zlib.crc32(account_no.encode()) % TRAIL_CHAINS + 1 if account_no else 0


class TrailEvent(Base):
    __tablename__ = "trail_events"
    __table_args__ = (
        Index("ix_trail_events_entity", "entity", "entity_id"),
        Index("ix_trail_events_chain", "chain", "id"),
        # one successor per event in a chain: the database itself refuses a fork, whatever a writer's locks did
        UniqueConstraint("chain", "prev_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    account_no: Mapped[str | None] = mapped_column(String(20), index=True)
    chain: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))


# The database refuses to change or remove trail events (PostgreSQL; the migration runs the same DDL).
# Statement-level TRUNCATE is refused too. Maintenance that must empty the table (test resets) runs with
# ``session_replication_role = replica``, which skips ordinary triggers and needs superuser rights.
IMMUTABILITY_DDL = (
    """
    CREATE OR REPLACE FUNCTION trail_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'trail_events is append-only: ' || TG_OP || ' refused',
            ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS trail_events_no_update_delete ON trail_events",
    """
    CREATE TRIGGER trail_events_no_update_delete BEFORE UPDATE OR DELETE ON trail_events
    FOR EACH ROW EXECUTE FUNCTION trail_events_refuse_change()
    """,
    "DROP TRIGGER IF EXISTS trail_events_no_truncate ON trail_events",
    """
    CREATE TRIGGER trail_events_no_truncate BEFORE TRUNCATE ON trail_events
    FOR EACH STATEMENT EXECUTE FUNCTION trail_events_refuse_change()
    """,
)
IMMUTABILITY_DROP_DDL = (
    "DROP TRIGGER IF EXISTS trail_events_no_truncate ON trail_events",
    "DROP TRIGGER IF EXISTS trail_events_no_update_delete ON trail_events",
    "DROP FUNCTION IF EXISTS trail_events_refuse_change()",
)

# One round trip for ``record`` on PostgreSQL: take the chain lock, read the chain's end and insert the event
# in one call. A VOLATILE function gives each statement in it a fresh snapshot, so the end is read after the
# lock is granted (a single SELECT/INSERT statement would read it as of its start, before waiting). The caller
# computes the canonical JSON after the previous hash (``rest``); the function hashes '["<prev>",' || rest.
APPEND_DDL = (
    f"""
    CREATE OR REPLACE FUNCTION trail_append(
        p_at timestamptz, p_actor_id integer, p_action text, p_entity text, p_entity_id text,
        p_before json, p_after json, p_account_no text, p_chain smallint, p_rest text
    ) RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        prev text;
        digest text;
        new_id bigint;
    BEGIN
        PERFORM pg_advisory_xact_lock({_CHAIN_LOCK_KEY}, p_chain);
        SELECT t.hash INTO prev FROM trail_events t WHERE t.chain = p_chain ORDER BY t.id DESC LIMIT 1;
        prev := coalesce(prev, '{GENESIS_HASH}');
        digest := encode(sha256(convert_to('["' || prev || '",' || p_rest, 'UTF8')), 'hex');
        INSERT INTO trail_events
            (at, actor_id, action, entity, entity_id, before, after, prev_hash, hash, account_no, chain)
        VALUES (p_at, p_actor_id, p_action, p_entity, p_entity_id, p_before, p_after, prev, digest, p_account_no,
                p_chain)
        RETURNING id INTO new_id;
        RETURN QUERY SELECT new_id, prev, digest;
    END
    $$
    """,
)
APPEND_DROP_DDL = (
    "DROP FUNCTION IF EXISTS trail_append(timestamptz, integer, text, text, text, json, json, text, smallint, text)",
)

for _statement in (*IMMUTABILITY_DDL, *APPEND_DDL):
    event.listen(TrailEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


# entities whose id is the account number itself (one dossier per account is keyed by it)
ACCOUNT_KEYED_ENTITIES = frozenset({"account", "dossier"})


def derived_account_no(entity: str, entity_id: str, before: Any, after: Any) -> str | None:
    """The account an event concerns, read from its content (never trusted from a separate input)."""
    if entity in ACCOUNT_KEYED_ENTITIES:
        return entity_id[:20]
    for snapshot in (after, before):
        if isinstance(snapshot, dict) and snapshot.get("account_no"):
            return str(snapshot["account_no"])[:20]
    return None


_PLAIN = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # exact types first: this runs for every value of every event
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _as_is(value: Any) -> Any:
    return value


def _event_hash(
    prev_hash: str,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> str:
    canonical = json.dumps(
        [prev_hash, at.astimezone(dt.UTC).isoformat(), actor_id, action, entity, entity_id, before, after],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TrailEvent:
    """Append one event in the caller's transaction; it commits or rolls back with the change it records.

    Returns the appended event (a snapshot, not attached to the session). The caller's pending changes are
    flushed and the event serialised before the chain lock is taken; on PostgreSQL the lock, the read of the
    chain's end and the INSERT are one call (``trail_append``), so the lock is held from that call to the commit.
    """
    eid = str(entity_id)
    before_j, after_j = _jsonable(before), _jsonable(after)
    before_json, after_json = canonical_json(before_j), canonical_json(after_j)
    account_no = derived_account_no(entity, eid, before_j, after_j)
    values: dict[str, Any] = {
        "actor_id": actor_id,
        "action": action,
        "entity": entity,
        "entity_id": eid,
        "before": before_j,
        "after": after_j,
        "account_no": account_no,
        "chain": chain_of(account_no),
    }
    session.flush()
    at = values["at"] = utcnow()
    head = canonical_json([at.astimezone(dt.UTC).isoformat(), actor_id, action, entity, eid])
    if is_postgresql(session):
        row = session.execute(
            _APPEND,
            {**values, "before": before_json, "after": after_json, "rest": f"{head[1:-1]},{before_json},{after_json}]"},
        ).one()
        return TrailEvent(id=row.event_id, prev_hash=row.event_prev_hash, hash=row.event_hash, **values)
    prev = session.scalar(_CHAIN_END, {"chain": values["chain"]}) or GENESIS_HASH
    digest = _event_hash_from_json(prev, head, before_json, after_json)
    event_id = session.execute(_INSERT_EVENT, {**values, "prev_hash": prev, "hash": digest}).scalar_one()
    return TrailEvent(id=event_id, prev_hash=prev, hash=digest, **values)


# SQLite's append, built once (every change of every domain records an event): the chain's end, the event
_EVENTS: Table = TrailEvent.__table__  # type: ignore[assignment]
_CHAIN_END = select(_EVENTS.c.hash).where(_EVENTS.c.chain == bindparam("chain")).order_by(_EVENTS.c.id.desc()).limit(1)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)

_APPEND = text(
    "SELECT event_id, event_prev_hash, event_hash FROM trail_append(CAST(:at AS timestamptz),"
    " CAST(:actor_id AS integer), CAST(:action AS text), CAST(:entity AS text), CAST(:entity_id AS text),"
    " CAST(:before AS json), CAST(:after AS json), CAST(:account_no AS text), CAST(:chain AS smallint),"
    " CAST(:rest AS text))"
).bindparams(bindparam("at", type_=UtcDateTime()))

# the chains' locks in one statement, taken in the (sorted) array's order: unnest yields its elements in order
_LOCK_CHAINS = text(
    "SELECT count(pg_advisory_xact_lock(:key, c.chain)) FROM unnest(CAST(:chains AS integer[])) AS c(chain)"
)

# the newest event of each chain asked for: one index probe per chain (ix_trail_events_chain)
_CHAIN_ENDS_POSTGRESQL = text(
    "SELECT c.chain, (SELECT t.hash FROM trail_events t WHERE t.chain = c.chain ORDER BY t.id DESC LIMIT 1)"
    " FROM unnest(CAST(:chains AS smallint[])) AS c(chain)"
)


def lock_chains(session: Session, account_nos: Iterable[str | None]) -> list[int]:
    """Take the chain locks of these accounts' events now, in chain order (PostgreSQL; held to the commit).

    For transactions that append events in several chains: taking them all first, in one order, keeps two
    such writers from each holding a chain the other waits for. Returns the chains, sorted.
    """
    chains = sorted({chain_of(no) for no in account_nos})
    if chains and is_postgresql(session):
        session.execute(_LOCK_CHAINS, {"key": _CHAIN_LOCK_KEY, "chains": chains})
    return chains


def _chain_ends(session: Session, chains: Iterable[int]) -> dict[int, str]:
    """The hash of each chain's newest event (the genesis hash for a chain with none yet)."""
    wanted = sorted(set(chains))
    ends = dict.fromkeys(wanted, GENESIS_HASH)
    if is_postgresql(session):
        for chain, end in session.execute(_CHAIN_ENDS_POSTGRESQL, {"chains": wanted}):
            ends[chain] = end or GENESIS_HASH
        return ends
    for chain in wanted:
        end = session.scalar(
            select(TrailEvent.hash).where(TrailEvent.chain == chain).order_by(TrailEvent.id.desc()).limit(1)
        )
        ends[chain] = end or GENESIS_HASH
    return ends


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# The C encoder behind _CANONICAL.encode, made once: encode() builds a new one on every call, which cost more
# than encoding a small event. No circular-reference markers (they would be state shared between threads).
_C_CANONICAL = (
    c_make_encoder(None, _CANONICAL.default, encode_basestring, None, ":", ",", True, False, True)
    if c_make_encoder is not None
    else None
)


def canonical_json(value: Any) -> str:
    """The chain's canonical serialisation (the same text ``json.dumps`` gives with these options)."""
    if value is None:
        return "null"
    if _C_CANONICAL is not None:
        return "".join(_C_CANONICAL(value, 0))
    return _CANONICAL.encode(value)


def _event_hash_from_json(prev_hash: str, head: str, before_json: str, after_json: str) -> str:
    """``_event_hash`` from parts already serialised (``head``: the canonical JSON list [at, actor_id, action,
    entity, entity_id]); the same digest, with each snapshot serialised only once."""
    canonical = f'["{prev_hash}",{head[1:-1]},{before_json},{after_json}]'
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class DatabaseEvent:
    """An event that a database function completes and appends (with ``trail_append``), prepared by
    ``prepare_for_database``: everything known before the call, serialised as ``record`` serialises it, cut where
    the function puts what only it knows (the entity id, and the values of the ``filled`` keys of ``after``).

    ``event_parts`` is the hash input after the previous hash (``trail_append``'s ``p_rest``) and ``after_parts``
    the ``after`` snapshot's JSON. The function joins the parts with the canonical JSON of its values in the
    order they appear: the entity id (in ``event_parts`` only) first, then each key of ``filled`` in its
    (sorted) order: ``event_parts[0] || id || event_parts[1] || v1 || event_parts[2] || ...``, and
    ``after_parts[0] || v1 || after_parts[1] || ...``.
    """

    at: dt.datetime
    account_no: str | None
    chain: int
    filled: tuple[str, ...]
    event_parts: tuple[str, ...]
    after_parts: tuple[str, ...]


def prepare_for_database(
    *, actor_id: int | None, action: str, entity: str, after: Mapping[str, Any], filled: Iterable[str]
) -> DatabaseEvent:
    """Serialise an event (with no ``before`` snapshot) whose entity id and ``filled`` values a database function
    adds; the function must write those values as their canonical JSON (sorted keys, no spaces, strings as
    ``to_json`` gives them). The event's account is read from ``after`` (its entity cannot be account-keyed: the
    id is not known yet)."""
    if entity in ACCOUNT_KEYED_ENTITIES:
        raise ValueError(f"the database cannot fill in the id of a {entity!r} event: its account comes from the id")
    keys = tuple(sorted(filled))
    known = _jsonable(dict(after))
    after_parts: list[str] = []
    text = "{"
    for n, key in enumerate(sorted({*known, *keys})):
        text += ("," if n else "") + encode_basestring(key) + ":"
        if key in keys:
            after_parts.append(text)
            text = ""
        else:
            text += canonical_json(known[key])
    after_parts.append(text + "}")
    at = utcnow()
    head = canonical_json([at.astimezone(dt.UTC).isoformat(), actor_id, action, entity])
    event_parts = [f"{head[1:-1]},", ",null," + after_parts[0], *after_parts[1:]]
    event_parts[-1] += "]"
    account_no = derived_account_no(entity, "", None, known)
    return DatabaseEvent(at, account_no, chain_of(account_no), keys, tuple(event_parts), tuple(after_parts))


_TRAIL_COLUMNS = (
    "at",
    "actor_id",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "prev_hash",
    "hash",
    "account_no",
    "chain",
)


@dataclass(frozen=True)
class PreparedEvents:
    """Events serialised for the chain but not yet linked into it (``prepare_many``; ``append_prepared``)."""

    at: dt.datetime
    rows: list[tuple[Any, ...]]


def prepare_many(events: Iterable[Mapping[str, Any]], *, plain: bool = False) -> PreparedEvents:
    """Serialise events (same keys as ``record``) without touching the database or any chain lock.

    The costly part of a bulk append (the canonical JSON of every event); a writer can do it before it takes its
    locks, so that they are held only for the linking and the COPY. ``plain``: the snapshots hold JSON's own types
    only (str keys; str, int, bool, None, list and dict values), so the conversion of Decimals, dates and tuples is
    skipped (``verify`` would catch content that was not plain after all: it hashes what was stored).
    """
    convert = _as_is if plain else _jsonable
    at = utcnow()
    at_iso = at.astimezone(dt.UTC).isoformat()
    rows: list[tuple[Any, ...]] = []
    heads: dict[tuple[Any, str, str], str] = {}  # the head's JSON up to the entity id, per (actor, action, entity)
    for item in events:
        entity, entity_id = str(item["entity"]), str(item["entity_id"])
        before_j, after_j = convert(item.get("before")), convert(item.get("after"))
        actor_id, action = item.get("actor_id"), str(item["action"])
        key = (actor_id, action, entity)
        if key not in heads:
            heads[key] = canonical_json([at_iso, actor_id, action, entity])[:-1]
        head = f"{heads[key]},{encode_basestring(entity_id)}]"  # = canonical_json([at_iso, ..., entity_id])
        account_no = derived_account_no(entity, entity_id, before_j, after_j)
        rows.append(
            (
                actor_id,
                action,
                entity,
                entity_id,
                JsonText(canonical_json(before_j)),
                JsonText(canonical_json(after_j)),
                head,
                account_no,
                chain_of(account_no),
            )
        )
    return PreparedEvents(at, rows)


def append_prepared(session: Session, prepared: PreparedEvents, chunk: int = 2000) -> int:
    """Link prepared events into their chains (taking the chains' locks, in order) and COPY them in."""
    if not prepared.rows:
        return 0
    session.flush()
    chains = lock_chains(session, {item[7] for item in prepared.rows})
    ends = _chain_ends(session, chains)
    rows: list[tuple[Any, ...]] = []
    at = prepared.at
    for actor_id, action, entity, entity_id, before_json, after_json, head, account_no, chain in prepared.rows:
        prev = ends[chain]
        digest = ends[chain] = _event_hash_from_json(prev, head, before_json, after_json)
        rows.append((at, actor_id, action, entity, entity_id, before_json, after_json, prev, digest, account_no, chain))
    for start in range(0, len(rows), chunk):
        copy_rows(session, TrailEvent, _TRAIL_COLUMNS, rows[start : start + chunk])
    return len(rows)


def record_many(session: Session, events: Iterable[Mapping[str, Any]], chunk: int = 2000) -> int:
    """Append many events in one go (same keys as ``record``); the chains are computed in memory.

    For bulk writers (bill runs, audit runs touching thousands of findings): the events are serialised before any
    chain lock is taken, then the locks of their chains (in order), one read of the chains' ends and a COPY
    (PostgreSQL; batched inserts elsewhere) instead of a round trip per event. Returns how many were appended.
    """
    return append_prepared(session, prepare_many(events), chunk)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


OUT_OF_SCOPE_PROBLEM = "an event outside the caller's scope does not check out"


def verify(
    session: Session,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
    in_scope: Callable[[str | None], bool] | None = None,
) -> VerifyResult:
    """Walk the trail in id order, each event against the end of its own chain; report the first event whose
    link or content does not check out.

    The chains run through every unit's events, so the walk always covers the whole trail; ``in_scope`` (an
    event's account number -> whether the caller may see it) limits what the answer tells: only events in scope
    are counted and named, a bad event outside it is reported without its id.

    Reads plain rows (no ORM objects), so it leaves the caller's session untouched; ``progress`` is called
    with the number of events checked after every batch.
    """
    columns = (
        TrailEvent.id,
        TrailEvent.at,
        TrailEvent.actor_id,
        TrailEvent.action,
        TrailEvent.entity,
        TrailEvent.entity_id,
        TrailEvent.before,
        TrailEvent.after,
        TrailEvent.prev_hash,
        TrailEvent.hash,
        TrailEvent.account_no,
        TrailEvent.chain,
    )
    ends: dict[int, str] = {}
    checked = 0
    last_id = 0

    def failed(ev: Any, problem: str) -> VerifyResult:
        if in_scope is not None and not in_scope(ev.account_no):
            return VerifyResult(False, checked, None, OUT_OF_SCOPE_PROBLEM)
        return VerifyResult(False, checked, ev.id, problem)

    while True:
        rows = session.execute(select(*columns).where(TrailEvent.id > last_id).order_by(TrailEvent.id).limit(batch))
        seen = 0
        for ev in rows:
            seen += 1
            if ev.prev_hash != ends.get(ev.chain, GENESIS_HASH):
                return failed(ev, "chain broken: an event was removed or reordered")
            expected = _event_hash(
                ev.prev_hash, ev.at, ev.actor_id, ev.action, ev.entity, ev.entity_id, ev.before, ev.after
            )
            if expected != ev.hash:
                return failed(ev, "event content does not match its hash")
            if ev.account_no != derived_account_no(ev.entity, ev.entity_id, ev.before, ev.after):
                return failed(ev, "event account number does not match its content")
            ends[ev.chain] = ev.hash
            if in_scope is None or in_scope(ev.account_no):
                checked += 1
            last_id = ev.id
        if not seen:
            return VerifyResult(ok=True, events_checked=checked)
        if progress is not None:
            progress(checked)
